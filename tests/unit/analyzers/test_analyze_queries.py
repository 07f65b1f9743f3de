"""Aggregation request bodies and the parsing of their responses (no server)."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import numpy as np
import pytest

from predwatch import schema
from predwatch.analyzers import queries as q
from predwatch.analyzers.aggregates import CategoricalAggs, NumericAggs, TextAggs, Window
from predwatch.analyzers.stats import Summary
from tests.helpers import analyze_samples as smp

WINDOW = Window(smp.START, smp.END)


def _walk(obj: Any) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.append((k, v))
            out += _walk(v)
    elif isinstance(obj, list):
        for v in obj:
            out += _walk(v)
    return out


class TestPlan:
    def test_no_body_fetches_documents(self) -> None:
        """Every body has size 0 and no top_hits: nothing pulls raw documents."""
        reqs = [*q.plan(smp.baseline(), WINDOW), q.latency_request(WINDOW)]
        reqs.append(q.Request("features", q.composite_body("inputs.x", WINDOW, "k")))
        for r in reqs:
            assert r.body["size"] == 0
            assert "top_hits" not in json.dumps(r.body)
            assert "_source" not in r.body

    def test_window_is_half_open_utc(self) -> None:
        """The time filter is gte start and lt end, in UTC."""
        rng = q.window_query(WINDOW)["bool"]["filter"][0]["range"][schema.TIMESTAMP]
        assert rng["gte"] == "2026-03-01T12:00:00.000Z"
        assert rng["lt"] == "2026-03-01T13:00:00.000Z"

    def test_range_agg_uses_the_baseline_edges(self) -> None:
        """The numeric range buckets are the baseline bins, keyed by position, plus two
        overlapping buckets outside the training [min, max]."""
        aggs = q.feature_aggs(smp.baseline(), ["age"])
        ranges = aggs["f0_bins"]["range"]["ranges"]
        assert ranges == [
            {"key": "0", "to": 0.0},
            {"key": "1", "from": 0.0, "to": 1.0},
            {"key": "2", "from": 1.0, "to": 2.0},
            {"key": "3", "from": 2.0},
            {"key": "below", "to": -2.0},
            {"key": "above", "from": math.nextafter(4.0, math.inf)},
        ]
        assert aggs["f0_bins"]["range"]["field"] == "inputs.age"
        assert aggs["f0_bins"]["aggs"] == {"sum": {"sum": {"field": "inputs.age"}}}
        assert set(aggs) == {"f0_bins", "f0_stats"}

    def test_terms_sized_above_the_vocabulary(self) -> None:
        """Categorical terms are sized vocabulary + room, and capped."""
        b = smp.baseline()
        aggs = q.feature_aggs(b, ["user.Country code"])
        assert aggs["f1_terms"]["terms"]["size"] == 5 + q.NEW_VALUES_ROOM
        assert aggs["f1_terms"]["terms"]["field"] == "inputs.user.Country code"
        cat = b.features[1].categorical
        assert cat is not None
        big = type(cat)(cat.frequencies, cat.other, frozenset(map(str, range(10**5))), cat.n)
        assert q.terms_size(big) == q.TERMS_CAP

    def test_text_aggs_use_the_monitor_fields(self) -> None:
        """Text features aggregate token counts, OOV token sums and an exists filter."""
        aggs = q.feature_aggs(smp.baseline(), ["comment"])
        assert aggs["f2_len"]["extended_stats"]["field"] == "monitor.text.comment.tokens"
        assert aggs["f2_oovtok"]["sum"]["field"] == "monitor.text.comment.oov_tokens"
        assert aggs["f2_present"]["filter"] == {"exists": {"field": "inputs.comment"}}

    def test_features_are_chunked(self) -> None:
        """Features are spread over several bodies of one msearch, then the predictions."""
        reqs = q.plan(smp.baseline(), WINDOW, per_request=2)
        assert [r.part for r in reqs] == ["features", "features", "predictions"]
        assert reqs[0].features == ("age", "user.Country code")

    def test_trend_buckets_start_at_the_window_start(self) -> None:
        """The date histogram offset aligns buckets with the window start."""
        w = Window(
            dt.datetime(2026, 3, 1, 12, 7, tzinfo=dt.UTC),
            dt.datetime(2026, 3, 1, 13, 7, tzinfo=dt.UTC),
        )
        hist = q.prediction_aggs(smp.baseline(), w)["trend"]["date_histogram"]
        assert hist["fixed_interval"] == "2m"
        step = 120_000
        start_ms = int(w.start.timestamp() * 1000)
        assert hist["offset"] == f"+{start_ms % step}ms"
        # extended_bounds only: hard_bounds would drop the documents of the last bucket
        assert hist["extended_bounds"] == {"min": start_ms, "max": start_ms + 3_600_000 - 1}
        assert "hard_bounds" not in hist

    @pytest.mark.parametrize(
        ("hours", "interval"), [(1, "2m"), (24, "30m"), (24 * 7, "6h"), (24 * 365, "14d")]
    )
    def test_trend_interval(self, hours: int, interval: str) -> None:
        """At most MAX_TREND_BUCKETS buckets of a round interval."""
        w = Window(smp.START, smp.START + dt.timedelta(hours=hours))
        assert q.trend_interval(w) == interval


class TestParse:
    def _parsed(self, total: float = 1000.0) -> q.Parsed:
        b = smp.baseline()
        reqs = q.plan(b, WINDOW)
        return q.parse(b, WINDOW, reqs, [smp.feature_response(total), smp.prediction_response()])

    def test_numeric(self) -> None:
        """Bin counts by position, the summary, missing = documents - values."""
        age = self._parsed().aggregates.features["age"]
        assert isinstance(age, NumericAggs)
        assert age.bins == (90, 310, 390, 200)
        assert age.summary.n == 990 and age.summary.mean == 1.21
        assert age.missing == 10 and age.out_of_range == 3  # below + above
        assert age.bin_sums is None  # the canned response has no per-bin sums

    def test_numeric_bin_sums(self) -> None:
        """Per-bin sums, when the response has them, are read by position."""
        resp = smp.feature_response()
        buckets = resp["aggregations"]["f0_bins"]["buckets"]
        for i, total in enumerate((-45.0, 155.0, 585.0, 500.0)):
            buckets[str(i)]["sum"] = {"value": total}
        b = smp.baseline()
        parsed = q.parse(b, WINDOW, q.plan(b, WINDOW), [resp, smp.prediction_response()])
        age = parsed.aggregates.features["age"]
        assert isinstance(age, NumericAggs) and age.bin_sums == (-45.0, 155.0, 585.0, 500.0)

    def test_categorical_folded_on_the_baseline(self) -> None:
        """Top values, the rest of the vocabulary and unseen values become separate cells."""
        parsed = self._parsed()
        cat = parsed.aggregates.features["user.Country code"]
        assert isinstance(cat, CategoricalAggs)
        assert dict(cat.top) == {"a": 480, "b": 310, "c": 140}
        assert cat.other == 30 and cat.unseen == 25 and cat.missing == 15
        assert cat.unseen_top == (("zz", 20), ("yy", 5))
        assert parsed.incomplete == ()

    def test_incomplete_terms_are_reported(self) -> None:
        """A terms result with sum_other_doc_count > 0 asks for composite paging."""
        b = smp.baseline()
        resp = smp.feature_response()
        resp["aggregations"]["f1_terms"]["sum_other_doc_count"] = 7
        parsed = q.parse(b, WINDOW, q.plan(b, WINDOW, predictions=False), [resp])
        assert parsed.incomplete == ("user.Country code",)

    def test_text(self) -> None:
        """Token sums, documents with the text and the top OOV terms."""
        text = self._parsed().aggregates.features["comment"]
        assert isinstance(text, TextAggs)
        assert (text.tokens, text.oov_tokens, text.missing, text.n) == (10_000, 3000, 50, 950)
        assert text.oov_terms == (("foo", 300), ("bar", 100))

    def test_predictions_trend_versions_latency(self) -> None:
        """Prediction stats, non-finite counts, trend buckets, version groups, latency."""
        agg = self._parsed().aggregates
        assert agg.total == 1000
        pred = agg.prediction
        assert pred is not None and pred.value is not None
        assert pred.value.bins == (500, 496)
        assert pred.median == pytest.approx(0.5 - 0.5 * 2 / 500)  # interpolated in bin 0
        assert pred.nonfinite_predictions == 4 and pred.nonfinite_docs == 4
        assert [b.count for b in agg.trend] == [598, 0]
        assert agg.trend[1].mean is None and agg.trend[0].start == smp.START
        assert [(g.version, g.count) for g in agg.versions] == [("1", 700), ("2", 300)]
        assert agg.versions[0].trained_at == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        assert agg.versions[1].trained_at is None
        assert agg.latency is not None and agg.latency.percentiles["95"] == 25.0
        assert agg.trained_at == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def test_empty_window(self) -> None:
        """No documents: zero counts, undefined summaries, no error."""
        b = smp.baseline()
        empty = smp.response(0, {"f0_stats": smp.ext_stats(0), "f1_terms": smp.terms([])})
        parsed = q.parse(b, WINDOW, q.plan(b, WINDOW, predictions=False), [empty])
        age = parsed.aggregates.features["age"]
        assert isinstance(age, NumericAggs)
        assert age.n == 0 and age.missing == 0 and age.summary.n == 0

    def test_response_count_must_match(self) -> None:
        """A response list of the wrong length is a caller bug."""
        with pytest.raises(ValueError, match="responses"):
            q.parse(smp.baseline(), WINDOW, q.plan(smp.baseline(), WINDOW), [])


class TestCategoryFold:
    def test_unseen_top_is_bounded(self) -> None:
        """Only the most frequent unseen values are kept, whatever the number of values."""
        fold = q.CategoryFold(smp.baseline().features[1].categorical, keep_unseen=3)
        for i in range(1000):
            fold.add(f"new{i}", float(i % 50))
        fold.add("a", 5)
        fold.add("e", 2)
        res = fold.result(total=30_000)
        assert len(res.unseen_top) == 3 and res.unseen_top[0][1] == 49
        assert res.top["a"] == 5 and res.other == 2
        assert res.unseen == sum(float(i % 50) for i in range(1000))

    def test_ties_kept_in_terms_order(self) -> None:
        """Among equal counts the first values by name are kept, as a `terms` ranks them."""
        fold = q.CategoryFold(None, keep_unseen=2)
        for value in ("d", "b", "c", "a"):
            fold.add(value, 5)
        fold.add("z", 9)
        assert fold.top_values() == (("z", 9), ("a", 5))

    def test_composite_page(self) -> None:
        """A composite page yields its buckets and the key to continue after."""
        resp = smp.response(
            3,
            {
                "values": {
                    "after_key": {"v": "b"},
                    "buckets": [
                        {"key": {"v": "a"}, "doc_count": 2},
                        {"key": {"v": "b"}, "doc_count": 1},
                    ],
                }
            },
        )
        assert q.composite_page(resp) == ([("a", 2.0), ("b", 1.0)], "b")
        assert q.composite_page(smp.response(0, {"values": {"buckets": []}})) == ([], None)


class TestMedianFromBins:
    def test_close_to_the_raw_median(self) -> None:
        """The interpolated median is within one quantile bin of numpy's on the raw values."""
        rng = np.random.default_rng(0)
        train, served = rng.lognormal(0, 1, 50_000), rng.lognormal(0.2, 1, 200_000)
        edges = tuple(np.quantile(train, np.linspace(0, 1, 101)[1:-1]))
        bins = np.bincount(np.searchsorted(edges, served, side="right"), minlength=100)
        profile = smp.numeric(tuple(map(float, np.ones(100))), edges)
        got = q.median_from_bins(profile, list(map(float, bins)), Summary.from_values(served))
        i = int(np.searchsorted(edges, np.median(served)))
        assert abs(got - np.median(served)) <= edges[i] - edges[i - 1]

    def test_empty(self) -> None:
        """No values, no median."""
        assert q.median_from_bins(smp.numeric(), [0, 0, 0, 0], Summary(0, 0, 0)) is None


def _oov(buckets: list[tuple[str, int, int]], bound: int) -> dict[str, Any]:
    return {
        "doc_count_error_upper_bound": bound,
        "buckets": [
            {"key": k, "doc_count": c, "doc_count_error_upper_bound": e} for k, c, e in buckets
        ],
    }


class TestOovTermsExact:
    def test_request_shows_error_bounds_with_a_large_shard_size(self) -> None:
        """The top OOV terms are asked with a shard size far above the list length."""
        agg = q.oov_terms_agg("comment")["terms"]
        assert agg["size"] == q.UNSEEN_TOP and agg["shard_size"] >= 10 * q.UNSEEN_TOP
        assert agg["show_term_doc_count_error"] is True

    def test_one_shard_is_exact(self) -> None:
        """No error anywhere (one shard, or every shard returned all its terms): exact."""
        assert q.oov_terms_exact(_oov([("a", 5, 0)], 0))

    def test_bound_below_the_last_count_is_exact(self) -> None:
        """A term left out has at most the overall bound: below the 10th count, exact."""
        top = [(f"t{i}", 100 - i, 0) for i in range(q.UNSEEN_TOP)]
        assert q.oov_terms_exact(_oov(top, 90))
        assert not q.oov_terms_exact(_oov(top, 91))  # could tie or beat the 10th

    def test_uncertain_count_is_inexact(self) -> None:
        """A returned count that may be low makes the list inexact."""
        top = [(f"t{i}", 100 - i, 0) for i in range(q.UNSEEN_TOP)]
        top[3] = ("t3", 97, 2)
        assert not q.oov_terms_exact(_oov(top, 1))

    def test_inexact_text_is_reported(self) -> None:
        """parse() names the text features whose top OOV terms must be paged."""
        b = smp.baseline()
        resp = smp.feature_response()
        name = next(k for k in resp["aggregations"] if k.endswith("_oovterms"))
        top = [(f"t{i}", 100 - i, 0) for i in range(q.UNSEEN_TOP)]
        resp["aggregations"][name] = _oov(top, 95)
        parsed = q.parse(b, WINDOW, q.plan(b, WINDOW, predictions=False), [resp])
        assert parsed.inexact_text == ("comment",)
