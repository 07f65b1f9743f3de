"""`predwatch analyze` end to end against a real node: rows with known shifts and rows
without are indexed the way the shipper lays them out; the job must flag exactly the
shifted features, store its results, and report the model checks."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from predwatch import schema
from predwatch.analyzers import job, queries
from predwatch.analyzers.aggregates import Window
from predwatch.analyzers.analyze_cli import analyze
from predwatch.analyzers.profile import build_baseline
from predwatch.baseline import Baseline, save_baseline
from predwatch.config import ESConfig
from tests.helpers import analyze_data as ad

H0 = dt.datetime(2025, 1, 15, 10, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
PREVIOUS = Window(H0, H0 + HOUR)  # 3,000 rows, no shift
CURRENT = Window(H0 + HOUR, H0 + 2 * HOUR)  # 3,000 rows, every shift of ad.SHIFTED
CHECKS = Window(H0 + 2 * HOUR, H0 + 3 * HOUR)  # no shift; two versions, slow, some NaN
NONFINITE = 7


@dataclass(frozen=True)
class Shipped:
    model: str
    baseline: Baseline
    path: Path


@pytest.fixture(scope="module")
def shipped(
    es: Elasticsearch, es_config: ESConfig, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shipped]:
    """A model with a baseline from 6,000 training rows and three served hours."""
    model = f"t_{uuid.uuid4().hex[:10]}"
    rng = np.random.default_rng(7)
    baseline = build_baseline(
        ad.frame(rng, 6000),
        model=model,
        version="1",
        prediction_columns=["score"],
        text=ad.TEXT_FEATURES,
        trained_at=ad.TRAINED_AT,
    )
    path = save_baseline(baseline, tmp_path_factory.mktemp("baseline") / "b.json")
    ad.install(es, es_config, baseline)
    docs = ad.documents(ad.frame(rng, 3000), baseline, PREVIOUS.start, PREVIOUS.end, rng)
    docs += ad.documents(
        ad.frame(rng, 3000, shifted=True), baseline, CURRENT.start, CURRENT.end, rng
    )
    late = ad.documents(
        ad.frame(rng, 1200), baseline, CHECKS.start, CHECKS.end, rng, latency_ms=60.0
    )
    for i, d in enumerate(late):
        if i % 2:
            d["model"]["version"] = "2"
        if i < NONFINITE:  # NaN prediction: stored as null and flagged, as the shipper does
            d["prediction"] = {}
            d["monitor"]["nonfinite"] = 1
    ad.ship(es, docs + late)
    try:
        yield Shipped(model, baseline, path)
    finally:
        ad.cleanup(es, model)


def _run(es: Elasticsearch, cfg: ESConfig, s: Shipped, window: Window, **kw: object) -> job.Report:
    config = job.AnalyzeConfig(model=s.model, window=window, baseline_path=str(s.path), **kw)  # type: ignore[arg-type]
    return job.run(es, cfg, config)


class TestShifts:
    def test_skew_flags_exactly_the_shifted_features(
        self, es: Elasticsearch, es_config: ESConfig, shipped: Shipped
    ) -> None:
        """Against the baseline: the six shifted features drift, nothing else does."""
        report = _run(es, es_config, shipped, CURRENT, store=False)
        assert set(report.drifted_features) == set(ad.SHIFTED)
        assert report.drifted_predictions == []
        assert report.exit_code == 1 and report.documents == 3000

    def test_drift_against_the_previous_window(
        self, es: Elasticsearch, es_config: ESConfig, shipped: Shipped
    ) -> None:
        """Against the hour before: the same six features drift."""
        report = _run(es, es_config, shipped, CURRENT, reference="previous", store=False)
        assert set(report.drifted_features) == set(ad.SHIFTED)
        assert report.reference.kind == "previous" and report.reference.window == PREVIOUS
        assert report.reference.documents == 3000

    def test_explicit_range_reference(
        self, es: Elasticsearch, es_config: ESConfig, shipped: Shipped
    ) -> None:
        """An explicit START..END reference is used and reported as a range."""
        ref = f"{PREVIOUS.start.isoformat()}..{PREVIOUS.end.isoformat()}"
        report = _run(es, es_config, shipped, CURRENT, reference=ref, store=False)
        assert set(report.drifted_features) == set(ad.SHIFTED)
        assert report.to_dict()["reference"]["kind"] == "range"

    def test_unshifted_rows_flag_nothing(
        self, es: Elasticsearch, es_config: ESConfig, shipped: Shipped
    ) -> None:
        """The hour without shifts flags no feature and no prediction drift (exit code 0)."""
        report = _run(es, es_config, shipped, PREVIOUS, store=False)
        assert report.drifted_features == [] and report.drifted_predictions == []
        assert report.exit_code == 0

    def test_vanished_feature_is_reported_as_such(
        self, es: Elasticsearch, es_config: ESConfig, shipped: Shipped
    ) -> None:
        """An all-missing feature: insufficient data for distributions, missing rate drifts."""
        report = _run(es, es_config, shipped, CURRENT, store=False)
        gone = next(f for f in report.comparison.features if f.feature == "num_gone")
        assert gone.n_current == 0 and "insufficient data" in gone.note
        assert [t.name for t in gone.tests if t.drifted] == ["missing_rate"]
        assert gone.rates["missing_current"] == 1.0

    def test_composite_paging_gives_the_same_counts(
        self,
        es: Elasticsearch,
        es_config: ESConfig,
        shipped: Shipped,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Forcing terms to be incomplete, composite paging reproduces the exact counts."""
        exact = _run(es, es_config, shipped, CURRENT, store=False)
        monkeypatch.setattr(queries, "TERMS_CAP", 2)
        monkeypatch.setattr(queries, "COMPOSITE_PAGE", 2)
        paged = _run(es, es_config, shipped, CURRENT, store=False)
        for name in ("cat_new", "cat_mass"):
            a = next(f for f in exact.comparison.features if f.feature == name)
            b = next(f for f in paged.comparison.features if f.feature == name)
            assert a.distribution == b.distribution and a.unseen_top == b.unseen_top
        assert paged.drifted_features == exact.drifted_features


class TestChecks:
    def test_trend_versions_nonfinite_latency_staleness(
        self, es: Elasticsearch, es_config: ESConfig, shipped: Shipped
    ) -> None:
        """Per-bucket statistics, the version split, NaN predictions, slower latency, age."""
        report = _run(es, es_config, shipped, CHECKS, max_age=dt.timedelta(days=30), store=False)
        assert sum(b.count for b in report.trend) == 1200 - NONFINITE
        assert report.trend_interval == "2m" and len(report.trend) == 30
        assert {g.version: g.count for g in report.versions} == {"1": 600, "2": 600}
        assert [t.name for t in report.version_tests] == ["anova", "kruskal"]
        assert not any(t.drifted for t in report.version_tests)
        assert report.nonfinite is not None and report.nonfinite.predictions == NONFINITE
        assert report.latency is not None and report.latency.regressed
        # the verdict's evidence: latencies counted above the previous p95 by the node
        assert report.latency.above and report.latency.p_value is not None
        assert report.latency.p_value < report.latency.alpha
        assert report.staleness is not None and report.staleness.stale
        assert report.staleness.source == "predictions"
        assert report.drifted_features == []
        findings = " ".join(report.findings)
        assert "non-finite" in findings and "latency" in findings and "stale" in findings

    def test_empty_window_is_not_an_error(
        self, es: Elasticsearch, es_config: ESConfig, shipped: Shipped
    ) -> None:
        """A window without predictions: insufficient data everywhere, exit code 0."""
        report = _run(es, es_config, shipped, Window(H0 - 5 * HOUR, H0 - 4 * HOUR), store=False)
        assert report.documents == 0 and report.exit_code == 0
        assert {f.status for f in report.comparison.features} == {"insufficient data"}
        assert any("no predictions in the window" in n for n in report.notes)


class TestStorage:
    def test_results_are_stored(
        self, es: Elasticsearch, es_config: ESConfig, shipped: Shipped
    ) -> None:
        """One document per (feature, test), per feature, metrics and a run summary."""
        report = _run(es, es_config, shipped, CURRENT)
        index = schema.index_name("drift", shipped.model)
        found = es.search(index=index, size=1000, query={"term": {"run_id": report.run_id}})
        docs = [h["_source"] for h in found.body["hits"]["hits"]]
        kinds = [d["record_type"] for d in docs]
        n_tests = sum(
            len(f.tests) for f in (*report.comparison.features, *report.comparison.predictions)
        )
        assert kinds.count("test") == n_tests + len(report.version_tests)
        assert kinds.count("feature") == len(report.comparison.features) + 1
        (summary,) = [d for d in docs if d["record_type"] == "summary"]
        assert set(summary["drifted_features"]) == set(ad.SHIFTED)
        assert summary["drifted_flag"] == 1 and summary["drifted_count"] == 6
        flagged = es.search(
            index=index,
            size=0,
            query={
                "bool": {
                    "filter": [
                        {"term": {"run_id": report.run_id}},
                        {"term": {"record_type": "feature"}},
                        {"term": {"drifted_flag": 1}},
                    ]
                }
            },
        )
        assert flagged.body["hits"]["total"]["value"] == 6
        mapping = es.indices.get_mapping(index=index).body[index]["mappings"]
        assert mapping["properties"]["drifted_flag"]["type"] == "byte"


class TestCli:
    def test_json_table_and_html(
        self, es_config: ESConfig, shipped: Shipped, tmp_path: Path
    ) -> None:
        """JSON on stdout (exit 1 for drift), the table, and a self-contained HTML file."""
        env = {"PREDWATCH_ES_URL": es_config.url}
        common = [
            "--model",
            shipped.model,
            "--start",
            CURRENT.start.isoformat(),
            "--end",
            CURRENT.end.isoformat(),
            "--baseline",
            str(shipped.path),
            "--no-store",
        ]
        runner = CliRunner()
        res = runner.invoke(analyze, [*common, "--json"], env=env)
        assert res.exit_code == 1, res.output
        data = json.loads(res.stdout)
        assert set(data["summary"]["drifted_features"]) == set(ad.SHIFTED)
        assert data["window"] == CURRENT.to_dict()
        res = runner.invoke(analyze, common, env=env)
        assert res.exit_code == 1 and "DRIFT" in res.output and "FINDINGS (6)" in res.output
        out = tmp_path / "report.html"
        res = runner.invoke(analyze, [*common, "--format", "html", "--output", str(out)], env=env)
        html = out.read_text()
        assert res.exit_code == 1 and html.count("<svg") >= 7 and "<script" not in html

    def test_unshifted_window_exits_0(self, es_config: ESConfig, shipped: Shipped) -> None:
        """No drift: exit code 0."""
        res = CliRunner().invoke(
            analyze,
            [
                "--model",
                shipped.model,
                "--start",
                PREVIOUS.start.isoformat(),
                "--window",
                "1h",
                "--baseline",
                str(shipped.path),
                "--no-store",
            ],
            env={"PREDWATCH_ES_URL": es_config.url},
        )
        assert res.exit_code == 0, res.output

    def test_baseline_from_the_store(
        self, es: Elasticsearch, es_config: ESConfig, shipped: Shipped
    ) -> None:
        """Without --baseline the newest baseline stored for the model is used."""
        from predwatch.baseline_store import upload_baseline

        upload_baseline(es, es_config, shipped.baseline)
        try:
            report = job.run(
                es, es_config, job.AnalyzeConfig(model=shipped.model, window=CURRENT, store=False)
            )
            assert set(report.drifted_features) == set(ad.SHIFTED)
        finally:
            es.options(ignore_status=404).delete(
                index="predwatch-baselines", id=shipped.baseline.id, refresh=True
            )
