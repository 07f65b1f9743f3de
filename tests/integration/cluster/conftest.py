"""A real 3-node Elasticsearch cluster on 127.0.0.1 for the tests of shard-level behaviour
(terms across shards, replicas, a node lost mid-stream).

One cluster per test session, started by the first test that needs it (~1 min on an idle
2-core machine, several on a busy one) and stopped at the end. During development,
PREDWATCH_TEST_CLUSTER_HOME names the home of a cluster already started with
`predwatch es start --nodes 3 --home HOME --port PORT`: the tests use it, restart any
node they kill, and leave it running.
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from predwatch import devnode
from predwatch import es as es_mod
from predwatch.config import ESConfig
from predwatch.devnode.cluster import TRANSPORT_OFFSET, LocalCluster
from predwatch.setup_es import setup_elasticsearch
from tests.helpers.cluster_data import REPLICAS, SHARDS, put_custom

NODES = 3


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Selectable (`-m "not cluster"` skips the cluster start locally); CI runs them.
    here = str(Path(__file__).parent)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.cluster)


def _free_base(n: int) -> int:
    """A first HTTP port P with P..P+n-1 and their transport ports P+100.. all free."""
    for _ in range(100):
        base = random.randint(20_000, 40_000)
        ports = [base + i for i in range(n)] + [base + TRANSPORT_OFFSET + i for i in range(n)]
        if not any(devnode.port_in_use(p) for p in ports):
            return base
    raise RuntimeError("no free block of ports for the test cluster")


@pytest.fixture(scope="session")
def cluster() -> Iterator[LocalCluster]:
    """The session's 3-node cluster (started once; stopped at the end unless reused)."""
    reuse = os.environ.get("PREDWATCH_TEST_CLUSTER_HOME")
    if reuse:
        found = LocalCluster(home=Path(reuse))
        found.start()  # no-op for running nodes
        yield found
        return
    home = devnode.temporary_home("cluster")
    started = LocalCluster(home=home, port=_free_base(NODES), nodes=NODES)
    started.start()
    try:
        yield started
    finally:
        started.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def cluster_config(cluster: LocalCluster) -> ESConfig:
    """Connection settings naming every node of the cluster."""
    return ESConfig(url=cluster.url)


@pytest.fixture(scope="session")
def cluster_es(cluster_config: ESConfig) -> Iterator[Elasticsearch]:
    client = es_mod.client(cluster_config)
    es_mod.ping(client, cluster_config)
    yield client
    client.close()


@pytest.fixture(scope="session")
def sharded(cluster_es: Elasticsearch, cluster_config: ESConfig) -> ESConfig:
    """predwatch's templates on the cluster with 3 primary shards and 1 replica per index,
    set the way a user does: in predwatch@custom, then `predwatch setup`."""
    put_custom(cluster_es, SHARDS, REPLICAS)
    setup_elasticsearch(cluster_es, cluster_config)
    return cluster_config
