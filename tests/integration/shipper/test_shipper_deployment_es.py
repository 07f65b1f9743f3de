"""The deployment document on the real node: the installed environment by default, in an
index mapped for the alert rules, and one document for a pre-fork server's parent and
workers."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from predwatch import schema as s
from predwatch.config import ESConfig
from predwatch.shipper import Shipper

DEPLOYMENTS = s.index_name("deployments")


def _docs(es: Elasticsearch, model: str) -> list[dict[str, Any]]:
    es.indices.refresh(index=DEPLOYMENTS)
    r = es.search(index=DEPLOYMENTS, query={"term": {s.MODEL_NAME: model}}, size=100)
    return [h["_source"] | {"_id": h["_id"]} for h in r["hits"]["hits"]]


@pytest.fixture
def deployed(es: Elasticsearch, model: str) -> Iterator[str]:
    """The test's model; its deployment documents are deleted afterwards (by id: the
    minimal node has no _delete_by_query)."""
    yield model
    es.options(ignore_status=404).indices.refresh(index=DEPLOYMENTS)
    r = es.options(ignore_status=404).search(
        index=DEPLOYMENTS, query={"term": {s.MODEL_NAME: model}}, size=1000, source=False
    )
    ops = [
        {"delete": {"_index": DEPLOYMENTS, "_id": h["_id"]}}
        for h in r.body.get("hits", {}).get("hits", [])
    ]
    if ops:
        es.bulk(operations=ops, refresh=True)


class TestDeploymentDocument:
    def test_installed_environment_is_recorded(
        self, es: Elasticsearch, es_config: ESConfig, deployed: str, spool_root: Path
    ) -> None:
        """By default the installed distributions are recorded, in keyword fields the alert
        rules aggregate on (from the template, or the mapping the worker creates the index
        with when set-up has not run)."""
        with Shipper(
            deployed, "2.0", es_config=es_config, spool_dir=spool_root, handle_sigterm=False
        ) as sh:
            sh.log_prediction({"a": 1}, 0.5)
            assert sh.flush(20)
            assert sh.stats()["deployment"] in ("recorded", "known")
        (doc,) = _docs(es, deployed)
        assert doc["packages"]["elasticsearch"] and doc["packages"]["pytest"] == pytest.__version__
        assert doc["python"]["version"] == sys.version.split()[0]
        mapping = es.indices.get_mapping(index=DEPLOYMENTS)[DEPLOYMENTS]["mappings"]
        props = mapping["properties"]
        assert props["fingerprint"]["type"] == "keyword"
        assert props["model"]["properties"]["version"]["type"] == "keyword"
        assert props["packages"]["properties"]["pytest"]["type"] == "keyword"

    def test_prefork_workers_share_one_document(
        self, es: Elasticsearch, es_config: ESConfig, deployed: str, spool_root: Path
    ) -> None:
        """A parent and three forked workers (one deployment, one host) leave one document."""
        script = textwrap.dedent(
            """
            import os, sys
            from predwatch.shipper import Shipper
            sh = Shipper(sys.argv[1], "1.0", es_url=sys.argv[2], spool_dir=sys.argv[3],
                         deployment_packages={"numpy": "1.26.4"})
            sh.log_prediction({"parent": 1}, 0.5)
            children = []
            for k in range(3):
                pid = os.fork()
                if pid == 0:
                    for i in range(5):
                        sh.log_prediction({"worker": k, "i": i}, 0.5)
                    sys.exit(0 if sh.close(20) else 3)
                children.append(pid)
            for pid in children:
                assert os.waitpid(pid, 0)[1] == 0
            assert sh.close(20)
            """
        )
        subprocess.run(
            [sys.executable, "-c", script, deployed, es_config.url, str(spool_root)],
            check=True,
            timeout=120,
        )
        (doc,) = _docs(es, deployed)
        assert doc["packages"] == {"numpy": "1.26.4"}
