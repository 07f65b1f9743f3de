"""One `predwatch demo --fast` run shared by the demo's integration tests (it takes ~30 s)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from predwatch.config import ESConfig
from tests.helpers.demo_run import DemoRun, run_demo


def _cleanup(es: Elasticsearch, model: str) -> None:
    found = es.options(ignore_status=404).indices.get(
        index=f"predwatch-*-{model}*", expand_wildcards="all"
    )
    for index in found.body if isinstance(found.body, dict) else {}:
        es.options(ignore_status=404).indices.delete(index=index)
    templates = es.options(ignore_status=404).indices.get_index_template(name=f"*{model}*")
    for t in templates.body.get("index_templates", []):
        es.options(ignore_status=404).indices.delete_index_template(name=t["name"])
    es.options(ignore_status=404).delete(index="predwatch-baselines", id=f"{model}@1.4.0")
    hits = es.options(ignore_status=404).search(
        index="predwatch-alerts", size=1000, query={"term": {"model.name": model}}
    )
    for h in hits.body.get("hits", {}).get("hits", []):
        es.options(ignore_status=404).delete(index=h["_index"], id=h["_id"])


@pytest.fixture(scope="session")
def demo_run(
    es_config: ESConfig, es: Elasticsearch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoRun]:
    """`make demo`'s script with --fast, under a model name of its own, once per session."""
    model = f"demo_t{uuid.uuid4().hex[:8]}"
    output = tmp_path_factory.mktemp("demo") / "out"
    try:
        yield run_demo(es_config, model, output, make_demo=True)
    finally:
        _cleanup(es, model)
