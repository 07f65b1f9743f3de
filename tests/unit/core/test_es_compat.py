"""The REST compatibility version a client asks each server for (predwatch.es_compat).

The fake node below answers like the integ-test-zip nodes do (the refusal body is the one an
8.19.21 node sends for `compatible-with=9`); the same behaviour against real 8.19 and 9.x
nodes is tested in tests/integration/core/test_es_majors.py.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from elastic_transport import ApiResponseMeta, BaseNode, HttpHeaders
from elastic_transport._node._base import NodeApiResponse

from predwatch import es as es_mod
from predwatch import es_compat as c
from predwatch.config import ESConfig

REFUSAL_8 = {
    "error": {
        "root_cause": [{"type": "media_type_header_exception", "reason": "Invalid media-type"}],
        "type": "media_type_header_exception",
        "reason": "Invalid media-type value on headers [Content-Type, Accept]",
        "caused_by": {
            "type": "status_exception",
            "reason": "Accept version must be either version 8 or 7, but found 9. "
            "Accept=application/vnd.elasticsearch+json; compatible-with=9",
        },
    },
    "status": 400,
}


class FakeNode(BaseNode):
    """A node of major `MAJOR` that refuses compatible-with above it, and logs requests."""

    MAJOR = 8
    STATUS_FOR_VERSION = 200
    log: ClassVar[list[tuple[str, str, dict[str, str]]]] = []

    def perform_request(  # type: ignore[override]
        self, method: str, target: str, body: Any = None, headers: Any = None, **_: Any
    ) -> NodeApiResponse:
        hdrs = {k.lower(): v for k, v in (headers or {}).items()}
        FakeNode.log.append((method, target, hdrs))
        asked = [int(v.rsplit("=", 1)[1]) for v in hdrs.values() if "compatible-with=" in v]
        if any(a > self.MAJOR for a in asked):
            status, payload = 400, REFUSAL_8
        elif target.startswith("/_nodes/_local"):
            status = self.STATUS_FOR_VERSION
            payload = {"nodes": {"n1": {"version": f"{self.MAJOR}.19.21"}}}
        else:
            status, payload = 200, {"cluster_name": "fake", "status": "green"}
        meta = ApiResponseMeta(
            status=status,
            http_version="1.1",
            headers=HttpHeaders(
                {"content-type": "application/json", "x-elastic-product": "Elasticsearch"}
            ),
            duration=0.0,
            node=self.config,
        )
        return NodeApiResponse(meta, json.dumps(payload).encode())


class Fake9(FakeNode):
    MAJOR = 9


class FakeForbidden8(FakeNode):
    STATUS_FOR_VERSION = 403


def _client(node: type[BaseNode]) -> Any:
    FakeNode.log = []
    return es_mod.client(ESConfig(url="http://127.0.0.1:9"), node_class=node)


def _compat(hdrs: dict[str, str]) -> set[str]:
    return {v.rsplit("=", 1)[1] for v in hdrs.values() if "compatible-with=" in v}


class TestHeaders:
    def test_with_compat_rewrites_every_compat_header(self) -> None:
        """Accept and Content-Type both get the new version; other headers stay as they were."""
        out = c.with_compat(
            {
                "Accept": "application/vnd.elasticsearch+json; compatible-with=9",
                "Content-Type": "application/vnd.elasticsearch+x-ndjson; compatible-with=9",
                "X-Opaque-Id": "abc",
            },
            8,
        )
        assert out["accept"].endswith("compatible-with=8")
        assert out["content-type"] == "application/vnd.elasticsearch+x-ndjson; compatible-with=8"
        assert out["x-opaque-id"] == "abc"

    def test_refusal_names_the_highest_accepted_version(self) -> None:
        """An 8.x refusal of compatible-with=9 says 8 or 7: ask for 8."""
        assert c.refused_compat(400, REFUSAL_8, 9) == 8

    def test_other_answers_are_not_refusals(self) -> None:
        """A 400 of another kind, a 403, or a refusal offering nothing lower change nothing."""
        other = {"error": {"type": "illegal_argument_exception", "reason": "x"}}
        assert c.refused_compat(400, other, 9) is None
        assert c.refused_compat(403, REFUSAL_8, 9) is None
        assert c.refused_compat(400, REFUSAL_8, 8) is None
        assert c.refused_compat(400, b"", 9) is None

    def test_node_version(self) -> None:
        """The version is read from a filtered nodes-info answer, None when absent."""
        assert c.node_version({"nodes": {"x": {"version": "8.19.21"}}}) == "8.19.21"
        assert c.node_version({}) is None


class TestCompatTransport:
    def test_an_8x_server_gets_compatible_with_8(self) -> None:
        """Against an 8.x server the client's first request works (was: 400 Invalid media-type)."""
        es = _client(FakeNode)
        assert es.cluster.health()["status"] == "green"
        assert es.transport.compat_major == 8
        assert es.transport.server_version == "8.19.21"
        _, target, hdrs = FakeNode.log[-1]
        assert target.startswith("/_cluster/health")
        assert _compat(hdrs) == {"8"}

    def test_the_version_is_settled_once(self) -> None:
        """One probe for the life of the client, not one per request."""
        es = _client(FakeNode)
        for _ in range(3):
            es.cluster.health()
        probes = [t for _, t, _ in FakeNode.log if t.startswith("/_nodes/_local")]
        assert len(probes) == 2  # the refused probe and its answer at 8

    def test_a_9x_server_keeps_compatible_with_9(self) -> None:
        """A 9.x server is asked for its own format: no second probe, headers unchanged."""
        es = _client(Fake9)
        es.cluster.health()
        assert es.transport.compat_major == 9
        assert [t for _, t, _ in FakeNode.log].count(c.VERSION_PATH) == 1
        assert _compat(FakeNode.log[-1][2]) == {"9"}

    def test_no_monitor_privilege_still_settles(self) -> None:
        """A 403 on the version probe (shipper user) still tells which header the server takes."""
        es = _client(FakeForbidden8)
        assert es.cluster.health()["status"] == "green"
        assert es.transport.compat_major == 8
        assert es.transport.server_version is None

    def test_a_later_refusal_lowers_and_resends(self) -> None:
        """A node of an older major met after the probe (rolling upgrade): resent at 8, once."""
        es = _client(Fake9)
        es.cluster.health()
        es.transport.node_pool.get().__class__ = FakeNode  # the node now answers as 8.x
        FakeNode.log = []
        assert es.cluster.health()["status"] == "green"
        assert [_compat(h) for _, _, h in FakeNode.log] == [{"9"}, {"8"}]
        assert es.transport.compat_major == 8


def test_shipper_sink_uses_the_same_transport() -> None:
    """The shipper's sink builds its client through predwatch.es, so it negotiates too."""
    from predwatch.shipper import ElasticsearchSink

    sink = ElasticsearchSink(ESConfig(url="http://127.0.0.1:9"))
    assert isinstance(sink.es.transport, c.CompatTransport)
    sink.close()
