"""Predictions with known ground truth for the quality and skew integration tests.

Predictions are indexed the way the shipper lays them out (bulk, op_type create, _id =
prediction_id, daily index of @timestamp); outcomes go through the real paths: the
shipper's `log_outcome` and `predwatch outcomes load`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from elasticsearch import Elasticsearch, helpers

from predwatch import schema as s
from predwatch.config import ESConfig
from predwatch.setup_es import setup_elasticsearch
from predwatch.shipper import Shipper

T0 = dt.datetime(2025, 3, 10, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Served:
    """One served prediction and (maybe) its final outcome."""

    pid: str
    at: dt.datetime
    version: str
    prediction: dict[str, Any]
    actual: Any = None  # the outcome the join must use (None: never labelled)
    outcome_at: dt.datetime | None = None
    inputs: dict[str, Any] | None = None
    features: dict[str, Any] | None = None


def install(es: Elasticsearch, cfg: ESConfig) -> None:
    """Index templates as `predwatch setup elasticsearch` installs them."""
    setup_elasticsearch(es, cfg)


def ship_predictions(es: Elasticsearch, model: str, rows: list[Served]) -> None:
    actions = []
    for r in rows:
        doc: dict[str, Any] = {
            s.TIMESTAMP: iso(r.at),
            s.PREDICTION_ID: r.pid,
            "model": {"name": model, "version": r.version},
            "prediction": r.prediction,
            "inputs": r.inputs or {},
            "monitor": {"nonfinite": 0, "truncated": 0},
        }
        if r.features is not None:
            doc["features"] = r.features
        actions.append(
            {
                "_op_type": "create",
                "_index": s.index_name("predictions", model, r.at),
                "_id": r.pid,
                "_source": doc,
            }
        )
    helpers.bulk(es, actions, refresh="wait_for", chunk_size=2000)


def ship_outcomes(
    cfg: ESConfig, model: str, outcomes: list[tuple[str, Any, dt.datetime]], spool: Path
) -> None:
    """Through the real shipper, in the order given."""
    with Shipper(model, "1", es_config=cfg, handle_sigterm=False, spool_dir=spool) as shipper:
        for pid, actual, at in outcomes:
            shipper.log_outcome(pid, actual, timestamp=at)
        assert shipper.flush(30.0)


def ship_row_outcomes(
    es: Elasticsearch,
    cfg: ESConfig,
    model: str,
    start: dt.datetime,
    labels: list[Any],
    spool: Path,
    prefix: str = "s",
) -> None:
    """The outcome of each of `len(labels)` predictions spread over the day from `start` (id
    `<prefix><i>`, served at start + (i + 1) * DAY / (n + 1)), half an hour after it, through
    the real shipper; then refreshed."""
    step = DAY / (len(labels) + 1)
    outcomes = [
        (f"{prefix}{i}", v, start + (i + 1) * step + DAY / 48) for i, v in enumerate(labels)
    ]
    ship_outcomes(cfg, model, outcomes, spool)
    refresh(es, model)


def refresh(es: Elasticsearch, model: str) -> None:
    es.options(ignore_status=404).indices.refresh(index=f"predwatch-*-{model}*")


def binary_rows(
    rng: np.random.Generator,
    n: int,
    start: dt.datetime,
    length: dt.timedelta,
    *,
    version: str = "1",
    noise: float = 0.6,
    prefix: str = "p",
) -> list[Served]:
    """A binary classifier with scores {"0", "1"}; `noise` lowers its quality."""
    rows = []
    y = rng.random(n) < 0.35
    logit = np.where(y, 1.2, -1.2) + rng.normal(0.0, 1.0 + noise * 2, n)
    # Rounded to 3 decimals: ties inside an AUC bin are exercised for real.
    p = np.round(1.0 / (1.0 + np.exp(-logit)), 3)
    offsets = np.sort(rng.random(n)) * length.total_seconds()
    for i in range(n):
        scores = {"0": float(1.0 - p[i]), "1": float(p[i])}
        rows.append(
            Served(
                pid=f"{prefix}{version}-{i:05d}-{rng.integers(1 << 30):x}",
                at=start + dt.timedelta(seconds=float(offsets[i])),
                version=version,
                prediction={
                    "scores": scores,
                    "label": "1" if p[i] >= 0.5 else "0",
                    "value": float(p[i]),
                },
                actual=int(y[i]),
            )
        )
    return rows


def regression_rows(
    rng: np.random.Generator, n: int, start: dt.datetime, length: dt.timedelta
) -> list[Served]:
    rows = []
    x = rng.normal(10.0, 3.0, n)
    y = 2.0 * x + rng.normal(0.0, 1.5, n)
    yhat = 2.0 * x + 0.3
    offsets = np.sort(rng.random(n)) * length.total_seconds()
    for i in range(n):
        rows.append(
            Served(
                pid=f"r-{i:05d}-{rng.integers(1 << 30):x}",
                at=start + dt.timedelta(seconds=float(offsets[i])),
                version="1",
                prediction={"value": float(yhat[i])},
                actual=float(y[i]),
            )
        )
    return rows


def label(rng: np.random.Generator, rows: list[Served], share: float) -> list[Served]:
    """Give `share` of the rows an outcome 1 min .. 5 days after the prediction; the rest
    never get one (actual None)."""
    out = []
    for r in rows:
        if rng.random() < share:
            delay = dt.timedelta(seconds=float(np.exp(rng.uniform(np.log(60), np.log(5 * 86400)))))
            r.outcome_at = r.at + delay
            out.append(r)
        else:
            r.actual = None
    return out
