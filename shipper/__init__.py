"""Ships every prediction to Elasticsearch without blocking the serving path.

    from predwatch.shipper import Shipper, ElasticsearchHandler, ShipToElasticsearch

    shipper = Shipper(model="credit", model_version="3.1.0", baseline="baseline.json")
    pid = shipper.log_prediction(inputs={"age": 41}, prediction=0.83, latency_ms=12.5)
    shipper.log_outcome(pid, actual=1)

How it works (details in each module's docstring): `_config` (`ShipperConfig`, every
option, validated), `_shipper` (hot path, lifecycle), `_worker` (the background worker,
composed of `_worker_state`, `_routing`, `_adoption`, `_deployment_schedule`, `_encoder`
and `_sender`), `_documents` / `_enrich` / `_serialize` (documents), `_bulk` (delivery
and per-item results), `_spool` (disk spool), `_pii`, `_lifecycle` (atexit, SIGTERM,
fork), `_logging` and `_structlog` (front ends), `_deployment` (the deployment document),
`_metrics` (optional Prometheus endpoint; the metrics in `_metric_families`, the model
statistics the worker counts in `_model_stats`, per-process files for pre-fork servers in
`_multiprocess`, their one /metrics in the public `prometheus` module), `cli`
(`predwatch spool`); `predwatch.testing` (an in-memory sink for your own tests).
"""

from ._bulk import BulkFailed, ElasticsearchSink, ItemResult, Sink
from ._config import PiiConfig, ShipperConfig, SpoolConfig
from ._logging import ElasticsearchHandler
from ._metrics import MetricsServer, ShipperCollector, serve_metrics
from ._shipper import Shipper, default_spool_root
from ._stats import check_accounting
from ._structlog import ShipToElasticsearch

__all__ = [
    "BulkFailed",
    "ElasticsearchHandler",
    "ElasticsearchSink",
    "ItemResult",
    "MetricsServer",
    "PiiConfig",
    "ShipToElasticsearch",
    "Shipper",
    "ShipperCollector",
    "ShipperConfig",
    "Sink",
    "SpoolConfig",
    "check_accounting",
    "default_spool_root",
    "serve_metrics",
]
