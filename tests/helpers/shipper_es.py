"""Helpers of the shipper's integration tests: a shipper to test with, reading back what
landed, cleaning up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from predwatch import schema as s
from predwatch.config import ESConfig
from predwatch.shipper import Shipper


def fast_shipper(model: str, es_config: ESConfig, spool_dir: Path, **kwargs: Any) -> Shipper:
    """A shipper of `model` version 1.0 as the tests use one: it flushes every 50 ms and
    installs no SIGTERM hook in the test process; `kwargs` add or override
    Shipper options."""
    opts: dict[str, Any] = {"flush_interval": 0.05, "handle_sigterm": False, **kwargs}
    return Shipper(model, "1.0", es_config=es_config, spool_dir=spool_dir, **opts)


class Shippers:
    """The `fast_shipper`s one test makes (`make(**kwargs)`; `model` and `spool_dir` may be
    overridden too), all closed by `close()` when the test ends."""

    def __init__(
        self,
        model: str,
        es_config: ESConfig,
        spool_dir: Path,
        *,
        close_timeout: float = 5.0,
        **defaults: Any,
    ) -> None:
        self.model, self.es_config, self.spool_dir = model, es_config, spool_dir
        self.close_timeout, self.defaults = close_timeout, defaults
        self.made: list[Shipper] = []

    def __call__(self, **kwargs: Any) -> Shipper:
        opts = {**self.defaults, **kwargs}
        model = opts.pop("model", self.model)
        sh = fast_shipper(model, self.es_config, opts.pop("spool_dir", self.spool_dir), **opts)
        self.made.append(sh)
        return sh

    def close(self) -> None:
        for sh in self.made:
            sh.close(timeout=self.close_timeout)


def landed_ids(es: Elasticsearch, model: str, kind: str = "predictions") -> list[str]:
    """Every prediction_id stored for `model` (refreshes first; pages through a point in
    time, so it needs no particular mapping of prediction_id)."""
    pattern = s.index_pattern(kind, model)
    es.options(ignore_status=404).indices.refresh(index=pattern)
    if not es.options(ignore_status=404).indices.get(index=pattern).body:
        return []
    pit = es.open_point_in_time(index=pattern, keep_alive="1m")["id"]
    out: list[str] = []
    after: list[Any] | None = None
    try:
        while True:
            kw: dict[str, Any] = {"search_after": after} if after else {}
            r = es.search(
                size=5000,
                sort=[{"_shard_doc": "asc"}],
                source=["prediction_id"],
                pit={"id": pit, "keep_alive": "1m"},
                **kw,
            )
            hits = r["hits"]["hits"]
            if not hits:
                return out
            out += [h["_source"]["prediction_id"] for h in hits]
            after = hits[-1]["sort"]
    finally:
        es.close_point_in_time(id=pit)


def deadletters(es: Elasticsearch, ids: list[str]) -> list[dict[str, Any]]:
    index = s.index_name("deadletter")
    es.options(ignore_status=404).indices.refresh(index=index)
    r = es.options(ignore_status=404).search(
        index=index,
        size=1000,
        query={"terms": {"prediction_id": ids}},
        ignore_unavailable=True,
    )
    return [h["_source"] for h in r.get("hits", {}).get("hits", [])]


def delete_model_indices(es: Elasticsearch, model: str) -> None:
    """Delete the model's indices by concrete name (wildcard deletes may be refused)."""
    names = list(es.options(ignore_status=404).indices.get(index=f"predwatch-*-{model}*"))
    names = [n for n in names if n != "status" and model in n]
    if names:
        es.options(ignore_status=404).indices.delete(index=",".join(names))


def delete_deadletters(es: Elasticsearch, model: str) -> None:
    """Delete this model's dead letters one by one (no _delete_by_query on minimal nodes)."""
    index = s.index_name("deadletter")
    es.options(ignore_status=404).indices.refresh(index=index)
    r = es.options(ignore_status=404).search(
        index=index,
        size=10000,
        query={"term": {"model.name": model}},
        source=False,
        ignore_unavailable=True,
    )
    ops = [
        {"delete": {"_index": index, "_id": h["_id"]}} for h in r.get("hits", {}).get("hits", [])
    ]
    if ops:
        es.bulk(operations=ops, refresh=True)
