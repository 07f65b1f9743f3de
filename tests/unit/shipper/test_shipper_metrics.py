"""Unit tests of the Prometheus metrics: the worker's per-version counts, the collector over
a real HTTP endpoint (scraped with requests, parsed with prometheus_client's parser), and
the errors a user can hit."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import requests

from predwatch.errors import ConfigError
from predwatch.shipper import Shipper, ShipperCollector, serve_metrics
from predwatch.shipper._documents import OUTCOME, PREDICTION, observations
from predwatch.shipper._stats import LATENCY_BUCKETS_MS, PredictionCounts
from tests.helpers.shipper_fakes import FakeSink


def _shipper(sink: FakeSink, tmp_path: Path, **kw: Any) -> Shipper:
    return Shipper(
        "credit",
        "3.1.0",
        sink=lambda: sink,
        spool_dir=tmp_path / "spool",
        handle_sigterm=False,
        flush_interval=0.05,
        **kw,
    )


def _scrape(url: str) -> dict[str, Any]:
    """{sample name: {labels tuple: value}} of one scrape."""
    from prometheus_client.parser import text_string_to_metric_families

    resp = requests.get(url, timeout=5)
    assert resp.status_code == 200
    out: dict[str, Any] = {}
    for family in text_string_to_metric_families(resp.text):
        for sample in family.samples:
            key = tuple(sorted(sample.labels.items()))
            out.setdefault(sample.name, {})[key] = sample.value
    return out


def _key(version: str = "3.1.0", **labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({"model": "credit", "version": version, **labels}.items()))


def _rec(kind: int, version: str | None, ms: Any) -> Any:
    extra = {"model_version": version} if version else None
    return (kind, "id", 0.0, None, {}, 0.5, ms, extra)


class TestCounts:
    def test_observations(self) -> None:
        """Versions come from the record (else the shipper's); odd latencies are not
        observed; outcomes are not predictions."""
        recs = [
            _rec(PREDICTION, None, 12.5),
            _rec(PREDICTION, "2.0", "7"),
            _rec(PREDICTION, None, float("nan")),
            _rec(PREDICTION, None, "slow"),
            _rec(OUTCOME, None, None),
        ]
        assert observations(recs, "1.0") == [
            ("1.0", 12.5),
            ("2.0", 7.0),
            ("1.0", None),
            ("1.0", None),
        ]

    def test_buckets_are_upper_bounds(self) -> None:
        """A latency equal to a bucket's bound falls in that bucket (Prometheus `le`)."""
        counts = PredictionCounts()
        counts.add([("1", 1.0), ("1", 1.1), ("1", 1e9), ("1", None)])
        vc = counts.snapshot()["1"]
        assert vc.count == 4 and vc.latency_count == 3
        assert vc.buckets[0] == 1 and vc.buckets[1] == 1 and vc.buckets[-1] == 1
        assert len(vc.buckets) == len(LATENCY_BUCKETS_MS) + 1

    def test_off_by_default(self, sink: FakeSink, tmp_path: Path) -> None:
        """Without a collector the worker counts nothing (no cost when metrics are off)."""
        with _shipper(sink, tmp_path) as sh:
            sh.log_prediction({"a": 1}, 0.5, latency_ms=3.0)
            assert sh.flush(10)
            assert sh._metrics is None and sh._worker is not None and sh._worker.metrics is None


class TestEndpoint:
    @pytest.fixture(autouse=True)
    def _needs_prometheus_client(self) -> None:
        pytest.importorskip("prometheus_client")

    def test_scrape(self, sink: FakeSink, tmp_path: Path) -> None:
        """Self-metrics and per-version prediction counters and latency histograms."""
        with _shipper(sink, tmp_path, prometheus_port=0) as sh:
            assert sh.metrics_server is not None
            for i in range(10):
                sh.log_prediction({"a": i}, 0.5, latency_ms=3.0 if i % 2 else 300.0)
            sh.log_prediction({"a": 1}, 0.5, latency_ms=40.0, model_version="3.2.0")
            sh.log_prediction({"a": 1}, 0.5)
            assert sh.flush(10)
            m = _scrape(sh.metrics_server.url)
        base = _key()
        assert m["predwatch_predictions_total"][base] == 11
        assert m["predwatch_predictions_total"][_key("3.2.0")] == 1
        assert m["predwatch_prediction_latency_ms_count"][base] == 10
        assert m["predwatch_prediction_latency_ms_sum"][base] == 5 * 3.0 + 5 * 300.0
        buckets = m["predwatch_prediction_latency_ms_bucket"]
        assert buckets[_key(le="5.0")] == 5 and buckets[_key(le="+Inf")] == 10
        assert buckets[_key(le="2.5")] == 0 and buckets[_key(le="500.0")] == 10
        assert m["predwatch_shipper_acked_total"][base] == 12
        assert m["predwatch_shipper_enqueued_total"][base] == 12
        assert m["predwatch_shipper_handler_errors_total"][base] == 0
        assert m["predwatch_shipper_dropped_total"][_key(reason="queue_full")] == 0
        assert m["predwatch_shipper_queue_depth"][base] == 0
        assert m["predwatch_shipper_state"][_key(state="ok")] == 1
        assert m["predwatch_shipper_state"][_key(state="backoff")] == 0

    def test_several_shippers_and_closing(self, sink: FakeSink, tmp_path: Path) -> None:
        """One endpoint serves several shippers; close() stops it."""
        a = _shipper(sink, tmp_path / "a")
        b = Shipper(
            "credit",
            "4.0",
            sink=lambda: sink,
            spool_dir=tmp_path / "b",
            handle_sigterm=False,
            flush_interval=0.05,
        )
        server = serve_metrics([a, b], 0)
        try:
            a.log_prediction({"a": 1}, 0.5)
            b.log_prediction({"a": 1}, 0.5)
            b.log_prediction({"a": 2}, 0.5)
            assert a.flush(10) and b.flush(10)
            m = _scrape(server.url)
            totals = m["predwatch_predictions_total"]
            assert totals[_key()] == 1 and totals[_key("4.0")] == 2
        finally:
            server.close()
            a.close()
            b.close()
        with pytest.raises(requests.ConnectionError):
            requests.get(server.url, timeout=2)

    def test_own_registry(self, sink: FakeSink, tmp_path: Path) -> None:
        """The collector also works on a registry the app already serves."""
        from prometheus_client import CollectorRegistry, generate_latest

        with _shipper(sink, tmp_path) as sh:
            registry = CollectorRegistry()
            registry.register(ShipperCollector(sh))  # type: ignore[arg-type]
            sh.log_prediction({"a": 1}, 0.5, latency_ms=1.0)
            assert sh.flush(10)
            text = generate_latest(registry).decode()
        assert 'predwatch_predictions_total{model="credit",version="3.1.0"} 1.0' in text

    def test_port_in_use(self, sink: FakeSink, tmp_path: Path) -> None:
        """A busy port is a clear ConfigError naming it."""
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            with pytest.raises(ConfigError, match=f"127.0.0.1:{port}"):
                _shipper(sink, tmp_path, prometheus_port=port)

    def test_bad_port(self, sink: FakeSink, tmp_path: Path) -> None:
        """A port outside 0..65535 is refused up front."""
        with pytest.raises(ConfigError, match=r"0\.\.65535"):
            _shipper(sink, tmp_path, prometheus_port=70000)

    def test_forked_child_leaves_the_parents_endpoint(self, tmp_path: Path) -> None:
        """A forked worker exits promptly (it never waits for the parent's serving thread)
        and the parent's endpoint keeps answering."""
        script = textwrap.dedent(
            """
            import os, sys, requests
            from predwatch.shipper import Shipper
            sh = Shipper("credit", "1", es_url="http://127.0.0.1:9", spool_dir=sys.argv[1],
                         prometheus_port=0, exit_timeout=0.5, deployment=False)
            pid = os.fork()
            if pid == 0:
                assert sh.metrics_server is None
                sh.log_prediction({"a": 1}, 0.5)
                sh.close(0.5)
                os._exit(0)
            assert os.waitpid(pid, 0)[1] == 0
            assert requests.get(sh.metrics_server.url, timeout=5).status_code == 200
            sh.close(0.5)
            """
        )
        proc = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path)], capture_output=True, timeout=60
        )
        assert proc.returncode == 0, proc.stderr.decode()[-2000:]


class TestWithoutPrometheusClient:
    def test_install_hint(
        self, sink: FakeSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without prometheus-client the error says which extra to install."""
        for name in [m for m in sys.modules if m.startswith("prometheus_client")]:
            monkeypatch.delitem(sys.modules, name)
        monkeypatch.setitem(sys.modules, "prometheus_client", None)
        with pytest.raises(ConfigError, match=r"predwatch\[prometheus\]"):
            _shipper(sink, tmp_path, prometheus_port=0)
