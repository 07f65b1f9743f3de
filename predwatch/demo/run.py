"""The demo's steps, in order: Elasticsearch, model, baseline, set-up, a served week,
analysis, alerts, story, report, Kibana. `cli.py` wires them to the command line."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import pickle
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from predwatch import es as es_mod
from predwatch import schema
from predwatch.baseline import Baseline, save_baseline
from predwatch.config import DEFAULT_URL, ESConfig
from predwatch.demo import dataset as ds
from predwatch.demo import model as mdl
from predwatch.errors import ConnectionFailed, PredwatchError

Echo = Callable[[str], None]
FAST_PER_DAY = 800
FULL_PER_DAY = 2000
BATCH = 10
WORKERS = 4
# The slow dependency of the latency scenario: this many times the clean days' p95, and at
# least this many ms, so the regression is clear on a fast and on a busy machine alike.
SLOW_FACTOR = 5.0
SLOW_MIN_MS = 150.0
LATENCY_BOUND_FACTOR = 2.5


@dataclass
class Options:
    model: str = "demo"
    fast: bool = False
    output_dir: Path = Path("predwatch-demo-output")
    kibana_url: str | None = None
    metrics_port: int | None = None  # the shippers' Prometheus endpoint while serving
    metrics_addr: str = "127.0.0.1"

    @property
    def per_day(self) -> int:
        return FAST_PER_DAY if self.fast else FULL_PER_DAY


@dataclass
class Trained:
    production: mdl.Model
    experiment: mdl.Model
    baseline: Baseline
    serving_pool: list[dict[str, Any]]
    auc: float
    auc_experiment: float


@dataclass
class Timings:
    steps: dict[str, float] = field(default_factory=dict)
    _t0: float = field(default_factory=time.perf_counter)

    def mark(self, step: str) -> None:
        now = time.perf_counter()
        self.steps[step] = now - self._t0 - sum(self.steps.values())

    @property
    def total(self) -> float:
        return time.perf_counter() - self._t0


# --- Elasticsearch ------------------------------------------------------------------------
def ensure_es(cfg: ESConfig, echo: Echo) -> ESConfig:
    """The configured Elasticsearch; with none configured, one answering on localhost:9200,
    else the local development node (started, or reused when it runs)."""
    explicit = cfg.url != DEFAULT_URL or bool(os.environ.get("PREDWATCH_ES_URL"))
    client = es_mod.client(cfg, request_timeout=10)
    try:
        es_mod.ping(client, cfg)
        version = es_mod.cluster_version(client, cfg)
        echo(f"  Elasticsearch {version} at {cfg.url}")
        return cfg
    except ConnectionFailed:
        if explicit:
            raise
    finally:
        client.close()
    from predwatch.devnode import LocalNode

    node = LocalNode(port=9200, log=lambda m: echo(f"  {m}"))
    info = node.start()
    echo(
        f"  Elasticsearch {info.version} at {info.url} (local node, pid {info.pid}; it keeps "
        "running after the demo, for a second run or a look: `predwatch es stop --port 9200`)"
    )
    return cfg.with_url(info.url)


def reset(es: Elasticsearch, cfg: ESConfig, model: str) -> int:
    """Delete what an earlier run of the demo left: the model's indices, and its records in
    the shared alerts and deployments indices (an earlier run's deployment of the same
    version with another model hash would fire `model_hash_change`).

    Names are resolved first (a cluster may refuse wildcard deletes). Returns the number
    of indices deleted.
    """
    patterns = [schema.index_pattern(k, model) for k in schema.PER_MODEL_KINDS]
    found = es_mod.call(
        cfg,
        lambda: es.options(ignore_status=404).indices.get(
            index=",".join(patterns), expand_wildcards="all", ignore_unavailable=True
        ),
    )
    names = sorted(found.body) if isinstance(found.body, dict) else []
    if names:
        joined = ",".join(names)
        es_mod.call(cfg, lambda: es.options(ignore_status=404).indices.delete(index=joined))
    for shared in ("alerts", "deployments"):
        _delete_model_records(es, cfg, schema.index_name(shared), model)
    return len(names)


def _delete_model_records(es: Elasticsearch, cfg: ESConfig, index: str, model: str) -> None:
    """The model's records in a shared index (no _delete_by_query: the minimal distribution
    lacks it): the alert runner starts without throttling state, deployments start afresh."""
    while True:
        found = es_mod.call(
            cfg,
            lambda: es.options(ignore_status=404).search(
                index=index, size=1000, query={"term": {schema.MODEL_NAME: model}}, source=False
            ),
        )
        hits = found.body.get("hits", {}).get("hits", []) if isinstance(found.body, dict) else []
        if not hits:
            return
        ops: list[dict[str, Any]] = [
            {"delete": {"_index": h["_index"], "_id": h["_id"]}} for h in hits
        ]
        es_mod.call(cfg, functools.partial(es.bulk, operations=ops, refresh=True))


# --- model and baseline -------------------------------------------------------------------
def train(opts: Options, week_start: dt.datetime, echo: Echo) -> Trained:
    """Load the reports, train both models, profile the training split into a baseline."""
    from predwatch.analyzers.profile import build_baseline

    frame = ds.load()
    split = ds.split(frame)
    echo(
        f"  {len(frame):,} {ds.SOURCE}: {len(split.train):,} to train on, "
        f"{len(split.serving):,} held out as serving traffic"
    )
    trained_at = (week_start - dt.timedelta(days=1)).isoformat()
    prod = mdl.train(split.train, trained_at)
    exp = mdl.train_experiment(split.train, trained_at)
    auc, auc_exp = mdl.auc(prod, split.serving), mdl.auc(exp, split.serving)
    echo(
        f"  model {mdl.VERSION}: scaled numerics + one-hot categoricals + TF-IDF remarks -> "
        f"logistic regression, ROC AUC {auc:.3f} on held-out reports "
        f"(the experiment {mdl.EXPERIMENT_VERSION}: {auc_exp:.3f})"
    )
    profile = split.train[list(ds.FEATURES)].copy()
    scores = mdl.out_of_fold_scores(split.train)
    profile["score"] = scores
    profile["label"] = [mdl.label(float(p)) for p in scores]
    model_file = opts.output_dir / f"model-{mdl.VERSION}.pkl"
    model_file.write_bytes(pickle.dumps(prod.pipeline))
    baseline = build_baseline(
        profile,
        model=opts.model,
        version=mdl.VERSION,
        prediction_columns=("score", "label"),
        numeric=ds.NUMERIC,
        categorical=ds.CATEGORICAL,
        text=ds.TEXT,
        trained_at=trained_at,
        model_hash=prod.hash(),
        metrics=mdl.held_out_metrics(split.train, scores),
        metrics_rows=len(split.train),
    )
    baseline = with_estimation(baseline, split.train[ds.TARGET].to_numpy(), scores)
    path = save_baseline(baseline, opts.output_dir / "baseline.json")
    echo(
        f"  baseline {baseline.id} from the training split ({baseline.rows:,} rows, "
        f"{len(baseline.features)} features, out-of-fold scores, held-out ROC AUC "
        f"{baseline.metrics['roc_auc']:.3f}) -> {path}"
    )
    return Trained(prod, exp, baseline, ds.records(split.serving), auc, auc_exp)


def with_estimation(baseline: Baseline, target: Any, scores: Any) -> Baseline:
    """The baseline with the calibration `predwatch quality --estimate` needs, fitted on the
    out-of-fold scores (held out, as the estimate needs) and the true labels."""
    import dataclasses

    import pandas as pd

    from predwatch.analyzers.estimate_fit import fit_reference

    labels = [ds.POSITIVE if int(y) == 1 else ds.NEGATIVE for y in target]
    frame = pd.DataFrame({"score": scores, "label": labels})
    block = fit_reference(
        [frame], score="score", target="label", positive=ds.POSITIVE, threshold=mdl.THRESHOLD
    )
    return dataclasses.replace(baseline, estimation=block)


# --- outputs ------------------------------------------------------------------------------
def prepare_output(folder: Path) -> Path:
    """Create the output folder; empty the demo's own spool (a rerun starts clean)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(folder / "spool", ignore_errors=True)
    return folder


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", "utf-8")
    return path


class DemoFailed(PredwatchError):
    """A step of the demo failed (the message says which and why)."""
