"""Synthetic training and serving data with known shifts, and prediction documents built
the way the shipper lays them out (field names from predwatch.schema), for the analyzer's
end-to-end tests. The shipper itself is not used here: it is tested on its own."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Any

import numpy as np
import pandas as pd
from elasticsearch import Elasticsearch, helpers

from predwatch import schema as s
from predwatch.baseline import Baseline, category_key
from predwatch.config import ESConfig
from predwatch.setup_es import setup_elasticsearch

WORDS = [f"w{i}" for i in range(150)]
NEW_WORDS = [f"zz{i}" for i in range(300)]
# Features the shifted serving data changes, and how.
SHIFTED = {
    "num_mean": "mean +0.6 sd",
    "num_var": "sd x 2.5",
    "num_gone": "every value missing",
    "cat_mass": "30% of the mass moved from a to d",
    "cat_new": "20% of values are a category never seen",
    "text_oov": "35% of the words never seen",
}
TEXT_FEATURES = ["text_oov", "text_same"]
TRAINED_AT = "2024-06-01T00:00:00Z"


def _sentences(rng: np.random.Generator, n: int, oov_share: float = 0.0) -> list[str]:
    out = []
    p = 1.0 / np.arange(1, len(WORDS) + 1)
    p /= p.sum()
    for _ in range(n):
        k = int(rng.integers(6, 14))
        words = list(rng.choice(WORDS, size=k, p=p))
        for i in range(k):
            if oov_share and rng.random() < oov_share:
                words[i] = str(rng.choice(NEW_WORDS))
        out.append(" ".join(words))
    return out


def frame(rng: np.random.Generator, n: int, *, shifted: bool = False) -> pd.DataFrame:
    """Training-like rows; `shifted` applies every change of SHIFTED."""
    cat_mass_p = [0.1, 0.3, 0.2, 0.4] if shifted else [0.4, 0.3, 0.2, 0.1]
    cat_new = rng.choice(["x", "y", "z"], size=n, p=[0.5, 0.3, 0.2]).astype(object)
    if shifted:
        cat_new[rng.random(n) < 0.2] = "brand_new"
    num_same = rng.exponential(1.0, n)
    cat_same = rng.choice(["red", "green", "blue"], size=n, p=[0.5, 0.3, 0.2])
    num_gone = rng.uniform(0, 10, n)
    num_gone[rng.random(n) < 0.02] = np.nan
    df = pd.DataFrame(
        {
            "num_mean": rng.normal(0.0 + (0.6 if shifted else 0.0), 1.0, n),
            "num_var": rng.normal(5.0, 2.0 * (2.5 if shifted else 1.0), n),
            "num_same": num_same,
            "num_gone": np.full(n, np.nan) if shifted else num_gone,
            "user.Age group": rng.normal(40, 12, n).round(),  # a name with a dot and a space
            "cat_mass": rng.choice(["a", "b", "c", "d"], size=n, p=cat_mass_p),
            "cat_new": cat_new,
            "cat_same": cat_same,
            "text_oov": _sentences(rng, n, 0.35 if shifted else 0.0),
            "text_same": _sentences(rng, n),
        }
    )
    # The prediction depends on unshifted inputs only: it must not drift.
    df["score"] = 1 / (1 + np.exp(-(num_same - 1 + (cat_same == "red") + rng.normal(0, 0.3, n))))
    return df


def annotate(row: dict[str, Any], baseline: Baseline) -> dict[str, Any]:
    """The `inputs` and `monitor` parts of one prediction document."""
    inputs: dict[str, Any] = {}
    missing: dict[str, int] = {}
    oov: dict[str, int] = {}
    unseen: dict[str, str] = {}
    oor: dict[str, int] = {}
    text: dict[str, Any] = {}
    for f in baseline.features:
        v = row.get(f.name)
        if isinstance(v, float) and math.isnan(v):
            v = None
        missing[f.name] = int(v is None)
        if v is None:
            if f.text is not None:
                text[f"{f.name}.{s.TEXT_TOKENS}"] = 0
                text[f"{f.name}.{s.TEXT_OOV_TOKENS}"] = 0
            continue
        if f.numeric is not None:
            inputs[f.name] = float(v)
            oor[f.name] = int(not f.numeric.min <= float(v) <= f.numeric.max)
        elif f.categorical is not None:
            key = category_key(v) or ""
            inputs[f.name] = key
            oov[f.name] = int(key not in f.categorical.vocabulary)
            if oov[f.name]:
                unseen[f.name] = key
        elif f.text is not None:
            inputs[f.name] = v
            tokens = f.text.tokenizer.tokens(v)
            new = [t for t in tokens if t not in f.text.vocabulary]
            text[f"{f.name}.{s.TEXT_TOKENS}"] = len(tokens)
            text[f"{f.name}.{s.TEXT_OOV_TOKENS}"] = len(new)
            text[f"{f.name}.{s.TEXT_OOV_RATE}"] = len(new) / len(tokens) if tokens else 0.0
            if new:
                text[f"{f.name}.{s.TEXT_OOV_TERMS}"] = sorted(set(new))[:20]
    monitor = {
        "missing": missing,
        "oov": oov,
        "unseen": unseen,
        "out_of_range": oor,
        "text": text,
        "nonfinite": 0,
        "baseline": baseline.id,
    }
    return {"inputs": inputs, "monitor": monitor}


def documents(
    df: pd.DataFrame,
    baseline: Baseline,
    start: dt.datetime,
    end: dt.datetime,
    rng: np.random.Generator,
    *,
    version: str = "1",
    latency_ms: float = 20.0,
) -> list[dict[str, Any]]:
    """One prediction document per row, timestamps spread over [start, end)."""
    span = (end - start).total_seconds()
    offsets = np.sort(rng.uniform(0, span, len(df)))
    docs = []
    for row, off in zip(df.to_dict("records"), offsets, strict=True):
        doc: dict[str, Any] = annotate(row, baseline)
        ts = start + dt.timedelta(seconds=float(off))
        doc[s.TIMESTAMP] = ts.isoformat().replace("+00:00", "Z")
        doc[s.PREDICTION_ID] = uuid.uuid4().hex
        doc["model"] = {"name": baseline.model, "version": version, "trained_at": TRAINED_AT}
        score = row.get("score")
        doc["prediction"] = {"value": float(score)} if score is not None else {}
        doc[s.LATENCY_MS] = float(rng.gamma(4.0, latency_ms / 4.0))
        docs.append(doc)
    return docs


def install(es: Elasticsearch, cfg: ESConfig, baseline: Baseline) -> None:
    """Index templates as `predwatch setup` installs them, with the model's own template."""
    setup_elasticsearch(es, cfg, [baseline])


def ship(es: Elasticsearch, docs: list[dict[str, Any]]) -> None:
    """Index documents into their daily indices (by @timestamp) and make them searchable."""
    actions = []
    for d in docs:
        when = dt.datetime.fromisoformat(d[s.TIMESTAMP].replace("Z", "+00:00"))
        index = s.index_name("predictions", d["model"]["name"], when)
        actions.append(
            {"_op_type": "create", "_index": index, "_id": d[s.PREDICTION_ID], "_source": d}
        )
    helpers.bulk(es, actions, refresh="wait_for", chunk_size=2000)


def cleanup(es: Elasticsearch, model: str) -> None:
    """Delete the model's indices and templates (by name: wildcard deletes may be refused)."""
    found = es.indices.get(index=f"predwatch-*-{model}*", expand_wildcards="all")
    for index in found.body:
        es.options(ignore_status=404).indices.delete(index=index)
    es.options(ignore_status=404).indices.delete_index_template(
        name=f"predwatch-predictions-{model}"
    )
