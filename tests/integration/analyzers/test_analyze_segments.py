"""`predwatch analyze --segment-by` against a real node: the drifted segment is named, A/A
segments stay quiet, a vanished segment is reported, bad fields exit 2."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from predwatch import schema
from predwatch.analyzers.analyze_cli import analyze
from predwatch.analyzers.profile import build_baseline
from predwatch.baseline import Baseline, save_baseline
from predwatch.config import ESConfig
from tests.helpers import analyze_data as ad

START = dt.datetime(2025, 3, 1, 8, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
REGIONS = ["pacific", "atlantic", "central", "mountain"]
SHARES = [0.35, 0.3, 0.2, 0.15]
N = 3000


def _frame(
    rng: np.random.Generator, n: int, *, shift: str | None = None, drop: str | None = None
) -> pd.DataFrame:
    """Rows with a `region` feature (and a `labels.tier` context); `shift` gives that region
    the shifted distributions of analyze_data, `drop` removes a region."""
    region = rng.choice(REGIONS, size=n, p=SHARES)
    if drop is not None:
        keep = [r for r in REGIONS if r != drop]
        p = np.array([SHARES[REGIONS.index(r)] for r in keep])
        region = rng.choice(keep, size=n, p=p / p.sum())
    df = ad.frame(rng, n)
    if shift is not None:
        hit = region == shift
        moved = ad.frame(rng, int(hit.sum()), shifted=True)
        moved.index = df.index[hit]
        df.loc[hit] = moved
    df = df.drop(columns=[*ad.TEXT_FEATURES, "num_gone"])
    df["region"] = region
    return df


def _ship(
    es: Elasticsearch, baseline: Baseline, df: pd.DataFrame, start: dt.datetime, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    docs = ad.documents(df, baseline, start, start + HOUR, rng)
    tiers = rng.choice(["gold", "silver"], size=len(docs))
    for d, tier in zip(docs, tiers, strict=True):
        d[schema.LABELS] = {"tier": str(tier)}
    ad.ship(es, docs)


@pytest.fixture
def model(es: Elasticsearch, es_config: ESConfig, model_name: str, tmp_path: Path) -> Path:
    """A baseline file; reference hour A/A; current hour: pacific shifted, mountain gone."""
    rng = np.random.default_rng(11)
    baseline = build_baseline(
        _frame(rng, 5000), model=model_name, version="1", prediction_columns=["score"]
    )
    ad.install(es, es_config, baseline)
    _ship(es, baseline, _frame(rng, N), START, 1)
    _ship(es, baseline, _frame(rng, N, shift="pacific", drop="mountain"), START + HOUR, 2)
    _ship(es, baseline, _frame(rng, N), START + 2 * HOUR, 3)
    path = tmp_path / "baseline.json"
    save_baseline(baseline, path)
    return path


def _analyze(es_config: ESConfig, model: Path, start: dt.datetime, *args: str) -> tuple[int, Any]:
    name = json.loads(model.read_text())["model"]["name"]
    res = CliRunner().invoke(
        analyze,
        [
            "--model",
            name,
            "--baseline",
            str(model),
            "--start",
            start.isoformat(),
            "--window",
            "1h",
            "--no-store",
            *args,
        ],
        env={"PREDWATCH_ES_URL": es_config.url},
    )
    try:
        return res.exit_code, json.loads(res.output)
    except json.JSONDecodeError:
        return res.exit_code, res.output


def _segments(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{s['field']}={s['value']}": s for s in report["segments"]}


class TestSegmentDrift:
    def test_drifted_segment_is_named(self, es_config: ESConfig, model: Path) -> None:
        """Only region=pacific changed: it is the drifted segment, with its features named."""
        ref = f"{START.isoformat()}..{(START + HOUR).isoformat()}"
        code, out = _analyze(
            es_config, model, START + HOUR, "--reference", ref, "--segment-by", "region", "--json"
        )
        assert code == 1, out
        segs = _segments(out)
        assert {"region=pacific", "region=atlantic", "region=central", "region=(other)"} <= set(
            segs
        )
        assert segs["region=pacific"]["drifted"]
        assert {"num_mean", "cat_mass"} <= set(segs["region=pacific"]["drifted_features"])
        assert not segs["region=atlantic"]["drifted"] and not segs["region=central"]["drifted"]
        assert any(
            f.startswith("drift concentrated in region=pacific: ") and "num_mean" in f
            for f in out["summary"]["findings"]
        ), out["summary"]
        assert "region=pacific" in out["summary"]["drifted_segments"]
        # The segmentation field itself (one value per segment) is not compared inside it.
        assert "region" not in {f["feature"] for f in segs["region=pacific"]["features"]}
        # Each segment in the existing per-feature shape.
        feature = segs["region=pacific"]["features"][0]
        assert {"feature", "type", "tests", "n_current", "n_reference", "drifted"} <= set(feature)

    def test_disappeared_segment_is_reported(self, es_config: ESConfig, model: Path) -> None:
        """region=mountain has no prediction in the window: status disappeared, mix drifted."""
        code, out = _analyze(
            es_config, model, START + HOUR, "--reference", "previous", "--segment-by", "region",
            "--json",
        )  # fmt: skip
        assert code == 1
        segs = _segments(out)
        gone = segs["region=mountain"]
        assert gone["status"] == "disappeared" and gone["n_current"] == 0, gone
        assert gone["n_reference"] > 0 and gone["drifted"]
        assert out["segment_mix"][0]["feature"] == "region" and out["segment_mix"][0]["drifted"]
        assert "segment mix of region changed" in out["summary"]["findings"]

    def test_aa_segments_are_not_flagged(self, es_config: ESConfig, model: Path) -> None:
        """Two no-drift hours, segmented by a feature and a label: nothing is flagged."""
        ref = f"{START.isoformat()}..{(START + HOUR).isoformat()}"
        code, out = _analyze(
            es_config, model, START + 2 * HOUR, "--reference", ref,
            "--segment-by", "region,labels.tier", "--json",
        )  # fmt: skip
        assert code == 0, out["summary"]
        segs = _segments(out)
        assert {"labels.tier=gold", "labels.tier=silver", "region=pacific"} <= set(segs)
        assert not any(s["drifted"] for s in segs.values())
        assert out["summary"]["drifted_segments"] == []

    def test_table_shows_the_grid(self, es_config: ESConfig, model: Path) -> None:
        """The table has a segment x feature grid with the drifted cell marked."""
        code, out = _analyze(
            es_config, model, START + HOUR, "--reference", "previous", "--segment-by", "region"
        )
        assert code == 1
        grid = out[out.index("segments") :]
        row = next(line for line in grid.splitlines() if "region=pacific" in line)
        assert "DRIFT" in row and "num_mean" in grid


@pytest.fixture
def segmented_baseline(model: Path, tmp_path: Path) -> Path:
    """The same model's baseline with per-segment profiles of region."""
    name = json.loads(model.read_text())["model"]["name"]
    rng = np.random.default_rng(11)
    baseline = build_baseline(
        _frame(rng, 5000),
        model=name,
        version="1",
        prediction_columns=["score"],
        segment_by=["region"],
        segments=3,
    )
    path = tmp_path / "segmented.json"
    save_baseline(baseline, path)
    return path


class TestSegmentSkew:
    def test_skew_names_the_drifted_segment(
        self, es_config: ESConfig, segmented_baseline: Path
    ) -> None:
        """Against per-segment training profiles: pacific drifted, the others did not, and the
        mix sees mountain (pooled in (other) by the 3-segment baseline) gone."""
        code, out = _analyze(
            es_config, segmented_baseline, START + HOUR, "--segment-by", "region", "--json"
        )
        assert code == 1, out
        segs = _segments(out)
        assert set(segs) == {
            "region=pacific",
            "region=atlantic",
            "region=central",
            "region=(other)",
        }
        assert segs["region=pacific"]["drifted"]
        assert {"num_mean", "cat_mass"} <= set(segs["region=pacific"]["drifted_features"])
        assert not segs["region=atlantic"]["drifted"] and not segs["region=central"]["drifted"]

    def test_skew_aa(self, es_config: ESConfig, segmented_baseline: Path) -> None:
        """An unshifted hour against the per-segment profiles flags nothing."""
        code, out = _analyze(
            es_config, segmented_baseline, START + 2 * HOUR, "--segment-by", "region", "--json"
        )
        assert code == 0, out["summary"]
        assert not any(s["drifted"] for s in out["segments"])


class TestSegmentHtml:
    def test_html_has_the_grid(self, es_config: ESConfig, model: Path, tmp_path: Path) -> None:
        """The HTML report has a Segments section: the pacific row drifted, num_mean a column."""
        out_file = tmp_path / "r.html"
        code, _ = _analyze(
            es_config, model, START + HOUR, "--reference", "previous", "--segment-by", "region",
            "--format", "html", "--output", str(out_file),
        )  # fmt: skip
        assert code == 1
        html = out_file.read_text()
        grid = html[html.index("<h2>Segments</h2>") :]
        row = next(r for r in grid.split("<tr>") if "region=pacific" in r)
        assert "class='drifted'>DRIFT" in row and "<th>num_mean</th>" in grid
        assert "Segment mix" in grid


class TestSegmentBadInput:
    def test_unknown_field(self, es_config: ESConfig, model: Path) -> None:
        """A field no index has: exit 2 naming it and what to use instead."""
        code, out = _analyze(
            es_config, model, START + HOUR, "--reference", "previous", "--segment-by", "nope"
        )
        assert code == 2 and "--segment-by nope" in out and "labels.*" in out, out

    def test_text_field(
        self, es: Elasticsearch, es_config: ESConfig, model_name: str, tmp_path: Path
    ) -> None:
        """A text field has no exact values to segment on: exit 2 saying so."""
        rng = np.random.default_rng(5)
        baseline = build_baseline(
            ad.frame(rng, 500), model=model_name, version="1", text=ad.TEXT_FEATURES
        )
        ad.install(es, es_config, baseline)
        ad.ship(es, ad.documents(ad.frame(rng, 50), baseline, START, START + HOUR, rng))
        path = tmp_path / "b.json"
        save_baseline(baseline, path)
        code, out = _analyze(
            es_config, path, START, "--reference", "previous", "--segment-by", "text_same"
        )
        assert code == 2 and "mapped as text" in out, out

    def test_skew_without_segment_profiles(self, es_config: ESConfig, model: Path) -> None:
        """Skew mode with a baseline built without --segment-by: exit 2, how to fix it."""
        code, out = _analyze(es_config, model, START + HOUR, "--segment-by", "region")
        assert code == 2 and "--segment-by region" in out and "--reference previous" in out


def _frame_with_text(rng: np.random.Generator, n: int, *, hit: str | None = None) -> pd.DataFrame:
    """Rows with text features, a score and `region`; segment `hit` gets 35 % unseen words
    in text_oov and scores 0.25 higher (its other inputs unchanged)."""
    df = ad.frame(rng, n).drop(columns=["num_gone"])
    df["region"] = rng.choice(REGIONS, size=n, p=SHARES)
    if hit is not None:
        rows = (df["region"] == hit).to_numpy()
        df.loc[rows, "text_oov"] = ad._sentences(rng, int(rows.sum()), 0.35)
        df.loc[rows, "score"] = np.clip(df.loc[rows, "score"] + 0.25, 0.0, 1.0)
    return df


@pytest.fixture
def text_model(es: Elasticsearch, es_config: ESConfig, model_name: str, tmp_path: Path) -> Path:
    """A baseline with per-segment profiles of every part (text, predictions); hour 1:
    pacific's text and scores changed; hour 2: no change."""
    rng = np.random.default_rng(31)
    baseline = build_baseline(
        _frame_with_text(rng, 5000),
        model=model_name,
        version="1",
        prediction_columns=["score"],
        text=ad.TEXT_FEATURES,
        segment_by=["region"],
        segments=3,
    )
    ad.install(es, es_config, baseline)
    _ship(es, baseline, _frame_with_text(rng, N, hit="pacific"), START + HOUR, 4)
    _ship(es, baseline, _frame_with_text(rng, N), START + 2 * HOUR, 5)
    path = tmp_path / "baseline.json"
    save_baseline(baseline, path)
    return path


class TestSegmentSkewEveryPart:
    def test_text_and_prediction_drift_of_a_segment(
        self, es_config: ESConfig, text_model: Path
    ) -> None:
        """Skew mode names pacific's text feature and predictions; the other segments and
        pacific's unchanged inputs stay quiet."""
        code, out = _analyze(
            es_config, text_model, START + HOUR, "--segment-by", "region", "--json"
        )
        assert code == 1, out
        segs = _segments(out)
        pacific = segs["region=pacific"]
        assert {"text_oov", "prediction.value"} <= set(pacific["drifted_features"]), pacific
        assert not {"text_same", "num_mean", "cat_mass"} & set(pacific["drifted_features"])
        assert not segs["region=atlantic"]["drifted"] and not segs["region=central"]["drifted"]
        judged = {f["feature"] for f in pacific["features"] + pacific["predictions"] if f["tests"]}
        assert {"text_oov", "text_same", "prediction.value"} <= judged

    def test_skew_aa_with_every_part(self, es_config: ESConfig, text_model: Path) -> None:
        """An unchanged hour: no segment drifts, text and predictions judged in each."""
        code, out = _analyze(
            es_config, text_model, START + 2 * HOUR, "--segment-by", "region", "--json"
        )
        assert code == 0, out["summary"]
        for s in out["segments"]:
            judged = {f["feature"] for f in s["features"] + s["predictions"] if f["tests"]}
            assert {"text_oov", "prediction.value"} <= judged, s["value"]
