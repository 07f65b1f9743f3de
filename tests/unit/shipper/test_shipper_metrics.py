"""Unit tests of the Prometheus metrics: the worker's per-version counts, the collector over
a real HTTP endpoint (scraped with requests, parsed with prometheus_client's parser), and
the errors a user can hit."""

from __future__ import annotations

import dataclasses
import os
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
from predwatch.shipper._documents import OUTCOME, PREDICTION, DocBuilder
from predwatch.shipper._metric_families import le_text
from predwatch.shipper._model_stats import (
    DEFAULT_SCORE_BUCKETS,
    LATENCY_BUCKETS_MS,
    Limits,
    ModelStats,
    Observation,
    limits_for,
    score_buckets,
)
from tests.helpers.shipper_fakes import FakeSink, make_baseline


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


def _score_baseline() -> Any:
    """The fakes' baseline with a prediction value profile: training scores at the edges
    0.2, 0.5, 0.8 (counts 1, 2, 3, 4 in the four bins)."""
    from predwatch.baseline import NumericProfile

    b = make_baseline()
    value = NumericProfile((0.2, 0.5, 0.8), (1.0, 2.0, 3.0, 4.0), 0.6, 0.05, 0.0, 1.0, 10)
    return dataclasses.replace(b, prediction=dataclasses.replace(b.prediction, value=value))


def _obs(version: str = "1", **kw: Any) -> Observation:
    monitor = kw.get("monitor")
    return (version, kw.get("ms"), kw.get("value"), kw.get("label"), monitor)


class TestCounts:
    def test_observation_of_a_document(self) -> None:
        """An observation reads the version, latency, value, label and monitor of a document."""
        builder = DocBuilder(model="credit", model_version="1.0")
        builder.observed = []
        builder.encode((PREDICTION, "a", 0.0, None, {}, 0.7, 12.5, None))
        builder.encode((PREDICTION, "b", 0.0, None, {}, "yes", float("nan"), {"model_version": 2}))
        builder.encode((OUTCOME, "a", 0.0, None, None, 1, None, None))
        builder.encode((PREDICTION, "c", 0.0, None, {}, float("inf"), "slow", None))
        assert [o[:4] for o in builder.observed] == [
            ("1.0", 12.5, 0.7, None),
            ("2", None, None, "yes"),
            ("1.0", None, None, None),
        ]

    def test_buckets_are_upper_bounds(self) -> None:
        """A latency or score equal to a bucket's bound falls in that bucket (Prometheus `le`)."""
        stats = ModelStats(Limits(score_bounds=(0.5, 1.0)))
        stats.add([_obs(ms=1.0), _obs(ms=1.1), _obs(ms=1e9), _obs(value=0.5), _obs(value=2.0)])
        vs = stats.snapshot()["1"]
        assert vs.count == 5 and vs.latency.count == 3 and vs.score.count == 2
        assert vs.latency.buckets[0] == 1 and vs.latency.buckets[1] == 1
        assert vs.latency.buckets[-1] == 1
        assert len(vs.latency.buckets) == len(LATENCY_BUCKETS_MS) + 1
        assert vs.score.buckets == [1, 0, 1] and vs.score.sum == 2.5

    def test_versions_are_capped(self) -> None:
        """Past max_versions distinct versions, the rest count as version "_other"."""
        stats = ModelStats(Limits(max_versions=2))
        stats.add([_obs(v) for v in ("a", "b", "c", "d", "a", "c")])
        assert {v: s.count for v, s in stats.snapshot().items()} == {
            "a": 2,
            "b": 1,
            "_other": 3,
        }

    def test_labels_are_capped(self) -> None:
        """Labels outside the baseline's classes count as "_other"; without classes the
        first max_labels labels are kept."""
        with_classes = ModelStats(Limits(classes=("0", "1")))
        with_classes.add([_obs(label=x) for x in ("0", "1", "1", "maybe", "2")])
        assert with_classes.snapshot()["1"].labels == {"0": 1, "1": 2, "_other": 2}
        free = ModelStats(Limits(max_labels=2))
        free.add([_obs(label=x) for x in ("x", "y", "z", "x", "w")])
        assert free.snapshot()["1"].labels == {"x": 2, "y": 1, "_other": 2}

    def test_feature_flags(self) -> None:
        """Missing counts for every exported feature, OOV only for categorical ones,
        out-of-range only for numeric ones; other features are not counted."""
        limits = limits_for(make_baseline(), ["age", "marital_status"], 50, 10, 50)
        assert [f.name for f in limits.features] == ["age", "marital_status"]
        stats = ModelStats(limits)
        monitor = {
            "missing": {"age": 0, "marital_status": 1, "comment": 1},
            "oov": {"marital_status": 1},
            "out_of_range": {"age": 1},
        }
        stats.add([_obs(monitor=monitor), _obs(monitor={"missing": {"age": 1}})])
        vs = stats.snapshot()["1"]
        assert vs.missing == [1, 1] and vs.oov == [0, 1] and vs.out_of_range == [1, 0]

    def test_limits_from_the_baseline(self) -> None:
        """Score buckets are the baseline's quantile edges; max_features keeps the first
        features in baseline order; without a prediction profile the buckets are tenths."""
        limits = limits_for(_score_baseline(), None, 2, 10, 50)
        assert limits.score_bounds == (0.2, 0.5, 0.8)
        assert [f.name for f in limits.features] == ["age", "marital_status"]
        assert limits.classes == ("0", "1")
        assert limits_for(None, None, 50, 10, 50).score_bounds == DEFAULT_SCORE_BUCKETS

    def test_score_buckets_thinned_to_ventiles(self) -> None:
        """100 quantile bins become the 19 edges nearest each 5% of the training
        predictions, with their exact training shares; few bins are kept as they are."""
        edges = tuple(i / 100 for i in range(1, 100))
        bounds, shares = score_buckets(edges, [1.0] * 100) or ((), ())
        assert bounds == tuple(k / 20 for k in range(1, 20))
        assert shares == pytest.approx([k / 20 for k in range(1, 20)])
        assert score_buckets((0.3, 0.6), (1.0, 1.0, 2.0)) == ((0.3, 0.6), (0.25, 0.5))
        assert score_buckets((), (3.0,)) is None

    def test_le_text_matches_prometheus_client(self) -> None:
        """Bucket bounds print as prometheus-client prints them, so both writers agree."""
        from prometheus_client.utils import floatToGoString

        for b in (0.1, 0.5, 1.0, 2.5, 10.0, 1e7, 123456789.5, 1e-7, -3.0, float("inf")):
            assert le_text(b) == floatToGoString(b)

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


class TestModelStatistics:
    @pytest.fixture(autouse=True)
    def _needs_prometheus_client(self) -> None:
        pytest.importorskip("prometheus_client")

    def test_exact_counts(self, sink: FakeSink, tmp_path: Path) -> None:
        """Score buckets, labels and per-feature missing/OOV/out-of-range/word counts equal
        what was sent, per version; the baseline's training shares come along."""
        sent = [
            (
                {"age": 30, "marital_status": "married", "comment": "Good service"},
                {"0": 0.9, "1": 0.1},
                None,
            ),
            (
                {"age": 95, "marital_status": "single", "comment": "awful service, zzz"},
                {"0": 0.4, "1": 0.6},
                None,
            ),
            ({"age": None, "marital_status": "divorced"}, {"0": 0.2, "1": 0.8}, None),
            ({"marital_status": None}, {"0": 0.5, "1": 0.5}, "4.0"),
            ({"age": 10, "marital_status": "widowed"}, {"0": 0.05, "1": 0.95}, "4.0"),
        ]
        with _shipper(sink, tmp_path, baseline=_score_baseline(), prometheus_port=0) as sh:
            assert sh.metrics_server is not None
            for inputs, scores, version in sent:
                sh.log_prediction(inputs, scores, model_version=version)
            assert sh.flush(10)
            m = _scrape(sh.metrics_server.url)
        base, v4 = _key(), _key("4.0")
        # value = the positive class's score: 0.1, 0.6, 0.8 (3.1.0); 0.5, 0.95 (4.0)
        buckets = m["predwatch_prediction_score_bucket"]
        assert [buckets[_key(le=le)] for le in ("0.2", "0.5", "0.8", "+Inf")] == [1, 1, 3, 3]
        assert [buckets[_key("4.0", le=le)] for le in ("0.2", "0.5", "0.8", "+Inf")] == [
            0,
            1,
            1,
            2,
        ]
        assert m["predwatch_prediction_score_count"][base] == 3
        assert m["predwatch_prediction_score_sum"][v4] == pytest.approx(1.45)
        labels = m["predwatch_prediction_labels_total"]
        assert labels[_key(label="0")] == 1 and labels[_key(label="1")] == 2
        # a tie goes to the last class; a class never predicted is there with 0
        assert labels[_key("4.0", label="1")] == 2 and labels[_key("4.0", label="0")] == 0
        missing = m["predwatch_feature_missing_total"]
        oov = m["predwatch_feature_oov_total"]
        out_of_range = m["predwatch_feature_out_of_range_total"]
        assert missing[_key(feature="age")] == 1 and missing[_key("4.0", feature="age")] == 1
        assert missing[_key("4.0", feature="marital_status")] == 1
        assert missing[_key(feature="comment")] == 1
        assert m["predwatch_feature_text_tokens_total"][_key(feature="comment")] == 5
        assert m["predwatch_feature_text_oov_tokens_total"][_key(feature="comment")] == 2
        assert oov[_key(feature="marital_status")] == 1
        assert oov[_key("4.0", feature="marital_status")] == 1
        assert out_of_range[_key(feature="age")] == 1
        assert out_of_range[_key("4.0", feature="age")] == 1
        assert _key(feature="age") not in oov and _key(feature="comment") not in out_of_range
        ratio = m["predwatch_baseline_score_ratio"]
        assert [ratio[_key(le=le)] for le in ("0.2", "0.5", "0.8", "+Inf")] == [
            0.1,
            0.3,
            0.6,
            1.0,
        ]

    def test_exported_features_setting(self, sink: FakeSink, tmp_path: Path) -> None:
        """prometheus_features limits the per-feature series; an unknown name is refused."""
        with _shipper(
            sink, tmp_path, baseline=make_baseline(), prometheus_port=0, prometheus_features=["age"]
        ) as sh:
            assert sh.metrics_server is not None
            sh.log_prediction({"marital_status": "x"}, 0.5)
            assert sh.flush(10)
            m = _scrape(sh.metrics_server.url)
        assert set(m["predwatch_feature_missing_total"]) == {_key(feature="age")}
        assert "predwatch_feature_oov_total" not in m
        with pytest.raises(ConfigError, match="'income'"):
            _shipper(sink, tmp_path, baseline=make_baseline(), prometheus_features=["income"])
        with pytest.raises(ConfigError, match="prometheus_max_versions"):
            _shipper(sink, tmp_path, prometheus_max_versions=0)


MULTIPROCESS_SCRIPT = """
import os, sys
from prometheus_client import generate_latest
from predwatch.shipper import Shipper, prometheus
from predwatch.testing import MemorySink

sh = Shipper("credit", "3.1.0", sink=MemorySink, spool_dir=sys.argv[1], deployment=False,
             flush_interval=0.05, handle_sigterm=False)
children = []
for n in (3, 4):
    pid = os.fork()
    if pid == 0:
        for i in range(n):
            sh.log_prediction({"a": i}, 0.5, latency_ms=2.0)
        ok = sh.close(10)
        os._exit(0 if ok else 3)
    children.append(pid)
for pid in children:
    assert os.waitpid(pid, 0)[1] == 0
sys.stdout.write(generate_latest(prometheus.multiprocess_registry()).decode())
"""


class TestMultiprocess:
    @pytest.fixture(autouse=True)
    def _needs_prometheus_client(self) -> None:
        pytest.importorskip("prometheus_client")

    def _run(self, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", MULTIPROCESS_SCRIPT, str(tmp_path / "spool")],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )

    def test_forked_workers_summed(self, tmp_path: Path) -> None:
        """Two forked workers write their own files; the merged scrape sums their counters,
        and the live gauges of the exited workers are gone."""
        from prometheus_client.parser import text_string_to_metric_families

        mp = tmp_path / "mp"
        mp.mkdir()
        proc = self._run(tmp_path, {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(mp)})
        assert proc.returncode == 0, proc.stderr[-2000:]
        m: dict[str, Any] = {}
        for family in text_string_to_metric_families(proc.stdout):
            for sample in family.samples:
                m.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
        assert m["predwatch_predictions_total"][_key()] == 7
        assert m["predwatch_shipper_acked_total"][_key()] == 7
        assert m["predwatch_prediction_latency_ms_bucket"][_key(le="2.5")] == 7
        assert m["predwatch_prediction_latency_ms_count"][_key()] == 7
        assert "predwatch_shipper_queue_depth" not in m  # both writers are dead
        assert len(list(mp.glob("counter_*.db"))) == 2

    def test_needs_the_variable_before_import(self, tmp_path: Path) -> None:
        """prometheus_multiprocess=True without PROMETHEUS_MULTIPROC_DIR says what to set."""
        with pytest.raises(ConfigError, match="PROMETHEUS_MULTIPROC_DIR"):
            _shipper(FakeSink(), tmp_path, prometheus_multiprocess=True)

    def test_variable_set_after_import(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A variable set after prometheus_client was imported cannot work: a clear error."""
        import prometheus_client  # noqa: F401  (imported here without the variable)

        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
        with pytest.raises(ConfigError, match="imported before"):
            _shipper(FakeSink(), tmp_path)


class TestReference:
    def test_docs_table_names_every_metric(self, sink: FakeSink, tmp_path: Path) -> None:
        """docs/prometheus.md's reference table lists exactly the exported metrics, with
        their types."""
        import re

        from predwatch.shipper._metric_families import families

        doc = (Path(__file__).parents[3] / "docs" / "prometheus.md").read_text()
        table = doc.split("## Metric reference", 1)[1].split("\n## ", 1)[0]
        rows = re.findall(r"^\| `(predwatch_\w+)` \| (\w+) \|", table, re.M)
        documented = {name.removesuffix("_total"): kind for name, kind in rows}
        with _shipper(sink, tmp_path, baseline=_score_baseline()) as sh:
            exported = {f.name: f.kind for f in families([sh])}
        assert documented == exported


class TestMultiprocessEndpoint:
    @pytest.fixture(autouse=True)
    def _needs_prometheus_client(self) -> None:
        pytest.importorskip("prometheus_client")

    def test_directory_errors(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without the variable, or with a directory that does not exist, the merged
        endpoint refuses with what to set; a bad port is refused up front."""
        from predwatch.shipper import prometheus

        monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
        with pytest.raises(ConfigError, match="PROMETHEUS_MULTIPROC_DIR is not set"):
            prometheus.multiprocess_registry()
        with pytest.raises(ConfigError, match="not a directory"):
            prometheus.multiprocess_registry(tmp_path / "absent")
        with pytest.raises(ConfigError, match=r"0\.\.65535"):
            prometheus.serve_multiprocess(70000, path=tmp_path)

    def test_dead_processes_leave_live_gauges_only(self, tmp_path: Path) -> None:
        """mark_dead_processes removes the live-gauge files of pids that no longer run and
        keeps counters, other gauge modes and the files of running processes."""
        from predwatch.shipper import prometheus

        dead = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        )
        gone, alive = int(dead.stdout), os.getpid()
        names = [
            f"gauge_livesum_{gone}.db",
            f"gauge_livemax_{gone}.db",
            f"counter_{gone}.db",
            f"gauge_max_{gone}.db",
            f"gauge_livesum_{alive}.db",
        ]
        for name in names:
            (tmp_path / name).write_bytes(b"")
        assert prometheus.mark_dead_processes(tmp_path) == [gone]
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])
