"""Training and serving rows for the cluster tests, with what makes shards disagree:
a categorical with thousands of values (most of them rare), and text whose unseen words
have close counts, served over UTC midnight (two daily indices)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
from elasticsearch import Elasticsearch

from predwatch import templates as t
from predwatch.baseline import Baseline

SHARDS = 3  # primaries per index on the test cluster (set in predwatch@custom)
REPLICAS = 1

WORDS = [f"w{i}" for i in range(200)]
NEW_WORDS = [f"new{i}" for i in range(400)]
TRAIN_VALUES = 2000  # distinct values of `big` in training
SERVE_VALUES = 3500  # in serving: 1,500 never seen
MIDNIGHT = dt.datetime(2025, 3, 11, tzinfo=dt.UTC)
START = MIDNIGHT - dt.timedelta(hours=3)
END = MIDNIGHT + dt.timedelta(hours=3)


def _zipf(rng: np.random.Generator, n: int, k: int, a: float = 1.1) -> np.ndarray:
    p = 1.0 / np.arange(1, k + 1) ** a
    return rng.choice(k, size=n, p=p / p.sum())


def _text(rng: np.random.Generator, n: int, oov: bool) -> list[str]:
    out = []
    for _ in range(n):
        words = [WORDS[i] for i in _zipf(rng, int(rng.integers(4, 9)), len(WORDS))]
        if oov:  # up to 3 unseen words: fewer than the shipper's 20 kept per document
            words += [NEW_WORDS[i] for i in _zipf(rng, int(rng.integers(0, 4)), 400, 0.6)]
        out.append(" ".join(words))
    return out


def frame(rng: np.random.Generator, n: int, *, serving: bool) -> pd.DataFrame:
    k = SERVE_VALUES if serving else TRAIN_VALUES
    df = pd.DataFrame(
        {
            "num": rng.normal(0.3 if serving else 0.0, 1.0, n),
            "small": rng.choice(["a", "b", "c", "d"], size=n, p=[0.4, 0.3, 0.2, 0.1]),
            "big": [f"v{i:04d}" for i in _zipf(rng, n, k, 0.8)],
            "text": _text(rng, n, oov=serving),
        }
    )
    df["score"] = 1 / (1 + np.exp(-df["num"]))
    return df


def timestamps(rng: np.random.Generator, n: int) -> list[dt.datetime]:
    span = (END - START).total_seconds()
    return [START + dt.timedelta(seconds=float(s)) for s in np.sort(rng.uniform(0, span, n))]


def true_top_oov(baseline: Baseline, texts: list[str], k: int) -> list[tuple[str, float]]:
    """The k unseen words in most documents, ties by word: computed from the raw rows."""
    fp = baseline.feature("text")
    assert fp is not None and fp.text is not None
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update({t for t in fp.text.tokenizer.tokens(text) if t not in fp.text.vocabulary})
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(w, float(c)) for w, c in ranked[:k]]


def inputs(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("num", "small", "big", "text")}


def put_custom(es: Elasticsearch, shards: int, replicas: int) -> None:
    """The user's predwatch@custom component: shards and replicas of every predwatch index."""
    es.cluster.put_component_template(
        name=t.CUSTOM_COMPONENT,
        template={
            "settings": {"index": {"number_of_shards": shards, "number_of_replicas": replicas}}
        },
    )
