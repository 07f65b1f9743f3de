"""`predwatch demo`: the smallest end-to-end run of predwatch on a real Elasticsearch.

Builds a baseline from a small synthetic training set, sets Elasticsearch up from it, ships
predictions through the Shipper (some with values the training data never had), and reads
back what the monitoring sees: document count, per-feature OOV and missing rates, one
annotated document. Uses PREDWATCH_ES_URL when set, else starts (or reuses) the local node.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from typing import Any

import click
import numpy as np
import pandas as pd

from predwatch import es as es_mod
from predwatch import schema
from predwatch.cli_common import connection_options
from predwatch.config import DEFAULT_URL, ESConfig

MODEL = "demo"
CITIES = ["paris", "lyon", "nice", "lille"]
WORDS = ["great", "fast", "friendly", "slow", "rude", "helpful", "cheap", "late", "clean", "noisy"]


def training_frame(rows: int, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": rng.normal(40, 10, rows).round(),
            "income": rng.lognormal(10, 0.4, rows).round(2),
            "city": rng.choice(CITIES, rows, p=[0.4, 0.3, 0.2, 0.1]),
            "review": [" ".join(rng.choice(WORDS, 5)) for _ in range(rows)],
            "score": rng.uniform(0, 1, rows),
        }
    )


def serving_inputs(i: int, rng: np.random.Generator, shifted: bool) -> dict[str, Any]:
    city = str(rng.choice(CITIES))
    review = " ".join(rng.choice(WORDS, 5))
    age: float | None = float(rng.normal(40, 10))
    if shifted:
        city = "marseille" if i % 3 == 0 else city  # a value training never saw
        review += " refund broken"  # words training never saw
        age = None if i % 4 == 0 else age  # a feature going missing
    return {"age": age, "income": float(rng.lognormal(10, 0.4)), "city": city, "review": review}


def ensure_es(cfg: ESConfig, explicit: bool) -> ESConfig:
    if explicit:
        return cfg
    from predwatch import localnode

    node = localnode.LocalNode(port=9200, log=lambda m: click.echo(f"  {m}"))
    info = node.start()
    click.echo(f"  Elasticsearch {info.version} at {info.url} (pid {info.pid})")
    return cfg.with_url(info.url)


@click.command()
@click.option(
    "--predictions",
    type=click.IntRange(10, 1_000_000),
    default=2000,
    show_default=True,
    help="how many predictions to ship",
)
@click.option("--fast", is_flag=True, help="a smaller run (300 predictions)")
@connection_options
def demo(cfg: ESConfig, predictions: int, fast: bool) -> None:
    """Run predwatch end to end: baseline, set-up, shipping, what monitoring sees.

    Uses PREDWATCH_ES_URL (or --es-url) when given, else starts the local node on 9200.

    \b
    Example:
      predwatch demo --fast
    """
    from predwatch.analyzers.profile import build_baseline
    from predwatch.setup_es import setup_elasticsearch
    from predwatch.shipper import Shipper

    n = 300 if fast else predictions
    rng = np.random.default_rng(7)
    explicit = cfg.url != DEFAULT_URL or bool(os.environ.get("PREDWATCH_ES_URL"))
    click.echo("1. Elasticsearch")
    cfg = ensure_es(cfg, explicit)
    client = es_mod.client(cfg)
    es_mod.ping(client, cfg)

    click.echo("2. baseline from the training data")
    train = training_frame(5000, rng)
    baseline = build_baseline(
        train, model=MODEL, version="1.0", prediction_columns=("score",), text=("review",)
    )
    for f in baseline.features:
        click.echo(f"  {f.name:<8} {f.type.value:<12} missing {f.missing_rate:.1%}")

    click.echo("3. predwatch setup elasticsearch")
    changes = setup_elasticsearch(client, cfg, [baseline])
    done = [c for c in changes if c.action in ("created", "updated")]
    click.echo(f"  {len(done)} change(s), {len(changes) - len(done)} unchanged/skipped")

    click.echo(f"4. shipping {n} predictions (the second half with injected problems)")
    shipper = Shipper(model=MODEL, model_version="1.0", baseline=baseline, es_config=cfg)
    t0 = time.perf_counter()
    start = dt.datetime.now(dt.UTC)
    for i in range(n):
        shipper.log_prediction(
            inputs=serving_inputs(i, rng, shifted=i >= n // 2),
            prediction=float(rng.uniform()),
            latency_ms=float(rng.gamma(2, 5)),
        )
    flushed = shipper.flush(timeout=60)
    stats = shipper.stats()
    shipper.close()
    click.echo(
        f"  {n} logged in {time.perf_counter() - t0:.2f}s, flushed={flushed}, "
        f"acked={stats.get('acked')}, dead-lettered={stats.get('dead_lettered')}"
    )

    click.echo("5. what Elasticsearch sees")
    index = schema.index_pattern("predictions", MODEL)
    client.indices.refresh(index=index)
    window = {"range": {schema.TIMESTAMP: {"gte": start.isoformat()}}}
    aggs = {
        "oov_city": {"avg": {"field": schema.feature_field(schema.OOV, "city")}},
        "missing_age": {"avg": {"field": schema.feature_field(schema.MISSING, "age")}},
        "text_oov": {"avg": {"field": schema.text_field("review", schema.TEXT_OOV_RATE)}},
        "unseen": {"terms": {"field": schema.feature_field(schema.UNSEEN, "city")}},
    }
    res = client.search(
        index=index, size=1, query=window, aggs=aggs, sort=[{schema.TIMESTAMP: "desc"}]
    )
    total = res["hits"]["total"]["value"]
    a = res["aggregations"]
    click.echo(f"  {total} prediction documents in {index}")
    click.echo(
        f"  OOV rate city: {a['oov_city']['value'] or 0:.1%}  missing rate age: "
        f"{a['missing_age']['value'] or 0:.1%}  text OOV rate review: "
        f"{a['text_oov']['value'] or 0:.1%}"
    )
    unseen = ", ".join(f"{b['key']} ({b['doc_count']})" for b in a["unseen"]["buckets"])
    click.echo(f"  unseen city values: {unseen or 'none'}")
    if res["hits"]["hits"]:
        click.echo("  latest document:")
        click.echo(json.dumps(res["hits"]["hits"][0]["_source"], indent=2)[:1500])
