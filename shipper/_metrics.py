"""Prometheus metrics of shippers: an optional endpoint (`pip install 'predwatch[prometheus]'`).

    shipper = Shipper(model="credit", model_version="3.1.0", prometheus_port=9464)
    server = serve_metrics([shipper_a, shipper_b], 9464)       # several shippers, one endpoint
    prometheus_client.REGISTRY.register(ShipperCollector(shipper))  # the app's own /metrics

Nothing runs on the caller's thread: once a collector exists, the worker counts each batch
of predictions (`_model_stats`, plain Python, one lock per batch), and `ShipperCollector`
reads those counts and `Shipper.stats()` only when Prometheus scrapes (the families are
in `_metric_families`; docs/prometheus.md has the table). prometheus-client is imported
lazily. Pre-fork servers (several processes, one /metrics): `_multiprocess`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from wsgiref.simple_server import WSGIServer

from predwatch.errors import ConfigError

from . import _metric_families as mf
from ._threads import signals_blocked

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import Collector

    from ._shipper import Shipper

MISSING = (
    "Prometheus metrics need the prometheus-client package: pip install 'predwatch[prometheus]'"
)


def _prometheus_core() -> Any:
    try:
        from prometheus_client import core
    except ImportError:
        raise ConfigError(MISSING) from None
    return core


class ShipperCollector:
    """A Prometheus collector over one or more shippers (read at scrape time).

    Creating it starts the per-version prediction counts of each shipper.
    """

    def __init__(self, shippers: Shipper | Iterable[Shipper]) -> None:
        _prometheus_core()  # fail here, with the install hint, rather than at scrape time
        from ._shipper import Shipper

        self.shippers = [shippers] if isinstance(shippers, Shipper) else list(shippers)
        for sh in self.shippers:
            sh._model_stats()

    def collect(self) -> Iterator[Metric]:
        core = _prometheus_core()
        for f in mf.families(self.shippers):
            yield _metric(core, f)


def _metric(core: Any, f: mf.Family) -> Metric:
    """One family in prometheus-client's form (histogram buckets made cumulative)."""
    m = core.Metric(f.name, f.help, f.kind)
    sample = f.name + "_total" if f.kind == "counter" else f.name
    for labels, value in f.samples:
        m.add_sample(sample, dict(labels), value)
    for h in f.histograms:
        series = dict(h.labels)
        count = 0.0
        for le, count in mf.cumulative_buckets(h):
            m.add_sample(f.name + "_bucket", {**series, "le": le}, count)
        m.add_sample(f.name + "_count", series, count)
        m.add_sample(f.name + "_sum", series, h.sum)
    return cast("Metric", m)


@dataclass
class MetricsServer:
    """A running metrics endpoint: `url`, `close()`."""

    server: WSGIServer
    thread: threading.Thread
    addr: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.addr}:{self.port}/metrics"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=2.0)

    def forget_after_fork(self) -> None:
        """In a forked child: release the inherited socket; never wait for the parent's
        serving thread (it does not exist here, shutdown() would wait forever)."""
        self.server.server_close()


def serve_metrics(
    shippers: Shipper | Iterable[Shipper], port: int, addr: str = "127.0.0.1"
) -> MetricsServer:
    """Serve the shippers' metrics at http://addr:port/metrics (port 0: a free port) from a
    daemon thread, on a registry of their own (the process's default registry is untouched)."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"prometheus port must be a number within 0..65535, not {port!r}")
    collector = ShipperCollector(shippers)
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry(auto_describe=False)
    registry.register(cast("Collector", collector))
    try:
        with signals_blocked():  # its server thread too (see _threads)
            server, thread = start_http_server(port, addr=addr, registry=registry)
    except OSError as exc:
        raise ConfigError(
            f"cannot serve Prometheus metrics on {addr}:{port} ({exc.strerror or exc}); "
            "choose another port"
        ) from None
    return MetricsServer(server, thread, addr, int(server.server_port))
