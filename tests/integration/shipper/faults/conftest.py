"""Fixtures of the fault-injection scenarios: a fault proxy in front of the session's node,
shippers pointed at it, and a node the scenarios may kill."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from predwatch import devnode
from predwatch.config import ESConfig
from predwatch.shipper import Shipper
from tests.helpers.faults.fault_proxy import FaultProxy
from tests.helpers.faults.faults_check import KillableNode
from tests.helpers.shipper_es import Shippers

# A blackholed request ends in seconds, not the default 30 s; long enough that a loaded
# 2-core machine answers a 500-record _bulk in time (a timeout is retried: duplicates).
REQUEST_TIMEOUT = 10.0


@pytest.fixture
def proxy(es_config: ESConfig) -> Iterator[FaultProxy]:
    """A pass-through fault proxy on a free 127.0.0.1 port in front of the session's node."""
    parts = urlsplit(es_config.url)
    if parts.scheme != "http" or es_config.api_key or es_config.username:
        pytest.skip("the fault proxy speaks plain HTTP without credentials")
    p = FaultProxy(upstream_port=parts.port or 9200, upstream_host=parts.hostname or "127.0.0.1")
    p.start()
    yield p
    p.close()


@pytest.fixture
def via_proxy(proxy: FaultProxy, es_config: ESConfig) -> ESConfig:
    return ESConfig(url=proxy.url, request_timeout=REQUEST_TIMEOUT)


@pytest.fixture
def make_shipper(
    via_proxy: ESConfig, model: str, spool_root: Path
) -> Iterator[Callable[..., Shipper]]:
    """Shippers of `model` through the proxy (flush often, no SIGTERM hook); closed after."""
    shippers = Shippers(model, via_proxy, spool_root, close_timeout=1)
    yield shippers
    shippers.close()


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temp dir other users can traverse (pytest's tmp_path is 0700)."""
    d = Path(tempfile.mkdtemp(prefix="predwatch-faults-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def killable_node(es_config: ESConfig) -> Iterator[KillableNode]:
    """PREDWATCH_FAULTS_NODE_HOME: the home of the local node at PREDWATCH_ES_URL, which the
    scenarios may kill (a developer's own node); else a node of this session's own."""
    home = os.environ.get("PREDWATCH_FAULTS_NODE_HOME")
    if home:
        port = urlsplit(es_config.url).port or 9200
        yield KillableNode(devnode.LocalNode(home=Path(home), port=port))
        return
    # Not under pytest's tmp_path (mode 0700): the node's unprivileged user must traverse it.
    tmp = Path(tempfile.mkdtemp(prefix="predwatch-faults-node-"))
    node = devnode.LocalNode(home=tmp, port=devnode.free_port())
    node.start()
    try:
        yield KillableNode(node)
    finally:
        node.stop()
        shutil.rmtree(tmp, ignore_errors=True)
