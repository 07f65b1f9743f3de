"""`Shipper`: the one core both logging front ends feed.

The caller's thread (`log_prediction`, `log_outcome`, the front ends through
`submit_record`) only: reads the clock, makes an id, copies the top-level inputs, features
and labels mappings (`dict.copy()` for a dict; any mapping type is copied into a dict) and
applies the PII rules when some are configured (`_pii.snapshot_call`, the one
normalisation of every entry), appends a tuple to a bounded deque and, every `batch_size`
records, wakes the worker. No JSON, no baseline look-up, no lock (except with
durability="disk"), no I/O. Measured on the 2-core dev VM (Python 3.11): p50 2.1 us
per call, against 8.5 us for `logging.Logger.info(extra=...)` through a stdlib
`QueueHandler`. Nested values (lists, arrays, inner dicts) are NOT copied: the worker
reads them shortly after, so do not mutate them after logging (pass a copy if you reuse
buffers). Nothing raises into the caller, and a value that cannot be stored loses only
itself (its repr text or a placeholder, counted in `monitor.unserializable`; see
`_serialize`).

durability="memory" (default): a record is safe once acknowledged by Elasticsearch or
written to the spool (past `memory_bytes` while Elasticsearch is slow or down, and at
exit). A crash or SIGKILL loses what was only in memory: about `flush_interval` seconds
of records while healthy, up to `memory_bytes` during an outage.

durability="disk": `log_prediction` returns only once its record is written to the spool
and fsynced. Records arriving together share one fsync (group commit), so the cost is one
fsync latency per batch of concurrent callers (measured on the dev VM: p50 1.1 ms per
call from one thread; 8 threads together about 4,000 records/s), far more than memory
mode: use it where losing even a few predictions matters. If the spool cannot be written
within `durability_timeout` the call returns anyway (counted in stats()).
"""

from __future__ import annotations

import inspect
import itertools
import logging
import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from predwatch import mappings
from predwatch.baseline import Baseline, BaselineError, load_baseline
from predwatch.config import ESConfig, total_fields_limit
from predwatch.errors import ConfigError

from . import _lifecycle, _multiprocess
from . import _stats as st
from ._bulk import ElasticsearchSink, Sink
from ._config import BaselineSource, ShipperConfig
from ._deployment import Deployment, Packages
from ._documents import OUTCOME, PREDICTION, DocBuilder, Record
from ._enrich import Annotator
from ._ids import IdGenerator
from ._metrics import MetricsServer, serve_metrics
from ._model_stats import Limits as StatsLimits
from ._model_stats import ModelStats, limits_for
from ._multiprocess import FileExporter
from ._pii import PiiRules, snapshot_call
from ._serialize import Limits
from ._worker import Settings, Worker

log = logging.getLogger("predwatch.shipper")
_time = time.time


def default_spool_root(model: str) -> Path:
    """$PREDWATCH_SPOOL_DIR/<model>, else $XDG_CACHE_HOME (~/.cache)/predwatch/spool/<model>."""
    env = os.environ.get("PREDWATCH_SPOOL_DIR")
    if env:
        return Path(env).expanduser() / model
    cache = os.environ.get("XDG_CACHE_HOME")
    if not cache:
        try:
            cache = str(Path.home() / ".cache")
        except RuntimeError:  # no home directory (some containers)
            cache = os.path.join(tempfile.gettempdir(), f"predwatch-{os.getuid()}")
    return Path(cache) / "predwatch" / "spool" / model


class Shipper:
    """Ships predictions (and later outcomes) of one model to Elasticsearch.

    Example::

        shipper = Shipper(model="credit", model_version="3.1.0", baseline="baseline.json")
        pid = shipper.log_prediction(inputs={"age": 41}, prediction=0.83, latency_ms=12.5)
        shipper.log_outcome(pid, actual=1)

    Options: either `config=ShipperConfig(...)` (see `_config`) or these keyword
    arguments, which build the same `ShipperConfig` (available as `shipper.config`); all
    but `model` optional, keyword-only after `baseline`; docs/shipper.md has the table:
    - model, model_version: `[a-z0-9_]` name; version defaults to the baseline's.
    - baseline: path, `Baseline`, baseline dict, or None (documents ship unannotated).
    - es_url / api_key / username / password / ca_cert, or es_config=ESConfig(...):
      connection (PREDWATCH_ES_* variables fill what is not given). es_url may name several
      nodes of the cluster (a list, or comma-separated): requests are spread over them and
      a node that cannot be reached is skipped for the next.
    - durability: "memory" or "disk" (see the module docstring).
    - spool_dir: spool root (default $PREDWATCH_SPOOL_DIR/<model> or
      ~/.cache/predwatch/spool/<model>); processes sharing a root adopt each other's
      spools when they die.
    - spool_budget (1 GiB): unsent (not yet acknowledged) bytes in this process's spool,
      checked per record. When memory (`memory_bytes`) and the spool are both full,
      spool_policy "drop_newest" (default) drops the newest records (counted in
      stats()["dropped"]["spool_full"]); "block" first lets the worker wait up to 5 s
      for delivery to free space (callers never wait, except durability="disk" callers,
      up to `durability_timeout`). A spool that cannot be written is replaced by memory
      the same way ("spool_error").
    - Memory is bounded by `max_queue` records waiting for the worker (more are dropped,
      counted as "queue_full") plus `memory_bytes` of encoded records waiting for
      Elasticsearch (beyond it the oldest go to disk). See docs/shipper.md, "Delivery
      guarantees, stats and drops", for what stats() reports and what it guarantees.
    - batch_size / batch_bytes / flush_interval: a bulk request is sent when this many
      records or bytes are ready, or `flush_interval` seconds after the first one.
    - service_name / service_version / environment (or PREDWATCH_SERVICE_NAME,
      PREDWATCH_SERVICE_VERSION, PREDWATCH_ENVIRONMENT), model_hash, trained_at: document
      metadata (hash and trained_at default to the baseline's).
    - pii={"field": "drop"|"hash"}, pii_key (or PREDWATCH_PII_KEY): see `_pii`.
    - exit_timeout (5 s): flush deadline at exit / SIGTERM / close(); handle_sigterm.
    - max_string (8192): longer strings are cut and flagged.
    - total_fields_limit (default PREDWATCH_TOTAL_FIELDS_LIMIT, else 1000): the
      `index.mapping.total_fields.limit` `predwatch setup elasticsearch` gave the templates
      (give both the same value). Each document brings at most half the room it leaves
      for free-form fields; keys past that are kept unindexed (`unindexed.*`) and counted
      in `monitor.unindexed_count` (`mappings.extra_fields_cap`).
    - sink: a zero-argument factory of a `Sink` (tests; default: Elasticsearch).
    - deployment: write the deployment document (model, service, host, Python,
      installed distributions and their fingerprint; see `_deployment`) to
      `predwatch-deployments`. Default (None): on when shipping to Elasticsearch, off
      with a custom `sink`. deployment_packages: the distributions to record (None: all
      installed), or a mapping name -> version taken as given.
    - prometheus_port: serve Prometheus metrics (needs `predwatch[prometheus]`) on
      prometheus_addr (default 127.0.0.1):port (0: a free port, see
      `metrics_server.port`); off by default. See `serve_metrics`.
    - prometheus_multiprocess (None: on when PROMETHEUS_MULTIPROC_DIR is set): write the
      metrics to prometheus-client's per-process files, for one /metrics over all workers
      of a pre-fork server (`predwatch.shipper.prometheus`).
    - prometheus_features (None: all the baseline's), prometheus_max_features (50),
      prometheus_max_versions (10), prometheus_max_labels (50): what the model statistics
      export, bounded (docs/prometheus.md, "Cardinality").
    """

    def __init__(
        self,
        model: str | None = None,
        model_version: str | None = None,
        baseline: BaselineSource = None,
        *,
        config: ShipperConfig | None = None,
        es_url: str | Sequence[str] | None = None,
        es_config: ESConfig | None = None,
        api_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        ca_cert: str | None = None,
        spool_dir: str | os.PathLike[str] | None = None,
        durability: str = "memory",
        service_name: str | None = None,
        service_version: str | None = None,
        environment: str | None = None,
        model_hash: str | None = None,
        trained_at: str | None = None,
        pii: Mapping[str, str] | None = None,
        pii_key: str | bytes | None = None,
        batch_size: int = 500,
        batch_bytes: int = 5 << 20,
        flush_interval: float = 1.0,
        max_queue: int = 100_000,
        memory_bytes: int = 32 << 20,
        spool_budget: int = 1 << 30,
        spool_policy: str = "drop_newest",
        durability_timeout: float = 5.0,
        exit_timeout: float = 5.0,
        handle_sigterm: bool = True,
        max_string: int = 8192,
        total_fields_limit: int | None = None,
        sink: Callable[[], Sink] | None = None,
        deployment: bool | None = None,
        deployment_packages: Packages = None,
        prometheus_port: int | None = None,
        prometheus_addr: str = "127.0.0.1",
        prometheus_multiprocess: bool | None = None,
        prometheus_features: Sequence[str] | None = None,
        prometheus_max_features: int = 50,
        prometheus_max_versions: int = 10,
        prometheus_max_labels: int = 50,
    ) -> None:
        keywords = dict(locals())
        del keywords["self"], keywords["config"]
        self.config = cfg = _config_of(config, keywords)
        self.model = cfg.model
        self.baseline = _read_baseline(cfg.baseline, self.model)
        version = cfg.model_version or (self.baseline.version if self.baseline else None)
        if not version:
            raise ConfigError("model_version is required (or give a baseline that has one)")
        self.model_version = str(version)
        self._stats_limits = _stats_limits(cfg, self.baseline)
        self._multiprocess = _multiprocess.enabled(cfg.prometheus_multiprocess)
        self.durability = cfg.durability
        self.exit_timeout = float(cfg.exit_timeout)
        self.es_config = _es_config(
            cfg.es_config, cfg.es_url, cfg.api_key, cfg.username, cfg.password, cfg.ca_cert
        )
        sp = cfg.spool
        self.spool_root = Path(sp.dir).expanduser() if sp.dir else default_spool_root(self.model)
        if cfg.durability == "disk":
            _check_writable(self.spool_root)
        self._pii = (
            PiiRules(cfg.pii.rules, cfg.pii.key or os.environ.get("PREDWATCH_PII_KEY"))
            if cfg.pii is not None and cfg.pii.rules
            else None
        )
        env = os.environ.get
        b = self.baseline
        self._builder_args: dict[str, Any] = {
            "model": self.model,
            "model_version": self.model_version,
            "model_hash": cfg.model_hash or (b.hash if b else None),
            "trained_at": cfg.trained_at or (b.trained_at if b else None),
            "service": {
                "name": cfg.service_name or env("PREDWATCH_SERVICE_NAME"),
                "version": cfg.service_version or env("PREDWATCH_SERVICE_VERSION"),
                "environment": cfg.environment or env("PREDWATCH_ENVIRONMENT"),
            },
            "annotator": Annotator(b) if b else None,
            "limits": Limits(max_string=cfg.max_string),
            "field_cap": _field_cap(cfg.total_fields_limit, b),
        }
        self._settings = Settings(
            durability=cfg.durability,
            batch_size=cfg.batch_size,
            batch_bytes=cfg.batch_bytes,
            flush_interval=cfg.flush_interval,
            memory_bytes=cfg.memory_bytes,
            spool_budget=sp.budget,
            spool_policy=sp.policy,
        )
        self._sink_factory = cfg.sink or (lambda: ElasticsearchSink(self.es_config))
        self._batch_size = cfg.batch_size
        self._max_queue = cfg.max_queue
        self._durability_timeout = cfg.durability_timeout
        self._disk = cfg.durability == "disk"
        self._ids = IdGenerator()
        self._deployment: Deployment | None = None
        if cfg.deployment or (cfg.deployment is None and cfg.sink is None):
            self._deployment = Deployment(
                model=self.model,
                model_version=self.model_version,
                model_hash=self._builder_args["model_hash"],
                trained_at=self._builder_args["trained_at"],
                service=self._builder_args["service"],
                packages=cfg.deployment_packages,
            )
        self._reset_process_state()
        self.metrics_server: MetricsServer | None = None
        if cfg.prometheus_port is not None:
            self.metrics_server = serve_metrics(self, cfg.prometheus_port, cfg.prometheus_addr)
        _lifecycle.register(self, cfg.handle_sigterm)

    def _reset_process_state(self) -> None:
        # Metrics stay enabled in a forked child, with the child's own counts (and files).
        counted = getattr(self, "_metrics", None) is not None or self._multiprocess
        self._metrics: ModelStats | None = ModelStats(self._stats_limits) if counted else None
        self._exporter = FileExporter(self) if self._multiprocess else None
        self._queue: deque[Record] = deque()
        self._stats = st.Stats()
        self._worker: Worker | None = None
        self._start_lock = threading.Lock()
        self._appended = itertools.count(1)
        self._durability_timeouts = 0
        self._closed = False

    # --- the hot path ---------------------------------------------------------------
    def log_prediction(
        self,
        inputs: Mapping[str, Any] | None,
        prediction: Any = None,
        prediction_id: str | None = None,
        latency_ms: float | None = None,
        timestamp: Any = None,
        *,
        features: Mapping[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
        model_version: str | None = None,
    ) -> str:
        """Enqueue one prediction; returns its prediction_id. Never raises.

        `timestamp`: event time (epoch seconds or ms, datetime, ISO text; default now).
        `features`: the served (computed) feature values, for feature-skew checks.
        `labels`: small string tags (keyword fields). `model_version` overrides per call.
        """
        # The body of submit_record, inlined: one call less on the hot path.
        try:
            now = _time()
            if type(prediction_id) is str and prediction_id:
                pid = prediction_id
            else:
                pid = _id_text(prediction_id) or self._ids(now)
            extra = None
            if features is not None or labels is not None or model_version is not None:
                extra = {"features": features, "labels": labels, "model_version": model_version}
            snap = snapshot_call(inputs, extra, self._pii)
            return self._put((PREDICTION, pid, now, timestamp, snap, prediction, latency_ms, extra))
        except Exception:
            return self._failed(prediction_id)

    def submit_record(
        self,
        inputs: Any,
        prediction: Any = None,
        prediction_id: Any = None,
        latency_ms: Any = None,
        timestamp: Any = None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """Enqueue one prediction for a logging front end; returns its prediction_id.

        The one way in of `ElasticsearchHandler`, `ShipToElasticsearch` and any front end
        of your own: the same snapshot, PII rules and queue as `log_prediction`. `extra`
        is a fresh dict the shipper may keep (do not reuse it), with any of `features`,
        `labels`, `model_version` (as in `log_prediction`), `msg` and `args` (the message,
        formatted on the worker thread with `msg % args`), `logger` and `level`. Never
        raises; a front end that fails before calling this counts it with
        `count_handler_error`."""
        try:
            now = _time()
            if type(prediction_id) is str and prediction_id:
                pid = prediction_id
            else:
                pid = _id_text(prediction_id) or self._ids(now)
            snap = snapshot_call(inputs, extra, self._pii)
            return self._put((PREDICTION, pid, now, timestamp, snap, prediction, latency_ms, extra))
        except Exception:
            return self._failed(prediction_id)

    def count_handler_error(self) -> None:
        """Count a record a logging front end could not hand over (`stats()["handler_errors"]`):
        front ends never raise into the app, and never lose a record silently."""
        self._stats.add(handler_errors=1)

    def log_outcome(self, prediction_id: str, actual: Any, timestamp: Any = None) -> bool:
        """Enqueue the ground truth of an earlier prediction (the first one for an id wins).

        Returns False (and ships nothing) when `prediction_id` is empty. Never raises.
        """
        try:
            if prediction_id is None or prediction_id == "":
                return False
            pid = prediction_id if type(prediction_id) is str else str(prediction_id)
            self._put((OUTCOME, pid, _time(), timestamp, None, actual, None, None))
            return True
        except Exception:
            self._stats.drop(st.INTERNAL_ERROR, at_call=True)
            return False

    def _put(self, rec: Record) -> str:
        q = self._queue
        if len(q) >= self._max_queue or self._closed:
            self._stats.drop(st.CLOSED if self._closed else st.QUEUE_FULL, at_call=True)
            return rec[1]
        w = self._worker
        if w is None:
            w = self._start()
        if self._disk:
            return self._put_durable(w, rec)
        q.append(rec)
        # Event.set() takes a lock; skip it when already set. Safe: the encoder clears
        # the event before draining, and this record was appended before the check.
        if len(q) >= self._batch_size and not w.wake.is_set():
            w.wake.set()
        return rec[1]

    def _put_durable(self, w: Worker, rec: Record) -> str:
        with w.commit:
            self._queue.append(rec)
            seq = next(self._appended)
        w.wake.set()
        deadline = time.monotonic() + self._durability_timeout
        with w.commit:
            while w.taken < seq and not w.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._durability_timeouts += 1
                    break
                w.commit.wait(left)
        return rec[1]

    def _start(self) -> Worker:
        with self._start_lock:
            if self._worker is None:
                w = Worker(
                    self._queue,
                    DocBuilder(**self._builder_args),
                    self._sink_factory,
                    self.spool_root,
                    self._settings,
                    self._stats,
                    self._deployment,
                    self._metrics,
                )
                w.export = self._exporter
                w.start()
                self._worker = w
            return self._worker

    def _failed(self, prediction_id: Any) -> str:
        self._stats.drop(st.INTERNAL_ERROR, at_call=True)
        try:
            return _id_text(prediction_id) or self._ids(_time())
        except Exception:
            return ""

    # --- control --------------------------------------------------------------------
    def flush(self, timeout: float = 10.0) -> bool:
        """Deliver everything logged so far; False if `timeout` passed first."""
        w = self._worker
        if w is None:
            w = self._start() if self._has_spools() else None
            if w is None:
                return True
        return w.flush(timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Flush within `timeout` (default `exit_timeout`), stop, keep the rest on disk.

        Returns True when everything was delivered. Later log calls are dropped (counted).
        """
        if self._closed:
            return True
        self._closed = True
        _lifecycle.unregister(self)
        if self.metrics_server is not None:
            self.metrics_server.close()
        w = self._worker
        if w is None:
            return True
        return w.close(self.exit_timeout if timeout is None else timeout)

    def __enter__(self) -> Shipper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stats(self) -> dict[str, Any]:
        """Self-metrics (see docs/shipper.md, "Delivery guarantees"): enqueued, acked,
        duplicates, retried, spooled_*, dead_lettered, dropped{reason}, pending,
        queue_depth, spool_*, oldest_unsent_age_s, state, last_error, and `accounting`:
        enqueued + adopted + internal == acked + duplicates + dead_lettered + dropped +
        internal_done + pending, with `accounting["balanced"]` (see `check_accounting`)."""
        w = self._worker
        if w is not None:
            acc = w.ledger()
            snap = self._stats.snapshot()
            snap.update(w.depth())
        else:
            snap = self._stats.snapshot()
            queued = len(self._queue)
            acc = st.ledger(
                enqueued=queued + snap["dropped_at_call"],
                adopted=0,
                internal=0,
                snap=snap,
                internal_done=0,
                pending_memory=queued,
                pending_spool=0,
            )
            snap.update(
                queue_depth=queued,
                memory_pending_bytes=0,
                spool_pending_records=0,
                spool_live_bytes=0,
                spool_disk_bytes=0,
                spool_dir=None,
                spool_error=None,
                oldest_unsent_age_s=0.0,
                state="closed" if self._closed else "idle",
            )
        snap["enqueued"] = acc["enqueued"]
        snap["pending"] = acc["pending"]
        snap["accounting"] = acc
        snap["durability_timeouts"] = self._durability_timeouts
        snap["model"] = self.model
        snap["model_version"] = self.model_version
        snap["durability"] = self.durability
        snap["deployment"] = self._deployment.state if self._deployment else "off"
        return snap

    def _model_stats(self) -> ModelStats:
        """Per-version model statistics for metrics, counted by the worker from now on."""
        with self._start_lock:
            if self._metrics is None:
                self._metrics = ModelStats(self._stats_limits)
                if self._worker is not None:
                    self._worker.metrics = self._metrics
            return self._metrics

    def _has_spools(self) -> bool:
        try:
            return any(p.is_dir() and not p.name.startswith(".") for p in self.spool_root.iterdir())
        except OSError:
            return False

    def _after_fork_in_child(self) -> None:
        w = self._worker
        if w is not None:
            w.forget_after_fork()
        if self.metrics_server is not None:  # the parent's: its thread is not here
            self.metrics_server.forget_after_fork()
            self.metrics_server = None
        self._ids.reseed()
        self._reset_process_state()

    def __repr__(self) -> str:
        return (
            f"Shipper(model={self.model!r}, model_version={self.model_version!r}, "
            f"durability={self.durability!r}, es={self.es_config.url!r})"
        )


def _config_of(config: ShipperConfig | None, keywords: dict[str, Any]) -> ShipperConfig:
    """`config`, or the one built from the keyword arguments; never a mix of both."""
    if config is None:
        return ShipperConfig.from_keywords(**keywords)
    if not isinstance(config, ShipperConfig):
        raise ConfigError(f"config must be a ShipperConfig, not {type(config).__name__}")
    # A keyword that differs from its default was given: ambiguous next to config=.
    given = sorted(k for k, v in keywords.items() if v != _DEFAULTS.get(k))
    if given:
        raise ConfigError(
            f"give either config=ShipperConfig(...) or keyword arguments, not both "
            f"(also given: {', '.join(given)}); use dataclasses.replace(config, ...) to vary one"
        )
    return config


def _stats_limits(cfg: ShipperConfig, b: Baseline | None) -> StatsLimits:
    """What the model statistics export; names in prometheus_features must be features."""
    if cfg.prometheus_features is not None:
        known = {f.name for f in b.features} if b else set()
        unknown = sorted(set(cfg.prometheus_features) - known)
        if unknown:
            raise ConfigError(
                f"prometheus_features names {', '.join(map(repr, unknown))}, not feature(s) of "
                f"the baseline ({'model ' + b.id if b else 'none given'}); name baseline features"
            )
    return limits_for(
        b,
        cfg.prometheus_features,
        cfg.prometheus_max_features,
        cfg.prometheus_max_versions,
        cfg.prometheus_max_labels,
    )


def _check_writable(root: Path) -> None:
    """durability="disk" promises records on disk: refuse a spool root that cannot be
    written now (creating and removing a directory, as the spool does), not later."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = Path(tempfile.mkdtemp(prefix=".probe-", dir=root))
        (probe / "w").write_bytes(b"")
        (probe / "w").unlink()
        probe.rmdir()
    except OSError as exc:
        raise ConfigError(
            f"durability='disk' needs a writable spool directory: {root} "
            f"({exc.strerror or exc}); make it writable, or set spool_dir= or "
            "PREDWATCH_SPOOL_DIR to one that is"
        ) from None


def _id_text(given: Any) -> str | None:
    """The caller's prediction id as text (None: make one)."""
    if given is None:
        return None
    try:
        return str(given)
    except Exception:  # an id without text: the prediction still ships, under a new id
        return None


def _field_cap(given: int | None, b: Baseline | None) -> int:
    """Free-form fields per document, from the limit the templates were made with."""
    limit = total_fields_limit(given)
    features = b.schema_features() if b else []
    if features:
        limit = mappings.total_fields_limit(features, limit)  # as in the model's template
    return mappings.extra_fields_cap(limit, features)


def _read_baseline(
    baseline: str | os.PathLike[str] | Baseline | Mapping[str, Any] | None, model: str
) -> Baseline | None:
    if baseline is None:
        return None
    if isinstance(baseline, Baseline):
        b = baseline
    elif isinstance(baseline, Mapping):
        b = Baseline.from_dict(dict(baseline))
    elif isinstance(baseline, str | os.PathLike):
        b = load_baseline(baseline)
    else:
        raise BaselineError(
            f"baseline must be a path, a Baseline or None, not {type(baseline).__name__}"
        )
    if b.model != model:
        raise BaselineError(
            f"the baseline is for model {b.model!r}, but this shipper ships model {model!r}"
        )
    return b


def _es_config(
    cfg: ESConfig | None,
    url: str | Sequence[str] | None,
    api_key: str | None,
    username: str | None,
    password: str | None,
    ca_cert: str | None,
) -> ESConfig:
    if cfg is not None:
        if any(v is not None for v in (api_key, username, password, ca_cert)):
            raise ConfigError("give either es_config= or connection keywords, not both")
        cfg = cfg.with_url(url) if url else cfg
        cfg.validate()
        return cfg
    return ESConfig.from_env(
        url=url, api_key=api_key, username=username, password=password, ca_cert=ca_cert
    )


# Shipper's keyword defaults (for `_config_of`); a unit test checks they match ShipperConfig.
_DEFAULTS: dict[str, Any] = {
    name: p.default
    for name, p in inspect.signature(Shipper.__init__).parameters.items()
    if name not in ("self", "config")
}
