"""The shipper keeps delivering when a node of the cluster dies mid-stream: every prediction
arrives exactly once (checked by id). The node is killed with SIGKILL, by the pid of the
process this session started, and started again afterwards."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from predwatch import schema as s
from predwatch.config import ESConfig
from predwatch.devnode.cluster import LocalCluster
from predwatch.shipper import Shipper

N = 6000
KILL_AT = N // 3


@pytest.fixture
def model(cluster_es: Elasticsearch) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:10]}"
    yield name
    found = cluster_es.indices.get(index=s.index_pattern("predictions", name))
    for index in found.body:
        cluster_es.options(ignore_status=404).indices.delete(index=index)


def _ids(es: Elasticsearch, model: str) -> dict[str, int]:
    """Every prediction_id in the model's indices with its number of documents (exact:
    composite paging)."""
    out: dict[str, int] = {}
    after = None
    while True:
        comp: dict[str, object] = {
            "size": 1000,
            "sources": [{"id": {"terms": {"field": s.PREDICTION_ID}}}],
        }
        if after:
            comp["after"] = after
        resp = es.search(
            index=s.index_pattern("predictions", model),
            size=0,
            aggs={"ids": {"composite": comp}},
        )
        agg = resp["aggregations"]["ids"]
        for b in agg["buckets"]:
            out[b["key"]["id"]] = b["doc_count"]
        after = agg.get("after_key")
        if not agg["buckets"] or not after:
            return out


def _wait_green(es: Elasticsearch, index: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = es.options(ignore_status=408).cluster.health(
            index=index, wait_for_status="green", timeout="5s"
        )
        if health["status"] == "green":
            return
    raise AssertionError(f"{index} did not turn green: {health.body}")


class TestNodeKilledMidStream:
    def test_no_loss_no_duplicate(
        self,
        cluster: LocalCluster,
        sharded: ESConfig,
        cluster_es: Elasticsearch,
        model: str,
        tmp_path: Path,
    ) -> None:
        """SIGKILL of the first node mid-stream: all predictions arrive, each once."""
        victim = cluster.nodes[0]
        shipper = Shipper(
            model,
            model_version="1",
            es_url=sharded.hosts,
            spool_dir=tmp_path,
            batch_size=100,
            flush_interval=0.2,
            deployment=False,
            handle_sigterm=False,
        )
        ids = [f"{model}-{i:05d}" for i in range(N)]
        killed_pid = None
        try:
            for i, pid in enumerate(ids):
                shipper.log_prediction({"x": i}, prediction=0.5, prediction_id=pid)
                if i == KILL_AT:
                    # Kill once the stream is established and today's index has its replicas:
                    # a copy of every shard survives on another node.
                    assert shipper.flush(timeout=300), shipper.stats()
                    _wait_green(cluster_es, s.index_pattern("predictions", model))
                    killed_pid = victim.pid()
                    assert killed_pid is not None
                    os.kill(killed_pid, signal.SIGKILL)
                time.sleep(0.0005)  # a stream, not one burst
            assert shipper.flush(timeout=300), shipper.stats()
            stats = shipper.stats()
        finally:
            shipper.close()
            if killed_pid is not None:
                cluster.start()  # the killed node again, for the tests that follow
        print(f"after SIGKILL of pid {killed_pid}: {stats}")
        assert stats["acked"] + stats["duplicates"] == N, stats
        assert stats["dropped_total"] == 0 and stats["dead_lettered"] == 0, stats
        live = next(n for n in cluster.nodes if n is not victim)
        es = Elasticsearch(live.url)
        es.indices.refresh(index=s.index_pattern("predictions", model))
        found = _ids(es, model)
        es.close()
        assert set(found) == set(ids)  # 0 lost
        assert set(found.values()) == {1}  # 0 duplicated
