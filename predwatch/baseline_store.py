"""Baselines in Elasticsearch: one document per model@version in `predwatch-baselines`,
so every analyzer job and every serving replica reads the same profile."""

from __future__ import annotations

from typing import Any

import elastic_transport
import elasticsearch
from elasticsearch import Elasticsearch

from predwatch import es as es_mod
from predwatch import schema
from predwatch.baseline import Baseline, BaselineError
from predwatch.config import ESConfig
from predwatch.results_store import ensure_index


def baselines_index() -> str:
    return schema.index_name("baselines")


def baseline_document(baseline: Baseline) -> dict[str, Any]:
    """The stored document: searchable identity fields + the profile kept verbatim."""
    return {
        schema.TIMESTAMP: baseline.created_at,
        "baseline_id": baseline.id,
        "model": {"name": baseline.model, "version": baseline.version},
        "profile": baseline.to_dict(),
    }


def _ensure_index(es: Elasticsearch, cfg: ESConfig, index: str) -> None:
    ensure_index(es, cfg, index, "baselines")


def upload_baseline(es: Elasticsearch, cfg: ESConfig, baseline: Baseline) -> str:
    """Store `baseline` (replacing the same model@version); returns the document id."""
    index = baselines_index()
    _ensure_index(es, cfg, index)
    doc = baseline_document(baseline)
    es_mod.call(
        cfg,
        lambda: es.index(index=index, id=baseline.id, document=doc, refresh="wait_for"),
    )
    return baseline.id


def baseline_from_es(
    es: Elasticsearch, cfg: ESConfig, model: str, version: str | None = None
) -> Baseline:
    """The stored baseline of `model` at `version`, or its newest one (by created_at)."""
    try:
        schema.validate_model_name(model)
    except schema.SchemaError as exc:
        raise BaselineError(str(exc)) from None
    index = baselines_index()
    what = f"model {model!r}" + (f" version {version!r}" if version else "")
    hint = (
        f"no baseline for {what} in {index}; build one with "
        f"`predwatch baseline build DATA --model {model} --version V --upload`"
    )
    try:
        if version is not None:
            resp = es.get(index=index, id=f"{model}@{version}")
            source = resp.body.get("_source")
        else:
            resp = es.search(
                index=index,
                size=1,
                query={"term": {schema.MODEL_NAME: model}},
                sort=[{schema.TIMESTAMP: {"order": "desc"}}],
            )
            hits = resp.body.get("hits", {}).get("hits", [])
            source = hits[0].get("_source") if hits else None
    except elasticsearch.NotFoundError:
        raise BaselineError(hint) from None
    except (elasticsearch.ApiError, elastic_transport.TransportError) as exc:
        raise es_mod.explain(exc, cfg) from None
    if not isinstance(source, dict) or not isinstance(source.get("profile"), dict):
        raise BaselineError(hint)
    stored_id = source.get("baseline_id", f"{model}@{version}")
    return Baseline.from_dict(source["profile"], source=f"baseline {stored_id} in {index}")
