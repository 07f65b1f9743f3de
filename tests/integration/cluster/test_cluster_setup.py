"""Shards and replicas set in predwatch@custom reach the indices of a real 3-node cluster,
and the cluster's local-node commands report all of its nodes."""

from __future__ import annotations

import json
import uuid

from click.testing import CliRunner
from elasticsearch import Elasticsearch

from predwatch import schema as s
from predwatch.cli import main
from predwatch.config import ESConfig
from predwatch.devnode.cluster import LocalCluster
from predwatch.results_store import ensure_index
from predwatch.setup_es import setup_elasticsearch
from tests.helpers.cluster_data import REPLICAS, SHARDS, put_custom


def _index(es: Elasticsearch) -> str:
    index = f"predwatch-predictions-t_{uuid.uuid4().hex[:10]}-2025.01.01"
    es.indices.create(index=index)
    return index


def _settings(es: Elasticsearch, index: str) -> dict[str, str]:
    return dict(es.indices.get_settings(index=index)[index]["settings"]["index"])


class TestCustomShardsAndReplicas:
    def test_three_shards_one_replica(self, sharded: ESConfig, cluster_es: Elasticsearch) -> None:
        """A new predictions index gets predwatch@custom's 3 primaries and 1 replica."""
        index = _index(cluster_es)
        try:
            got = _settings(cluster_es, index)
            assert (got["number_of_shards"], got["number_of_replicas"]) == (
                str(SHARDS),
                str(REPLICAS),
            )
        finally:
            cluster_es.indices.delete(index=index)

    def test_two_replicas_not_capped(self, sharded: ESConfig, cluster_es: Elasticsearch) -> None:
        """number_of_replicas 2 in predwatch@custom is used, not capped at 1 by auto-expand."""
        put_custom(cluster_es, SHARDS, 2)
        setup_elasticsearch(cluster_es, sharded)
        index = _index(cluster_es)
        try:
            got = _settings(cluster_es, index)
            assert got["number_of_replicas"] == "2" and "auto_expand_replicas" not in got
            health = cluster_es.cluster.health(index=index, wait_for_status="green", timeout="60s")
            assert health["active_shards"] == SHARDS * 3  # 3 nodes hold all three copies
        finally:
            cluster_es.indices.delete(index=index)
            put_custom(cluster_es, SHARDS, REPLICAS)
            setup_elasticsearch(cluster_es, sharded)

    def test_setup_and_drift_index_over_several_hosts(
        self, sharded: ESConfig, cluster_es: Elasticsearch
    ) -> None:
        """`predwatch setup elasticsearch` works with a comma-separated URL (exit 0), and an
        index a writer creates itself keeps predwatch@custom's shards."""
        res = CliRunner().invoke(main, ["setup", "elasticsearch", "--es-url", sharded.url])
        assert res.exit_code == 0, res.output
        assert sharded.url in res.output
        index = s.index_name("drift", f"t_{uuid.uuid4().hex[:10]}")
        ensure_index(cluster_es, sharded, index, "drift")
        try:
            assert _settings(cluster_es, index)["number_of_shards"] == str(SHARDS)
        finally:
            cluster_es.indices.delete(index=index)


class TestClusterCli:
    def test_status_and_env(self, cluster: LocalCluster) -> None:
        """`es status --json` lists every node; `es env` exports all their URLs."""
        common = ["--home", str(cluster.home), "--port", str(cluster.port)]
        r = CliRunner()
        status = json.loads(r.invoke(main, ["es", "status", *common, "--json"]).output)
        assert status["running"] is True and len(status["nodes"]) == 3
        assert status["health"] in ("green", "yellow")
        assert all(isinstance(n["pid"], int) for n in status["nodes"])
        env = r.invoke(main, ["es", "env", *common]).output
        assert f"export PREDWATCH_ES_URL={cluster.url}" in env
        assert cluster.url.count(",") == 2
        # started again: nothing to do, says so
        again = r.invoke(main, ["es", "start", *common])
        assert again.exit_code == 0 and "already running" in again.output, again.output
