"""Prometheus metrics of shippers: an optional endpoint (`pip install 'predwatch[prometheus]'`).

    shipper = Shipper(model="credit", model_version="3.1.0", prometheus_port=9464)
    server = serve_metrics([shipper_a, shipper_b], 9464)       # several shippers, one endpoint
    prometheus_client.REGISTRY.register(ShipperCollector(shipper))  # the app's own /metrics

Nothing runs on the caller's thread: once a collector exists, the worker counts each batch
of predictions per version and their latency into fixed buckets (`_stats.PredictionCounts`,
plain Python, one lock per batch), and `ShipperCollector` reads those counts and
`Shipper.stats()` only when Prometheus scrapes. prometheus-client is imported lazily.

Metrics (labels `model`, `version`: the shipper's; per record for the prediction metrics):
- counters `predwatch_shipper_<name>_total` for enqueued, acked, duplicates, retried,
  dead_lettered, replayed_records, spooled_records, spooled_bytes, batches,
  failed_requests, handler_errors; `predwatch_shipper_dropped_total{reason}`;
- gauges `predwatch_shipper_queue_depth`, `_spool_pending_records`, `_spool_bytes`,
  `_oldest_unsent_age_seconds`, `predwatch_shipper_state{state}` (1 for the current one);
- `predwatch_predictions_total` and the histogram `predwatch_prediction_latency_ms`
  (buckets `_stats.LATENCY_BUCKETS_MS`; records without a latency are not observed).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING, Any, cast
from wsgiref.simple_server import WSGIServer

from predwatch.errors import ConfigError

from . import _stats as st

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import Collector

    from ._shipper import Shipper

COUNTERS = {
    "enqueued": "records enqueued by log calls",
    "acked": "records Elasticsearch acknowledged",
    "duplicates": "records Elasticsearch already had (409 on create: a replay)",
    "retried": "records retried after a retryable per-item error",
    "dead_lettered": "records written to predwatch-deadletter",
    "replayed_records": "records delivered from a disk spool",
    "spooled_records": "records written to the disk spool",
    "spooled_bytes": "bytes written to the disk spool",
    "batches": "successful _bulk requests",
    "failed_requests": "failed _bulk requests",
    "handler_errors": "log records a logging front end failed to hand over (never raised)",
}
GAUGES = {
    "pending": ("pending", "records not settled yet (memory + spool)"),
    "queue_depth": ("queue_depth", "records in memory waiting to be sent"),
    "spool_pending_records": ("spool_pending_records", "records on disk waiting to be sent"),
    "spool_bytes": ("spool_disk_bytes", "bytes of the disk spool"),
    "oldest_unsent_age_seconds": ("oldest_unsent_age_s", "age of the oldest unsent record"),
}
STATES = ("idle", "ok", "spilling", "backoff", "error", "closed")
DROP_REASONS = (
    st.QUEUE_FULL,
    st.SPOOL_FULL,
    st.SPOOL_ERROR,
    st.SPOOL_CORRUPT,
    st.SPOOL_TORN,
    st.DEADLETTER_REJECTED,
    st.INTERNAL_ERROR,
    st.CLOSED,
)
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
            sh._prediction_counts()

    def collect(self) -> Iterator[Metric]:
        core = _prometheus_core()
        counter, gauge = core.CounterMetricFamily, core.GaugeMetricFamily
        labels = ["model", "version"]
        counters = {
            k: counter(f"predwatch_shipper_{k}", f"predwatch shipper: {doc}", labels=labels)
            for k, doc in COUNTERS.items()
        }
        dropped = counter(
            "predwatch_shipper_dropped",
            "predwatch shipper: records not delivered, by reason",
            labels=[*labels, "reason"],
        )
        gauges = {
            k: gauge(f"predwatch_shipper_{k}", f"predwatch shipper: {doc}", labels=labels)
            for k, (_, doc) in GAUGES.items()
        }
        state = gauge(
            "predwatch_shipper_state",
            "predwatch shipper: 1 for the current delivery state",
            labels=[*labels, "state"],
        )
        predictions = counter(
            "predwatch_predictions", "predictions logged (counted by the worker)", labels=labels
        )
        latency = core.HistogramMetricFamily(
            "predwatch_prediction_latency_ms", "latency_ms of the logged predictions", labels=labels
        )
        for sh in self.shippers:
            stats = sh.stats()
            lv = [sh.model, sh.model_version]
            for k, family in counters.items():
                family.add_metric(lv, float(stats.get(k) or 0))
            reasons = dict.fromkeys(DROP_REASONS, 0) | dict(stats.get("dropped") or {})
            for reason, n in reasons.items():
                dropped.add_metric([*lv, reason], float(n))
            for k, (key, _) in GAUGES.items():
                gauges[k].add_metric(lv, float(stats.get(key) or 0))
            for name in STATES:
                state.add_metric([*lv, name], 1.0 if stats.get("state") == name else 0.0)
            counts = sh._prediction_counts()
            bounds = counts.bounds
            for version, vc in sorted(counts.snapshot().items()):
                predictions.add_metric([sh.model, version], float(vc.count))
                cumulative = list(accumulate(vc.buckets))
                buckets = [(_le(b), float(c)) for b, c in zip(bounds, cumulative, strict=False)]
                buckets.append(("+Inf", float(cumulative[-1])))
                latency.add_metric([sh.model, version], buckets, vc.latency_sum)
        yield from counters.values()
        yield dropped
        yield from gauges.values()
        yield state
        yield predictions
        yield latency


def _le(bound: float) -> str:
    return f"{bound:g}" if bound != int(bound) else f"{bound:.1f}"


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
        server, thread = start_http_server(port, addr=addr, registry=registry)
    except OSError as exc:
        raise ConfigError(
            f"cannot serve Prometheus metrics on {addr}:{port} ({exc.strerror or exc}); "
            "choose another port"
        ) from None
    return MetricsServer(server, thread, addr, int(server.server_port))
