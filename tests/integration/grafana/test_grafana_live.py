"""The dashboard's and the Prometheus rules' metric names against a LIVE scrape: a real
Shipper, delivering to the real Elasticsearch, serving its Prometheus endpoint on 127.0.0.1,
after predictions that touch every series (missing, unseen and out-of-range inputs, labels,
scores, latencies)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from predwatch.alerts import prometheus_rules as pr
from predwatch.alerts.rules import default_rules
from predwatch.baseline import Baseline, load_baseline
from predwatch.config import ESConfig
from predwatch.grafana import contract, dashboard
from predwatch.grafana import metrics as m
from predwatch.grafana.promql import metric_names

pytest.importorskip("prometheus_client", reason="the endpoint needs predwatch[prometheus]")

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "tests" / "unit" / "alerts" / "demo.baseline.json"


@pytest.fixture
def baseline(model_name: str) -> Baseline:
    return dataclasses.replace(load_baseline(DEMO), model=model_name)


@pytest.fixture
def scrape(
    baseline: Baseline, es_config: ESConfig, tmp_path: Path
) -> Iterator[tuple[str, set[str]]]:
    """(exposition text, sample names) of a shipper that logged every kind of prediction."""
    from predwatch.shipper import Shipper

    sh = Shipper(
        model=baseline.model,
        model_version=baseline.version,
        baseline=baseline,
        es_config=es_config,
        spool_dir=tmp_path / "spool",
        handle_sigterm=False,
        prometheus_port=0,
    )
    try:
        rows = [
            {"age": 30, "income": 5e4, "country": "DE", "device": "ios", "comment": "fine"},
            {"age": None, "income": 1e9, "country": "ZZ-unseen", "device": "ios"},
            {"age": 500, "income": 1.0, "country": "FR", "device": "toaster", "comment": "x"},
        ]
        for i in range(30):
            label = "approve" if i % 3 else "reject"
            sh.log_prediction(
                rows[i % 3], {"value": (i % 10) / 10, "label": label}, latency_ms=5.0 + i
            )
        sh.log_prediction(rows[0], {"value": 0.5, "label": "approve"}, model_version="2.0")
        assert sh.flush(30), sh.stats().get("last_error")
        assert sh.metrics_server is not None
        resp = requests.get(sh.metrics_server.url, timeout=10)
        assert resp.status_code == 200
        yield resp.text, contract.sample_names(resp.text)
    finally:
        sh.close()


class TestLiveScrape:
    def test_dashboard_reads_exported_metrics(
        self, scrape: tuple[str, set[str]], baseline: Baseline
    ) -> None:
        """Every metric of every panel (with and without a baseline) is on the endpoint."""
        _, names = scrape
        for dash in (dashboard(baseline.model, baseline), dashboard(baseline.model)):
            assert contract.check(dash, names) == []

    def test_rules_read_exported_metrics(
        self, scrape: tuple[str, set[str]], baseline: Baseline
    ) -> None:
        """Every metric of every rendered Prometheus rule is on the endpoint."""
        _, names = scrape
        doc, _ = pr.rules_file(default_rules(baseline))
        used = {n for g in doc["groups"] for r in g["rules"] for n in metric_names(r["expr"])}
        assert used and used <= names, sorted(used - names)

    def test_catalogue_matches_the_endpoint(self, scrape: tuple[str, set[str]]) -> None:
        """The metric catalogue names nothing the endpoint lacks."""
        _, names = scrape
        assert m.sample_names() <= names, sorted(m.sample_names() - names)

    def test_state_codes_cover_the_endpoints_states(
        self, scrape: tuple[str, set[str]], model_name: str
    ) -> None:
        """The shipper-state panel maps exactly the states the endpoint reports."""
        from prometheus_client.parser import text_string_to_metric_families

        text, _ = scrape
        states = {
            s.labels["state"]
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == m.STATE and s.labels.get("model") == model_name
        }
        assert states == set(m.STATES)

    def test_series_carry_model_and_version(
        self, scrape: tuple[str, set[str]], model_name: str
    ) -> None:
        """The labels the queries filter on are on the series they read."""
        from prometheus_client.parser import text_string_to_metric_families

        text, _ = scrape
        versions = {
            s.labels.get("version")
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == m.PREDICTIONS and s.labels.get("model") == model_name
        }
        assert versions == {"1.0", "2.0"}


# A pre-fork worker: PROMETHEUS_MULTIPROC_DIR set before prometheus-client is imported.
WORKER = textwrap.dedent(
    """
    import dataclasses, sys
    from predwatch.baseline import load_baseline
    from predwatch.config import ESConfig
    from predwatch.shipper import Shipper

    b = dataclasses.replace(load_baseline(sys.argv[1]), model=sys.argv[2])
    sh = Shipper(model=b.model, model_version=b.version, baseline=b,
                 es_config=ESConfig.from_env(), spool_dir=sys.argv[3], handle_sigterm=False)
    for i in range(20):
        row = {"age": None if i % 4 == 0 else 30 + i, "income": 1e9 if i % 5 == 0 else 5e4,
               "country": "ZZ" if i % 3 == 0 else "DE", "device": "ios", "comment": "ok"}
        sh.log_prediction(row, {"value": (i % 10) / 10, "label": "approve"}, latency_ms=3.0)
    assert sh.flush(30), sh.stats().get("last_error")
    """
)


class TestLiveMultiprocessScrape:
    def test_dashboard_and_rules_on_the_multiprocess_endpoint(
        self, baseline: Baseline, es_config: ESConfig, tmp_path: Path
    ) -> None:
        """Pre-fork mode (one /metrics merged from the workers' files) exports every metric the
        dashboard and the rules read."""
        from prometheus_client import CollectorRegistry, generate_latest
        from prometheus_client.multiprocess import MultiProcessCollector

        mp = tmp_path / "mp"
        mp.mkdir()
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(mp), "PREDWATCH_ES_URL": es_config.url}
        for n in range(2):  # two workers, one after the other
            res = subprocess.run(
                [sys.executable, "-c", WORKER, str(DEMO), baseline.model, str(tmp_path / f"s{n}")],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert res.returncode == 0, res.stderr[-2000:]
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(mp))
        text = generate_latest(registry).decode()
        names = contract.sample_names(text)
        assert contract.check(dashboard(baseline.model, baseline), names) == []
        doc, _ = pr.rules_file(default_rules(baseline))
        used = {n for g in doc["groups"] for r in g["rules"] for n in metric_names(r["expr"])}
        assert used <= names, sorted(used - names)
        assert f'{m.PREDICTIONS}{{model="{baseline.model}",version="1.0"}} 40.0' in text
