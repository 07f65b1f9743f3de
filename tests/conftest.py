"""Fixtures shared by every test.

Integration tests (tests/integration) run against a real Elasticsearch: the one named by
PREDWATCH_ES_URL (the test command starts a local node and sets it), or a node this session
starts itself through `predwatch.devnode` and stops at the end.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from predwatch import es as es_mod
from predwatch.config import ESConfig

REPO = Path(__file__).resolve().parent.parent


def node_version() -> str:
    """Version of the nodes tests start themselves: PREDWATCH_TEST_ES_VERSION (`.ci/test` sets
    it for its run on the second major) or the default."""
    from predwatch import devnode

    return os.environ.get("PREDWATCH_TEST_ES_VERSION") or devnode.DEFAULT_VERSION


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def es_config() -> Iterator[ESConfig]:
    """Connection settings of the session's real Elasticsearch."""
    if os.environ.get("PREDWATCH_ES_URL"):
        yield ESConfig.from_env()
        return
    from predwatch import devnode

    home = devnode.temporary_home("session")
    node = devnode.LocalNode(home=home, port=devnode.free_port(), version=node_version())
    node.start()
    try:
        yield ESConfig(url=node.url)
    finally:
        node.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def es(es_config: ESConfig) -> Iterator[Elasticsearch]:
    client = es_mod.client(es_config)
    es_mod.ping(client, es_config)
    yield client
    client.close()


@pytest.fixture
def model_name(es: Elasticsearch) -> Iterator[str]:
    """A model name no other test uses; its indices and templates are deleted afterwards."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    yield name
    # Resolve names first: clusters may refuse wildcard deletes (destructive_requires_name).
    found = es.indices.get(index=f"predwatch-*-{name}*", expand_wildcards="all")
    for index in found.body:
        es.options(ignore_status=404).indices.delete(index=index)
    templates = es.options(ignore_status=404).indices.get_index_template(name=f"*{name}*")
    for t in templates.body.get("index_templates", []):
        es.options(ignore_status=404).indices.delete_index_template(name=t["name"])


@pytest.fixture(scope="session")
def secured_node() -> Iterator[object]:
    """A second local node with security on: `elastic` password, API key and TLS with its CA.

    PREDWATCH_TEST_SECURED_HOME (+ _PORT): a secured node already started there is used
    (and left running) instead of starting one."""
    from predwatch import devnode

    if os.environ.get("PREDWATCH_TEST_SECURED_HOME"):
        given = devnode.LocalNode(
            home=Path(os.environ["PREDWATCH_TEST_SECURED_HOME"]),
            port=int(os.environ.get("PREDWATCH_TEST_SECURED_PORT", "9200")),
        )
        given.start()
        yield given
        return
    home = devnode.temporary_home("secured")
    node = devnode.LocalNode(
        home=home, port=devnode.free_port(), security=True, version=node_version()
    )
    node.start()
    try:
        yield node
    finally:
        node.stop()
        shutil.rmtree(home, ignore_errors=True)
