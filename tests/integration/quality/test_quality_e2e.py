"""`predwatch quality` against a real node: outcomes arriving late and out of order through
the shipper, corrections loaded later, missing outcomes; metrics equal scikit-learn's on the
same joined rows, per version; a degraded version is flagged and stored for alert rules."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch
from sklearn import metrics as skm

from predwatch import schema
from predwatch.analyzers import quality_job as qj
from predwatch.analyzers.aggregates import Window
from predwatch.analyzers.outcomes_cli import outcomes
from predwatch.analyzers.quality_cli import quality
from predwatch.config import ESConfig
from tests.helpers import quality_data as qd

CURRENT = Window(qd.T0, qd.T0 + qd.DAY)
PREVIOUS = CURRENT.previous()
EMPTY = Window(qd.T0 + 10 * qd.DAY, qd.T0 + 11 * qd.DAY)  # predictions, never any outcome
PAGE = 250  # small pages: the join runs through many of them


@dataclass(frozen=True)
class Shipped:
    model: str
    current: list[qd.Served]  # every prediction of CURRENT (actual None: unlabelled)
    previous: list[qd.Served]


def _cleanup(es: Elasticsearch, model: str) -> None:
    found = es.indices.get(index=f"predwatch-*-{model}*", expand_wildcards="all")
    for index in found.body:
        es.options(ignore_status=404).indices.delete(index=index)


@pytest.fixture(scope="module")
def shipped(
    es: Elasticsearch, es_config: ESConfig, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shipped]:
    """Previous day: version 1, good. Current day: version 1 degraded, version 2 good.
    70 % labelled, outcomes shipped in random order 1 min .. 5 days late; 60 corrected."""
    model = f"t_q_{uuid.uuid4().hex[:8]}"
    rng = np.random.default_rng(11)
    qd.install(es, es_config)
    previous = qd.binary_rows(rng, 1500, PREVIOUS.start, qd.DAY, noise=0.3, prefix="a")
    current = qd.binary_rows(rng, 1500, CURRENT.start, qd.DAY, noise=2.5, prefix="b")
    current += qd.binary_rows(rng, 700, CURRENT.start, qd.DAY, version="2", noise=0.3, prefix="c")
    empty = qd.binary_rows(rng, 50, EMPTY.start, qd.DAY, prefix="e")
    qd.ship_predictions(es, model, previous + current + empty)
    labelled = qd.label(rng, previous, 0.7) + qd.label(rng, current, 0.7)
    for r in empty:
        r.actual = None
    events = [(r.pid, r.actual, r.outcome_at) for r in labelled]
    events += [(f"orphan-{i}", 1, CURRENT.start + qd.DAY) for i in range(30)]  # no prediction
    order = rng.permutation(len(events))
    spool = tmp_path_factory.mktemp("spool")
    qd.ship_outcomes(es_config, model, [events[i] for i in order], spool)
    # Corrections a week later (another daily index): the newest outcome must win.
    fixes = [r for r in labelled if r in current][:60]
    path = tmp_path_factory.mktemp("fix") / "fixes.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["prediction_id", "actual", "at"])
        for r in fixes:
            r.actual = 1 - int(r.actual)
            assert r.outcome_at is not None
            r.outcome_at = r.outcome_at + dt.timedelta(days=7)
            w.writerow([r.pid, r.actual, qd.iso(r.outcome_at)])
    res = CliRunner().invoke(
        outcomes,
        ["load", str(path), "--model", model, "--timestamp-column", "at", "--json",
         "--es-url", es_config.url],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    qd.refresh(es, model)
    try:
        yield Shipped(model, current, previous)
    finally:
        _cleanup(es, model)


def _expected(rows: list[qd.Served]) -> tuple[np.ndarray, np.ndarray]:
    lab = [r for r in rows if r.actual is not None]
    return np.array([int(r.actual) for r in lab]), np.array(
        [r.prediction["scores"]["1"] for r in lab]
    )


def _run(es: Elasticsearch, cfg: ESConfig, model: str, **kw: object) -> qj.QualityReport:
    config = qj.QualityConfig(model=model, window=CURRENT, page_size=PAGE, store=False, **kw)  # type: ignore[arg-type]
    return qj.run(es, cfg, config)


class TestJoinedMetrics:
    @pytest.mark.parametrize("driver", ["predictions", "outcomes"])
    def test_equal_sklearn_per_version(
        self, es: Elasticsearch, es_config: ESConfig, shipped: Shipped, driver: str
    ) -> None:
        """Whichever side drives the join, every metric equals sklearn's on the same rows."""
        report = _run(es, es_config, shipped.model, driver=driver)
        groups = report.to_dict()["versions"]
        for version in ("1", "2", "*"):
            rows = [r for r in shipped.current if version in ("*", r.version)]
            y, s = _expected(rows)
            m = groups[version]
            pred = (s > 0.5).astype(int) + (s == 0.5).astype(int)  # the logged label: p >= .5
            assert m["labelled"]["value"] == len(y)
            assert m["predictions"]["value"] == len(rows)
            assert m["labelled_share"]["value"] == pytest.approx(len(y) / len(rows))
            assert m["accuracy"]["value"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-12)
            assert m["precision"]["value"] == pytest.approx(skm.precision_score(y, pred), abs=1e-12)
            assert m["recall"]["value"] == pytest.approx(skm.recall_score(y, pred), abs=1e-12)
            assert m["f1"]["value"] == pytest.approx(skm.f1_score(y, pred), abs=1e-12)
            assert m["log_loss"]["value"] == pytest.approx(skm.log_loss(y, s), rel=1e-9)
            bound = m["roc_auc_bin_error"]["value"]
            assert abs(m["roc_auc"]["value"] - skm.roc_auc_score(y, s)) <= bound + 1e-12

    def test_label_delay(self, es: Elasticsearch, es_config: ESConfig, shipped: Shipped) -> None:
        """Label-delay percentiles are within one histogram bin of the exact ones."""
        m = _run(es, es_config, shipped.model).to_dict()["versions"]["*"]
        delays = np.array(
            [
                (r.outcome_at - r.at).total_seconds()
                for r in shipped.current
                if r.actual is not None and r.outcome_at is not None
            ]
        )
        for p in (50, 90, 99):
            exact = float(np.percentile(delays, p, method="inverted_cdf"))
            # Elasticsearch keeps milliseconds: allow that on top of the bin width.
            got = m[f"label_delay.p{p}_s"]["value"]
            assert math.isclose(got, exact, rel_tol=0.122, abs_tol=0.002)
        assert m["label_delay.max_s"]["value"] == pytest.approx(delays.max(), abs=0.002)

    def test_missing_outcomes(
        self, es: Elasticsearch, es_config: ESConfig, shipped: Shipped
    ) -> None:
        """A window whose predictions never got an outcome: share 0, no metric, no finding."""
        config = qj.QualityConfig(model=shipped.model, window=EMPTY, store=False)
        report = qj.run(es, es_config, config)
        m = report.to_dict()["versions"]["*"]
        assert m["predictions"]["value"] == 50
        assert m["labelled_share"]["value"] == 0.0
        assert "accuracy" not in m
        assert report.exit_code == 0
        assert any("no outcome" in n for n in report.notes)


class TestRegressionVerdict:
    def test_degraded_version_flagged_and_stored(
        self, es: Elasticsearch, es_config: ESConfig, shipped: Shipped
    ) -> None:
        """Version 1 got worse than the previous day: exit 1, stored for the alert rules."""
        r = CliRunner().invoke(
            quality,
            ["--model", shipped.model, "--start", CURRENT.start.isoformat(),
             "--end", CURRENT.end.isoformat(), "--json", "--es-url", es_config.url],
        )  # fmt: skip
        assert r.exit_code == 1, r.output
        out = json.loads(r.output)
        assert "roc_auc@1" in out["regressed"] and "accuracy@1" in out["regressed"]
        assert not any(x.endswith("@2") for x in out["regressed"])  # no previous data for v2
        v1 = out["versions"]["1"]["roc_auc"]
        assert v1["ci_high"] < v1["reference"] - 0.02
        # What an alert rule on predwatch-drift-<model> finds (mapped fields only).
        index = schema.index_name("drift", shipped.model)
        hits = es.search(
            index=index,
            query={
                "bool": {
                    "filter": [
                        {"term": {"run_id": out["run_id"]}},
                        {"term": {"record_type": "metric"}},
                        {"term": {"drifted": True}},
                        {"term": {"model.version": "1"}},
                    ]
                }
            },
            aggs={"names": {"terms": {"field": "metric.name", "size": 50}}},
            size=0,
        )
        names = {b["key"] for b in hits["aggregations"]["names"]["buckets"]}
        assert {"quality.accuracy", "quality.roc_auc"} <= names
        summary = es.search(
            index=index,
            query={"bool": {"filter": [{"term": {"run_id": out["run_id"]}},
                                       {"term": {"record_type": "quality"}}]}},
        )["hits"]["hits"][0]["_source"]  # fmt: skip
        assert summary["drifted"] is True and "quality.roc_auc@1" in summary["drifted_features"]

    def test_reference_file(
        self, es: Elasticsearch, es_config: ESConfig, shipped: Shipped, tmp_path: Path
    ) -> None:
        """Against held-out metrics it beats, nothing regressed (exit 0)."""
        ref = tmp_path / "heldout.json"
        ref.write_text(json.dumps({"accuracy": 0.5, "roc_auc": 0.55, "log_loss": 5.0}))
        r = CliRunner().invoke(
            quality,
            ["--model", shipped.model, "--start", CURRENT.start.isoformat(),
             "--end", CURRENT.end.isoformat(), "--reference", str(ref), "--no-store",
             "--es-url", es_config.url],
        )  # fmt: skip
        assert r.exit_code == 0, r.output
        assert "no quality regression" in r.output

    def test_reference_baseline(
        self, es_config: ESConfig, shipped: Shipped, tmp_path: Path
    ) -> None:
        """--reference baseline judges against the baseline's held-out metrics."""
        import pandas as pd

        from predwatch.analyzers.profile import build_baseline
        from predwatch.baseline import save_baseline

        frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]})
        args = ["--model", shipped.model, "--start", CURRENT.start.isoformat(),
                "--end", CURRENT.end.isoformat(), "--reference", "baseline", "--no-store",
                "--es-url", es_config.url]  # fmt: skip
        for metrics, code in (({"accuracy": 0.5, "roc_auc": 0.55}, 0), ({"roc_auc": 0.999}, 1)):
            b = build_baseline(frame, model=shipped.model, version="1", metrics=metrics)
            path = save_baseline(b, tmp_path / "baseline.json")
            r = CliRunner().invoke(quality, [*args, "--baseline", str(path), "--json"])
            assert r.exit_code == code, r.output
            doc = json.loads(r.output)
            assert doc["reference"]["kind"] == "baseline"


class TestAnalyzeQuality:
    def test_regressions_are_analyze_findings(
        self, es_config: ESConfig, shipped: Shipped, tmp_path: Path
    ) -> None:
        """analyze --quality runs the quality job for its window: a regression is a finding."""
        import pandas as pd

        from predwatch.analyzers.analyze_cli import analyze
        from predwatch.analyzers.profile import build_baseline
        from predwatch.baseline import save_baseline

        frame = pd.DataFrame({"score": [0.1, 0.4, 0.6, 0.9]})
        b = build_baseline(frame, model=shipped.model, version="1", prediction_columns=["score"])
        path = save_baseline(b, tmp_path / "baseline.json")
        r = CliRunner().invoke(
            analyze,
            ["--model", shipped.model, "--start", CURRENT.start.isoformat(),
             "--end", CURRENT.end.isoformat(), "--baseline", str(path), "--quality",
             "--no-store", "--json", "--es-url", es_config.url],
        )  # fmt: skip
        assert r.exit_code == 1, r.output
        doc = json.loads(r.stdout)
        findings = doc["summary"]["findings"]
        assert "quality regressed: roc_auc@1" in findings, findings
        assert not any(f.endswith("@2") for f in findings)
        assert doc["quality"]["reference"] == "previous" and doc["quality"]["run_id"]


class TestPredictionIndices:
    def test_the_join_reads_the_windows_days(
        self,
        es: Elasticsearch,
        es_config: ESConfig,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """The prediction side names the daily indices of the window's days
        (`quality_join.prediction_index`): a prediction filed under another day's index
        (which the shipper never writes) is neither counted nor joined, though its timestamp
        is in the window; on the model's pattern (names too long for a URL) it is."""
        from predwatch.analyzers import quality_join

        model = f"t_qi_{uuid.uuid4().hex[:8]}"
        rng = np.random.default_rng(5)
        qd.install(es, es_config)
        rows = qd.binary_rows(rng, 40, CURRENT.start, qd.DAY, prefix="i")
        (stray,) = qd.binary_rows(rng, 1, CURRENT.start, qd.DAY, prefix="x")
        qd.ship_predictions(es, model, rows)
        doc = {
            schema.TIMESTAMP: qd.iso(stray.at),
            schema.PREDICTION_ID: stray.pid,
            "model": {"name": model, "version": stray.version},
            "prediction": stray.prediction,
        }
        elsewhere = schema.index_name("predictions", model, CURRENT.start + 3 * qd.DAY)
        es.index(index=elsewhere, id=stray.pid, document=doc, refresh=True)
        events = [(r.pid, r.actual, r.at + dt.timedelta(hours=1)) for r in [*rows, stray]]
        qd.ship_outcomes(es_config, model, events, tmp_path)
        qd.refresh(es, model)
        try:
            wide = Window(CURRENT.start, CURRENT.start + 4 * qd.DAY)
            assert elsewhere in quality_join.prediction_index(model, wide).split(",")
            assert elsewhere not in quality_join.prediction_index(model, CURRENT).split(",")
            for chars, want in ((quality_join.URL_INDEX_CHARS, 40), (0, 41)):
                monkeypatch.setattr(quality_join, "URL_INDEX_CHARS", chars)
                for driver in ("predictions", "outcomes"):
                    m = _run(es, es_config, model, driver=driver).to_dict()["versions"]["*"]
                    assert m["predictions"]["value"] == want, (chars, driver)
                    assert m["labelled"]["value"] == want, (chars, driver)
        finally:
            _cleanup(es, model)
