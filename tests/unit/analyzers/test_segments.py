"""Segments without a server: request bodies, parsing, verdicts, report shapes, baseline files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from predwatch.analyzers import compare as c
from predwatch.analyzers import queries as q
from predwatch.analyzers import segment_compare as sc
from predwatch.analyzers import segments as seg
from predwatch.analyzers.aggregates import Window, WindowAggregates
from predwatch.analyzers.profile import build_baseline
from predwatch.analyzers.stats import VerdictPolicy
from predwatch.baseline import Baseline, load_baseline, save_baseline
from predwatch.errors import ConfigError

W = Window(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 1, 2, tzinfo=dt.UTC))


def _data(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    region = rng.choice(["a", "b", "c", "d"], size=n, p=[0.4, 0.3, 0.2, 0.1])
    x = rng.normal(0.0, 1.0, n) + np.where(region == "a", shift, 0.0)
    color = rng.choice(["red", "green", "blue"], size=n)
    return pd.DataFrame({"x": x, "color": color, "region": region})


@pytest.fixture(scope="module")
def baseline() -> Baseline:
    rng = np.random.default_rng(1)
    return build_baseline(
        _data(rng, 4000), model="m", version="1", segment_by=["region"], segments=2
    )


def _counts(df: pd.DataFrame, b: Baseline) -> WindowAggregates:
    """A window's aggregates, with region segments a, b and (other) (as the node folds them)."""
    from tests.helpers.calibration_sim import _categorical_window, _numeric_window

    def one(part: pd.DataFrame) -> WindowAggregates:
        x = b.feature("x")
        col = b.feature("color")
        assert x is not None and x.numeric is not None
        assert col is not None and col.categorical is not None
        codes = {k: i for i, k in enumerate(sorted(col.categorical.vocabulary))}
        cat = _categorical_window(
            part["color"].map(codes).to_numpy(dtype=float),
            _relabel(col.categorical, codes),
        )
        feats = {"x": _numeric_window(part["x"].to_numpy(dtype=float), x.numeric), "color": cat}
        return WindowAggregates(W, float(len(part)), feats)

    segs = {
        ("region", v): one(
            df[df.region == v] if v != seg.OTHER_SEGMENT else df[~df.region.isin(["a", "b"])]
        )
        for v in ("a", "b", seg.OTHER_SEGMENT)
    }
    whole = one(df)
    return WindowAggregates(W, whole.total, whole.features, segments=segs)


def _relabel(p: Any, codes: dict[str, int]) -> Any:
    """The categorical profile keyed as calibration_sim keys values (v<code>)."""
    from predwatch.baseline import CategoricalProfile

    freq = {f"v{codes[k]}": v for k, v in p.frequencies.items()}
    return CategoricalProfile(freq, p.other, frozenset(f"v{codes[k]}" for k in p.vocabulary), p.n)


SPEC = seg.SegmentSpec("region", "inputs.region", ("a", "b"))


class TestRequests:
    def test_segments_nest_in_the_same_bodies(self, baseline: Baseline) -> None:
        """Each feature body holds one filters aggregation per field (segments + other),
        with the features' own aggregations inside: no request per segment."""
        plain = q.plan(baseline, W)
        reqs = q.plan(baseline, W, segments=[SPEC])
        assert len(reqs) == len(plain)
        body = reqs[0].body["aggs"]["seg0"]
        assert body["filters"]["other_bucket_key"] == seg.OTHER_KEY
        assert body["filters"]["filters"] == {
            "s0": {"term": {"inputs.region": "a"}},
            "s1": {"term": {"inputs.region": "b"}},
        }
        assert set(body["aggs"]) <= set(reqs[0].body["aggs"])

    def test_bucket_budget_splits_features(self, baseline: Baseline) -> None:
        """Many segments: fewer features per body, so no body exceeds the bucket budget."""
        many = seg.SegmentSpec("region", "inputs.region", tuple(f"v{i}" for i in range(100)))
        assert seg.features_per_request(baseline, [many], 8) < 8
        assert seg.features_per_request(baseline, [], 8) == 8

    def test_top_values_by_share_over_windows(self) -> None:
        """A value large in a small reference window still ranks (shares, not counts)."""
        cur = {"a": 9000.0, "b": 1000.0}
        ref = {"gone": 60.0, "a": 40.0}
        assert seg.top_values([cur, ref], 2) == ("a", "gone")

    def test_parse_fields(self) -> None:
        """Comma lists, duplicates dropped; an empty list is a usage error."""
        assert seg.parse_fields("region, labels.tier,region") == ("region", "labels.tier")
        assert seg.parse_fields(None) == ()
        with pytest.raises(ConfigError):
            seg.parse_fields(" , ")
        with pytest.raises(ConfigError):
            seg.check_count(0)
        assert seg.es_field("labels.tier") == "labels.tier"
        assert seg.es_field("region") == "inputs.region"

    def test_parse_reads_each_segment(self, baseline: Baseline) -> None:
        """Segment buckets come back as WindowAggregates keyed (field, value)."""
        reqs = q.plan(baseline, W, predictions=False, segments=[SPEC])
        bucket = {"doc_count": 7, "f0_stats": {"count": 7, "avg": 1.0, "sum": 7.0}}
        resp = {
            "hits": {"total": {"value": 20}},
            "aggregations": {
                "seg0": {"buckets": {"s0": bucket, "s1": {"doc_count": 0}, "other": bucket}}
            },
        }
        parsed = q.parse(baseline, W, reqs, [resp] * len(reqs), [SPEC])
        segs = parsed.aggregates.segments
        assert set(segs) == {("region", "a"), ("region", "b"), ("region", seg.OTHER_SEGMENT)}
        assert segs[("region", "a")].total == 7 and segs[("region", "b")].total == 0


class TestVerdicts:
    def test_drifted_segment_named_in_findings(self, baseline: Baseline) -> None:
        """A shift in segment a only: segment a drifts, b does not, the summary names a."""
        rng = np.random.default_rng(2)
        ref = _counts(_data(rng, 6000), baseline)
        cur = _counts(_data(rng, 6000, shift=0.8), baseline)
        overall = c.compare(baseline, cur, ref)
        segmented = sc.compare_segments(baseline, cur, ref, [SPEC])
        _, judged = sc.judge_run(overall, segmented, VerdictPolicy())
        names = [r.name for r in judged.drifted_segments]
        assert "region=a" in names and "region=b" not in names
        assert "drift concentrated in region=a: x" in judged.findings()

    def test_small_segments_wait_for_data(self, baseline: Baseline) -> None:
        """Segments need SEGMENT_MIN_COUNT values before distribution tests run."""
        rng = np.random.default_rng(3)
        ref = _counts(_data(rng, 800), baseline)
        cur = _counts(_data(rng, 800), baseline)
        segmented = sc.compare_segments(baseline, cur, ref, [SPEC], min_count=100)
        b = next(r for r in segmented.segments if r.value == "b")
        assert b.n_current < sc.SEGMENT_MIN_COUNT
        assert all(c.NOTE_INSUFFICIENT in f.note for f in b.features)
        assert all(
            t.p_value is None for f in b.features for t in f.tests if t.name in ("ks", "chi2")
        )

    def test_disappeared_segment(self) -> None:
        """No rows now and some before: status disappeared; drifted once the mix drifted."""
        r = sc.SegmentResult("region", "d", 0.0, 500.0, ())
        assert r.status == sc.STATUS_DISAPPEARED and not r.drifted
        assert "disappeared" in r.note
        assert sc.SegmentResult("region", "d", 0.0, 500.0, (), mix_drifted=True).drifted

    def test_one_correction_over_the_run(self, baseline: Baseline) -> None:
        """Segments enter the same Holm correction as the features: adding segments raises
        the overall tests' adjusted p-values."""
        rng = np.random.default_rng(4)
        ref = _counts(_data(rng, 6000), baseline)
        cur = _counts(_data(rng, 6000, shift=0.3), baseline)
        overall = c.compare(baseline, cur, ref)
        alone = c.judge(overall, VerdictPolicy())
        together, _ = sc.judge_run(
            overall, sc.compare_segments(baseline, cur, ref, [SPEC]), VerdictPolicy()
        )

        def smallest(comp: c.Comparison) -> float:
            return min(t.p_value_adjusted or 1.0 for f in comp.features for t in f.tests)

        assert smallest(alone) < smallest(together) < 1.0


class TestBaselineFile:
    def test_segments_round_trip(self, baseline: Baseline, tmp_path: Path) -> None:
        """Stored segments (top 2 + other) survive the file, on the baseline's own bins."""
        path = save_baseline(baseline, tmp_path / "b.json")
        back = load_baseline(path)
        (profiles,) = back.segments
        assert [s.value for s in profiles.segments] == ["a", "b", seg.OTHER_SEGMENT]
        assert sum(s.rows for s in profiles.segments) == baseline.rows
        x = back.feature("x")
        a_x = profiles.segments[0].features[0]
        assert x is not None and x.numeric is not None and a_x.numeric is not None
        assert a_x.numeric.edges == x.numeric.edges
        assert a_x.numeric.n == profiles.segments[0].rows - a_x.missing
        raw = json.loads(path.read_text())
        assert "vocabulary" not in json.dumps(raw["segments"])  # not repeated per segment

    def test_older_baselines_stay_valid(self, baseline: Baseline, tmp_path: Path) -> None:
        """A baseline without segments writes no `segments` key and reads back without any."""
        import dataclasses

        plain = dataclasses.replace(baseline, segments=())
        assert "segments" not in plain.to_dict()
        assert load_baseline(save_baseline(plain, tmp_path / "p.json")).segments == ()

    def test_bad_segment_value_names_the_path(self, baseline: Baseline) -> None:
        """A frequency outside the baseline's table is refused with its path."""
        from predwatch.baseline import BaselineError

        d = baseline.to_dict()
        d["segments"][0]["segments"][0]["features"]["color"]["frequencies"]["nope"] = 1
        with pytest.raises(BaselineError, match=r"segments\[0\]\.segments\[0\]"):
            Baseline.from_dict(d)

    def test_skew_needs_stored_segments(self, baseline: Baseline) -> None:
        """Skew mode on a field the baseline did not profile: a ConfigError saying how."""
        from predwatch.analyzers import segment_baseline

        with pytest.raises(ConfigError, match="--reference previous"):
            segment_baseline.specs(baseline, {"color": "inputs.color"}, 10)
        (spec,) = segment_baseline.specs(baseline, {"region": "inputs.region"}, 10)
        assert spec.values == ("a", "b")


# --- skew mode: text features and predictions per segment --------------------------------
WORDS = [f"w{i}" for i in range(60)]


def _reviews(rng: np.random.Generator, n: int, new_share: float = 0.0) -> list[str]:
    """Sentences of 8 words, a `new_share` of them never seen in training."""
    out = []
    for _ in range(n):
        words = [str(w) for w in rng.choice(WORDS, size=8)]
        words = [f"new{rng.integers(1000)}" if rng.random() < new_share else w for w in words]
        out.append(" ".join(words))
    return out


def _scored(
    rng: np.random.Generator, n: int, *, hit: str | None = None, text: float = 0.0, score=0.0
) -> pd.DataFrame:
    """Rows with a text feature and a score; segment `hit` gets unseen words and a higher
    score (its inputs x and color unchanged)."""
    df = _data(rng, n)
    df["review"] = _reviews(rng, n)
    df["score"] = rng.beta(2.0, 3.0, n)
    if hit is not None:
        rows = df.region == hit
        df.loc[rows, "review"] = _reviews(rng, int(rows.sum()), text)
        df.loc[rows, "score"] = np.clip(df.loc[rows, "score"] + score, 0.0, 1.0)
    return df


@pytest.fixture(scope="module")
def scored() -> Baseline:
    rng = np.random.default_rng(21)
    return build_baseline(
        _scored(rng, 8000),
        model="m",
        version="1",
        text=["review"],
        prediction_columns=["score"],
        segment_by=["region"],
        segments=2,
    )


def _skew_window(df: pd.DataFrame, b: Baseline) -> WindowAggregates:
    """A window's aggregates (x, review, the score) overall and per region segment, as the
    node folds them against baseline `b`."""
    from predwatch.analyzers.aggregates import PredictionAggs, TextAggs
    from predwatch.analyzers.stats import Summary
    from tests.helpers.calibration_sim import _numeric_window

    x, review = b.feature("x"), b.feature("review")
    assert x is not None and x.numeric is not None and review is not None and review.text
    assert b.prediction is not None and b.prediction.value is not None
    tp = review.text

    def one(part: pd.DataFrame) -> WindowAggregates:
        toks = [tp.tokenizer.tokens(t) for t in part["review"]]
        oov = sum(1 for ts in toks for t in ts if t not in tp.vocabulary)
        lengths = [len(ts) for ts in toks]
        text = TextAggs(
            float(len(part)), 0.0, float(sum(lengths)), float(oov), Summary.from_values(lengths)
        )
        feats = {"x": _numeric_window(part["x"].to_numpy(dtype=float), x.numeric), "review": text}
        pv = _numeric_window(part["score"].to_numpy(dtype=float), b.prediction.value)
        return WindowAggregates(W, float(len(part)), feats, PredictionAggs(pv, None))

    segs = {
        ("region", v): one(
            df[df.region == v] if v != seg.OTHER_SEGMENT else df[~df.region.isin(["a", "b"])]
        )
        for v in ("a", "b", seg.OTHER_SEGMENT)
    }
    whole = one(df)
    return WindowAggregates(W, whole.total, whole.features, whole.prediction, segments=segs)


def _skew(b: Baseline, cur: WindowAggregates) -> sc.SegmentedComparison:
    from predwatch.analyzers import segment_baseline as sb

    specs = sb.specs(b, {"region": "inputs.region"}, 10)
    refs = sb.profiles(b, specs)
    reference = sb.reference(c.baseline_reference(b), refs)
    overall = c.compare(b, cur, reference)
    segmented = sc.compare_segments(b, cur, reference, specs, references=refs)
    return sc.judge_run(overall, segmented, VerdictPolicy())[1]


class TestSkewEveryPart:
    def test_text_and_predictions_are_profiled_per_segment(
        self, scored: Baseline, tmp_path: Path
    ) -> None:
        """Each stored segment has its text counts and prediction bins, they survive the file,
        and the segments' held-out tokens add up to the baseline's own expected OOV rate."""
        back = load_baseline(save_baseline(scored, tmp_path / "b.json"))
        (profiles,) = back.segments
        review = back.feature("review")
        assert review is not None and review.text is not None
        tokens = oov = 0.0
        for sp in profiles.segments:
            names = {f.name for f in sp.features}
            assert {"x", "color", "review"} <= names
            assert sp.prediction is not None and sp.prediction.value is not None
            assert sp.prediction.value.n == sp.rows
            t = next(f for f in sp.features if f.name == "review").text
            assert t is not None and t.n == sp.rows and 0 < t.length.n < sp.rows
            tokens += t.length.mean * t.length.n
            oov += t.expected_oov_rate * t.length.mean * t.length.n
        assert oov / tokens == pytest.approx(review.text.expected_oov_rate, rel=1e-9)
        raw = json.loads((tmp_path / "b.json").read_text())
        entry = raw["segments"][0]["segments"][0]["features"]["review"]
        assert set(entry) == {"missing", "docs", "heldout_docs", "tokens", "oov_tokens"}

    def test_skew_names_text_and_prediction_drift_of_one_segment(self, scored: Baseline) -> None:
        """Segment a gets unseen words and higher scores: in skew mode a drifts on review
        and prediction.value, and b and (other) stay quiet."""
        rng = np.random.default_rng(22)
        cur = _skew_window(_scored(rng, 8000, hit="a", text=0.3, score=0.25), scored)
        judged = _skew(scored, cur)
        by = {r.value: r for r in judged.segments}
        assert {"review", "prediction.value"} <= set(by["a"].drifted_features)
        assert "x" not in by["a"].drifted_features
        assert not by["b"].drifted and not by[seg.OTHER_SEGMENT].drifted

    def test_skew_aa_with_every_part(self, scored: Baseline) -> None:
        """No change: no segment drifts, and text and predictions were judged in each."""
        rng = np.random.default_rng(23)
        judged = _skew(scored, _skew_window(_scored(rng, 8000), scored))
        assert not judged.drifted_segments
        for r in judged.segments:
            judged_parts = {f.feature for f in (*r.features, *r.predictions) if f.tests}
            assert {"review", "prediction.value"} <= judged_parts, r.name

    def test_older_baseline_reports_the_parts_it_lacks(self, scored: Baseline) -> None:
        """A baseline written before text and predictions were profiled per segment stays
        valid; those parts are reported 'not in the baseline' for each segment (not judged,
        not left out), even where they changed."""
        d = scored.to_dict()
        for sp in d["segments"][0]["segments"]:
            del sp["features"]["review"]
            sp["prediction"] = None
        old = Baseline.from_dict(d)
        rng = np.random.default_rng(22)
        judged = _skew(old, _skew_window(_scored(rng, 8000, hit="a", text=0.3, score=0.25), old))
        a = next(r for r in judged.segments if r.value == "a")
        parts = {f.feature: f for f in (*a.features, *a.predictions)}
        for name in ("review", "prediction.value"):
            assert parts[name].tests == () and not parts[name].drifted
            assert parts[name].note.startswith(sc.NOTE_NOT_IN_BASELINE), parts[name].note
            assert "--segment-by region" in parts[name].note
        assert a.note == f"{sc.NOTE_NOT_IN_BASELINE} for this segment: review, prediction.value"
        assert "x" in parts and parts["x"].tests

    def test_bad_text_counts_name_the_path(self, scored: Baseline) -> None:
        """More unseen tokens than tokens: refused with the path of the field."""
        from predwatch.baseline import BaselineError

        d = scored.to_dict()
        entry = d["segments"][0]["segments"][1]["features"]["review"]
        entry["oov_tokens"] = entry["tokens"] + 1
        with pytest.raises(BaselineError, match=r"segments\[0\]\.segments\[1\]\.features"):
            Baseline.from_dict(d)


class TestExactRates:
    def _segment(self, missing: float, total: float) -> WindowAggregates:
        from predwatch.analyzers.aggregates import CategoricalAggs

        n = total - missing
        return WindowAggregates(
            W, total, {"color": CategoricalAggs({"red": n}, 0.0, 0.0, total, missing)}
        )

    def test_small_segment_rate_gets_the_exact_tail(self) -> None:
        """25 missing of 204 against 116 of 2,320: the z test says 7.6e-6, Fisher's exact
        test 9.6e-5; a segment's missing_rate carries the exact one."""
        from scipy.stats import hypergeom

        rng = np.random.default_rng(5)
        b = build_baseline(_data(rng, 500), model="m", version="1")
        cur, ref = self._segment(25, 204), self._segment(116, 2320)
        z = c.compare(b, cur, ref)
        exact = sc.exact_rates(z, cur, ref)

        def p(comp: c.Comparison) -> float:
            (f,) = comp.features
            (t,) = [t for t in f.tests if t.name == "missing_rate"]
            assert t.p_value is not None
            return t.p_value

        assert p(z) == pytest.approx(7.6e-6, rel=0.01)
        assert p(exact) == pytest.approx(float(hypergeom.sf(24, 2524, 141, 204)), rel=1e-9)
        assert p(exact) == pytest.approx(9.63e-5, rel=0.01)

    def test_large_counts_keep_the_z_test(self) -> None:
        """At large counts the exact tail is no larger than z's: the p-value stays z's."""
        rng = np.random.default_rng(5)
        b = build_baseline(_data(rng, 500), model="m", version="1")
        cur, ref = self._segment(5_300, 100_000), self._segment(5_000, 100_000)
        z = c.compare(b, cur, ref)
        exact = sc.exact_rates(z, cur, ref)
        zp = [t.p_value for t in z.features[0].tests if t.name == "missing_rate"]
        ep = [t.p_value for t in exact.features[0].tests if t.name == "missing_rate"]
        assert ep[0] == pytest.approx(zp[0], rel=0.25) and ep[0] >= zp[0]  # type: ignore[operator]


class TestTruncatedSegmentTerms:
    def test_truncated_terms_are_not_compared_in_the_segment(self, baseline: Baseline) -> None:
        """A segment with more values than the terms cap returns only its top values (here
        red; green and blue counted in (other)): its distribution tests are undefined with
        the note, not a false alarm against the reference's full counts; missing_rate runs."""
        from predwatch.analyzers.aggregates import CategoricalAggs

        ref_color = CategoricalAggs(
            {"red": 340.0, "green": 330.0, "blue": 330.0}, 0.0, 0.0, 1000.0, 0.0
        )
        cur_color = CategoricalAggs(
            {"red": 340.0, "green": 0.0, "blue": 0.0},
            660.0,
            0.0,
            1000.0,
            0.0,
            unseen_known=False,
            note=f"{seg.NOTE_TRUNCATED}: only its top values are counted",
        )

        def window(color: CategoricalAggs) -> WindowAggregates:
            one = WindowAggregates(W, 1000.0, {"color": color})
            segs = {("region", v): one for v in SPEC.keys}
            return WindowAggregates(W, 3000.0, {}, segments=segs)

        segmented = sc.compare_segments(baseline, window(cur_color), window(ref_color), [SPEC])
        _, judged = sc.judge_run(c.Comparison(()), segmented, VerdictPolicy())
        a = next(r for r in judged.segments if r.value == "a")
        (color,) = [f for f in a.features if f.feature == "color"]
        assert not color.drifted and not judged.drifted_segments
        assert seg.NOTE_TRUNCATED in color.note
        for t in color.tests:
            assert (t.p_value is None) == (t.name != "missing_rate"), t.name
