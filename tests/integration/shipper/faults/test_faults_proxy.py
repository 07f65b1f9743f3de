"""The fault proxy itself, against a stdlib upstream (no Elasticsearch needed)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.helpers.faults.fault_proxy import FaultProxy, per_id


class Upstream(BaseHTTPRequestHandler):
    """Answers GET with {"ok": true}; `_bulk` with one 201 item per item it received."""

    seen: list[bytes] = []  # noqa: RUF012 (the class is the test's recorder)

    def do_GET(self) -> None:
        self._answer({"ok": True})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        Upstream.seen.append(body)
        n = len([x for x in body.split(b"\n") if x.strip()]) // 2
        self._answer({"errors": False, "items": [{"create": {"status": 201}}] * n})

    def _answer(self, obj: Any) -> None:
        data = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Upstream.seen = []
    p = FaultProxy(upstream_port=server.server_address[1]).start()
    yield p
    p.close()
    server.shutdown()
    server.server_close()


def request(
    p: FaultProxy, method: str = "GET", path: str = "/", body: bytes = b"", timeout: float = 5
) -> tuple[int, dict[str, str], bytes]:
    c = http.client.HTTPConnection("127.0.0.1", p.port, timeout=timeout)
    try:
        c.request(method, path, body=body or None)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def bulk(*ids: str) -> bytes:
    return b"".join(
        json.dumps({"create": {"_index": "i", "_id": i}}).encode() + b"\n{}\n" for i in ids
    )


class TestFaultProxy:
    def test_pass_through_and_status_for_a_number_of_requests(self, proxy: FaultProxy) -> None:
        """Passes requests through; `status(..., times=1)` answers one request, then passes."""
        assert request(proxy)[2] == b'{"ok": true}'
        proxy.status(429, retry_after=2, times=1)
        status, headers, body = request(proxy)
        assert status == 429 and headers["retry-after"] == "2"
        assert json.loads(body)["status"] == 429
        assert request(proxy)[0] == 200
        assert proxy.hits("status") == 1 and proxy.hits("pass") == 2

    def test_paths_limit_a_fault(self, proxy: FaultProxy) -> None:
        """A fault limited to `/_bulk` leaves other paths alone."""
        proxy.status(503, paths=["/_bulk"])
        assert request(proxy, path="/_cluster/health")[0] == 200
        assert request(proxy, "POST", "/_bulk", bulk("a"))[0] == 503

    def test_refuse_then_listen_again(self, proxy: FaultProxy) -> None:
        """refuse() closes the port (connect is refused); pass_through() reopens it."""
        proxy.refuse()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", proxy.port), timeout=2).close()
        proxy.pass_through()
        assert request(proxy)[0] == 200

    def test_blackhole_never_answers(self, proxy: FaultProxy) -> None:
        """A blackholed request times out on the client's side."""
        proxy.blackhole()
        with pytest.raises(TimeoutError):
            request(proxy, timeout=0.5)
        assert proxy.wait_hits("blackhole", 1, 5)

    def test_cut_sends_half_a_response(self, proxy: FaultProxy) -> None:
        """A cut response is forwarded upstream but ends mid-body."""
        proxy.cut(times=1)
        with pytest.raises(http.client.IncompleteRead):
            request(proxy, "POST", "/_bulk", bulk("a", "b"))
        assert len(Upstream.seen) == 1  # the request reached the upstream
        assert request(proxy, "POST", "/_bulk", bulk("a"))[0] == 200

    def test_item_faults(self, proxy: FaultProxy) -> None:
        """400/429 items are kept from the upstream and answered as errors; 409 is forwarded."""
        proxy.items(per_id({"b": [400], "c": [429], "d": [409]}))
        status, _, body = request(proxy, "POST", "/_bulk", bulk("a", "b", "c", "d"))
        items = [next(iter(i.values())) for i in json.loads(body)["items"]]
        assert status == 200 and json.loads(body)["errors"] is True
        assert [i["status"] for i in items] == [201, 400, 429, 409]
        assert items[1]["error"]["type"] == "mapper_parsing_exception"
        assert b'"b"' not in Upstream.seen[0] and b'"c"' not in Upstream.seen[0]
        assert b'"d"' in Upstream.seen[0]
        _, _, body = request(proxy, "POST", "/_bulk", bulk("b"))  # each fault consumed
        assert json.loads(body)["errors"] is False

    def test_item_mode_refuses_requests_for_one_index(self, proxy: FaultProxy) -> None:
        """With `refuse_index`, a `_bulk` request writing to that index is refused whole."""
        proxy.items(lambda _id: None, refuse_index="dl", status=400)
        other = json.dumps({"create": {"_index": "dl", "_id": "x"}}).encode() + b"\n{}\n"
        assert request(proxy, "POST", "/_bulk", bulk("a") + other)[0] == 400
        assert request(proxy, "POST", "/_bulk", bulk("a"))[0] == 200
        assert len(Upstream.seen) == 1
