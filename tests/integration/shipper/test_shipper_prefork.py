"""A real pre-fork server: gunicorn (3 sync workers, --preload, --max-requests) serving a tiny
WSGI app that logs each request's prediction through the shipper to the real node, and one
/metrics (Prometheus multiprocess mode) scraped for real: served by the master with the
child_exit hook, or by the app itself without hooks (as under uvicorn)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from elasticsearch import Elasticsearch

from predwatch.baseline import Baseline, save_baseline
from predwatch.config import ESConfig
from predwatch.shipper._model_stats import MAX_SCORE_BUCKETS, score_buckets
from tests.helpers.shipper_es import landed_ids

pytestmark = pytest.mark.slow

APP = """
import os
from urllib.parse import parse_qs

from predwatch.shipper import Shipper

shipper = Shipper(os.environ["T_MODEL"], "1.0", baseline=os.environ["T_BASELINE"],
                  spool_dir=os.environ["T_SPOOL"], flush_interval=0.1)
metrics_app = None
if os.environ.get("T_APP_METRICS"):
    from prometheus_client import make_wsgi_app
    from predwatch.shipper import prometheus

    metrics_app = make_wsgi_app(prometheus.multiprocess_registry())


def app(environ, start_response):
    if metrics_app is not None and environ.get("PATH_INFO") == "/metrics":
        return metrics_app(environ, start_response)
    q = parse_qs(environ.get("QUERY_STRING", ""))
    i = int(q["i"][0])
    inputs = {"status": q["status"][0]}
    if "age" in q:
        inputs["age"] = float(q["age"][0])
    shipper.log_prediction(inputs, float(q["score"][0]), prediction_id=f"p{i}", latency_ms=3.0)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]
"""

CONF = """
bind = "127.0.0.1:{app_port}"
workers = 3
worker_class = "sync"
preload_app = True
max_requests = {max_requests}
graceful_timeout = 20
"""
MASTER_HOOKS = """
from predwatch.shipper import prometheus


def when_ready(server):
    prometheus.serve_multiprocess({metrics_port})


child_exit = prometheus.child_exit
"""

MAX_REQUESTS = 40
STATUSES = ("a", "b", "c", "zz")  # "zz" is not in the training vocabulary


def _request(i: int) -> dict[str, str]:
    """The query of request `i`: a score in tenths, an age that is sometimes missing or
    outside the training range 20..60, a status that is sometimes unseen."""
    q = {"i": str(i), "score": str((i % 10) / 10 + 0.05), "status": STATUSES[i % 4]}
    if i % 7:
        q["age"] = str(10 + i % 60)
    return q


def _baseline(model: str) -> Baseline:
    import pandas as pd

    from predwatch.analyzers.profile import build_baseline

    n = 400
    frame = pd.DataFrame(
        {
            "age": [20.0 + (i * 7) % 41 for i in range(n)],
            "status": [STATUSES[i % 3] for i in range(n)],
            "score": [((i * 13) % 100) / 100 for i in range(n)],
        }
    )
    return build_baseline(
        frame, model=model, version="1.0", prediction_columns=["score"], categorical=["status"]
    )


def _free_port() -> int:
    from predwatch import devnode

    return devnode.free_port()


def _scrape(url: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    from prometheus_client.parser import text_string_to_metric_families

    resp = requests.get(url, timeout=10)
    resp.raise_for_status()
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def _total(m: dict[str, Any], name: str, **labels: str) -> float:
    return sum(
        v for k, v in m.get(name, {}).items() if all(dict(k).get(a) == b for a, b in labels.items())
    )


class Server:
    """A gunicorn this test started (stopped by its pid)."""

    def __init__(self, tmp: Path, env: dict[str, str], served_by: str) -> None:
        self.app_port, self.metrics_port = _free_port(), _free_port()
        (tmp / "app.py").write_text(APP)
        conf = CONF + (MASTER_HOOKS if served_by == "master" else "")
        conf = conf.format(
            app_port=self.app_port, metrics_port=self.metrics_port, max_requests=MAX_REQUESTS
        )
        (tmp / "gunicorn.conf.py").write_text(textwrap.dedent(conf))
        if served_by == "app":
            env = {**env, "T_APP_METRICS": "1"}
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.log = (tmp / "gunicorn.log").open("wb")
        self.proc = subprocess.Popen(
            [str(gunicorn), "-c", "gunicorn.conf.py", "app:app"],
            cwd=tmp,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.app_port}/"
        self.metrics_url = (
            f"http://127.0.0.1:{self.metrics_port}/metrics"
            if served_by == "master"
            else f"{self.url}metrics"
        )
        self._wait_up()

    def _wait_up(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"gunicorn exited: {self.output()}")
            try:
                requests.get(self.metrics_url, timeout=2)
                return
            except requests.ConnectionError:
                time.sleep(0.2)
        raise AssertionError(f"gunicorn did not come up: {self.output()}")

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-3000:]

    def get(self, i: int) -> int:
        """Send request `i`; the pid of the worker that answered."""
        for _ in range(50):  # a worker being recycled may refuse one connection
            try:
                resp = requests.get(self.url, params=_request(i), timeout=30)
                resp.raise_for_status()
                return int(resp.text)
            except requests.ConnectionError:
                time.sleep(0.1)
        raise AssertionError(f"request {i} failed: {self.output()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def _expected(n: int, edges: tuple[float, ...]) -> dict[str, Any]:
    """What the metrics must say after requests 0..n-1."""
    qs = [_request(i) for i in range(n)]
    scores = [float(q["score"]) for q in qs]
    ages = [float(q["age"]) for q in qs if "age" in q]
    cumulative = [sum(1 for s in scores if s <= e) for e in edges]
    return {
        "score_buckets": [*cumulative, n],
        "missing_age": sum(1 for q in qs if "age" not in q),
        "out_of_range_age": sum(1 for a in ages if not 20 <= a <= 60),
        "oov_status": sum(1 for q in qs if q["status"] == "zz"),
    }


@pytest.fixture(params=["master", "app"])
def server(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    es_config: ESConfig,
    es: Elasticsearch,
    model: str,
) -> Iterator[Server]:
    """gunicorn with /metrics served by the master (`serve_multiprocess` in when_ready,
    `child_exit` hook) or by the app (`multiprocess_registry`, no hooks)."""
    pytest.importorskip("prometheus_client")
    if shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("gunicorn is not installed (pip install -e '.[dev]')")
    mp = tmp_path / "multiproc"
    mp.mkdir()
    baseline = tmp_path / "baseline.json"
    save_baseline(_baseline(model), baseline)
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(mp),
        "PREDWATCH_ES_URL": es_config.url,
        "T_MODEL": model,
        "T_BASELINE": str(baseline),
        "T_SPOOL": str(tmp_path / "spool"),
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
    }
    srv = Server(tmp_path, env, request.param)
    srv.mp = mp  # type: ignore[attr-defined]
    try:
        yield srv
    finally:
        srv.stop()


def _settled(srv: Server, model: str, n: int) -> dict[str, Any]:
    """Scrape until every worker has exported its counts of the n requests (each writes
    at most once a second), then return that scrape."""
    deadline = time.monotonic() + 90
    m = _scrape(srv.metrics_url)
    while time.monotonic() < deadline:
        if (
            _total(m, "predwatch_predictions_total", model=model) == n
            and _total(m, "predwatch_shipper_acked_total", model=model) == n
        ):
            return m
        time.sleep(0.5)
        m = _scrape(srv.metrics_url)
    return m


def _check(m: dict[str, Any], model: str, n: int, edges: tuple[float, ...]) -> None:
    exp = _expected(n, edges)
    assert _total(m, "predwatch_predictions_total", model=model) == n
    assert _total(m, "predwatch_shipper_acked_total", model=model) == n
    assert _total(m, "predwatch_shipper_enqueued_total", model=model) == n
    assert _total(m, "predwatch_shipper_dropped_total", model=model) == 0
    assert _total(m, "predwatch_prediction_latency_ms_count", model=model) == n
    from prometheus_client.utils import floatToGoString

    les = [*(floatToGoString(e) for e in edges), "+Inf"]
    got = [_total(m, "predwatch_prediction_score_bucket", model=model, le=le) for le in les]
    assert got == exp["score_buckets"]
    feature = "predwatch_feature_{}_total"
    assert _total(m, feature.format("missing"), feature="age") == exp["missing_age"]
    assert _total(m, feature.format("out_of_range"), feature="age") == exp["out_of_range_age"]
    assert _total(m, feature.format("oov"), feature="status") == exp["oov_status"]


class TestGunicornMultiprocess:
    def test_counts_summed_over_workers_and_recycles(
        self, server: Server, es: Elasticsearch, model: str
    ) -> None:
        """One scrape sums every worker: counts, score buckets and feature counts equal
        what was sent, before and after workers are recycled, and the recycled workers'
        live gauges are gone (by the hook, or at the scrape without one)."""
        baseline = _baseline(model)
        assert baseline.prediction is not None and baseline.prediction.value is not None
        profile = baseline.prediction.value
        thinned = score_buckets(profile.edges, profile.counts)
        assert thinned is not None and len(thinned[0]) == MAX_SCORE_BUCKETS - 1 < len(profile.edges)
        edges = thinned[0]

        first = 30  # fewer than max_requests: no worker is recycled yet
        pids = {server.get(i) for i in range(first)}
        m = _settled(server, model, first)
        _check(m, model, first, edges)
        assert len(landed_ids(es, model)) == first

        # 3 workers serve at most 3 * MAX_REQUESTS requests between them before one recycles.
        total = 3 * MAX_REQUESTS + 20
        pids |= {server.get(i) for i in range(first, total)}
        assert len(pids) > 3, "no worker was recycled"
        m = _settled(server, model, total)
        _check(m, model, total, edges)
        assert sorted(landed_ids(es, model)) == sorted(f"p{i}" for i in range(total))
        # Every live gauge file belongs to a running worker: child_exit removed the others
        # (master), or the scrape did (app).
        for path in server.mp.glob("gauge_live*.db"):  # type: ignore[attr-defined]
            pid = int(path.stem.rsplit("_", 1)[1])
            os.kill(pid, 0)  # raises ProcessLookupError for a dead worker's file
