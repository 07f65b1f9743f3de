"""Integration tests: one predwatch install against the session's node, whichever supported
major it runs (CI runs them on a 9.x node, then again on an 8.19.21 node: `.ci/test`).
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from predwatch import es as es_mod
from predwatch.cli import main
from predwatch.config import ESConfig
from predwatch.es_compat import CLIENT_MAJOR


def _major(es: Elasticsearch, cfg: ESConfig) -> int:
    return int(es_mod.cluster_version(es, cfg).split(".")[0])


def test_client_asks_for_the_servers_own_major(es_config: ESConfig) -> None:
    """A fresh client settles on compatible-with=<server major> (8 on 8.19, 9 on 9.x)."""
    client = es_mod.client(es_config)
    try:
        health = es_mod.ping(client, es_config)
        assert health["status"] in ("green", "yellow")
        transport = client.transport
        server = transport.server_version  # type: ignore[attr-defined]
        assert server is not None
        assert transport.compat_major == min(int(server.split(".")[0]), CLIENT_MAJOR)  # type: ignore[attr-defined]
    finally:
        client.close()


def test_setup_command_exits_0(es_config: ESConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    """`predwatch setup elasticsearch` works on both majors (8.19 exited 2: Invalid media-type)."""
    monkeypatch.setenv("PREDWATCH_ES_URL", es_config.url)
    result = CliRunner().invoke(main, ["setup", "elasticsearch"])
    assert result.exit_code == 0, result.output
    assert "refused" not in result.output


def test_missing_modules_are_detected(es: Elasticsearch, es_config: ESConfig) -> None:
    """ILM and Watcher are absent from the integ-test-zip of both majors, and are seen absent
    (8.19 answers 405 for their GET endpoints, which read as present before)."""
    assert es_mod.has_api(es, es_config, "/_ilm/status") is False
    assert es_mod.has_api(es, es_config, "/_watcher/stats") is False
    assert es_mod.has_api(es, es_config, "/_cluster/health") is True


def test_subobjects_false_is_accepted(es: Elasticsearch, model_name: str) -> None:
    """`subobjects: false` (feature names with dots) maps the same on both majors."""
    index = f"majors-{model_name}"  # outside predwatch-*: no template applies
    es.indices.create(
        index=index,
        mappings={"properties": {"inputs": {"type": "object", "subobjects": False}}},
    )
    try:
        es.index(index=index, id="1", document={"inputs": {"user.City Name": "x"}}, refresh=True)
        props = es.indices.get_mapping(index=index)[index]["mappings"]["properties"]
        assert "user.City Name" in props["inputs"]["properties"]
    finally:
        es.indices.delete(index=index)


def test_model_indices_resolve(es: Elasticsearch, es_config: ESConfig, model_name: str) -> None:
    """The analyzers find a model's daily indices on both majors (the client's POST form of
    resolve-index is refused by 8.19 with 405)."""
    from predwatch.analyzers.fetch import model_indices

    index = f"predwatch-predictions-{model_name}-2026.01.01"
    es.indices.create(index=index)
    assert model_indices(es, es_config, model_name) == [index]
