"""A small HTTP proxy on 127.0.0.1 that injects faults between a shipper and a real node.

    proxy = FaultProxy(upstream_port=9200).start()
    shipper = Shipper(..., es_url=proxy.url)
    proxy.refuse()                     # connect() fails: nothing listens on the port
    proxy.blackhole()                  # accepts, reads the request, never answers
    proxy.delay(0.5)                   # forwards after a delay
    proxy.cut(times=2)                 # forwards, then sends half of the response and closes
    proxy.status(429, retry_after=1)   # answers whole requests itself (not forwarded)
    proxy.items(per_id({pid: [429]}))  # rewrites chosen items of `_bulk` requests
    proxy.pass_through()

Every mode but `pass`/`refuse` can be limited to requests whose path starts with
`paths` and to the next `times` requests (then the proxy passes through again). A mode
switch takes effect on the next request; requests held by `blackhole` are closed
unanswered when the mode changes. `hits(mode)` counts the requests each mode handled,
so a test can wait until a fault was really seen instead of sleeping.

Item faults (`items`): `choose(doc_id)` returns a status or None per item of a `_bulk`
request. 400 and 429 items are taken out of the forwarded request (they never reach
Elasticsearch) and answered with `mapper_parsing_exception` /
`es_rejected_execution_exception`; 409 items are forwarded and their answer replaced by
`version_conflict_engine_exception` (the document is there, as after a replay).
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
        "proxy-authenticate",
        "content-length",
    }
)
ITEM_ERRORS = {
    400: ("mapper_parsing_exception", "failed to parse (injected by the fault proxy)"),
    429: ("es_rejected_execution_exception", "rejected execution (injected by the fault proxy)"),
    409: ("version_conflict_engine_exception", "document already exists (injected)"),
}
REQUEST_ERRORS = {
    400: "illegal_argument_exception",
    401: "security_exception",
    403: "security_exception",
    404: "index_not_found_exception",
    413: "request_entity_too_large",
    429: "es_rejected_execution_exception",
    500: "internal_server_error",
    503: "unavailable_shards_exception",
}
Choose = Callable[[str], int | None]


@dataclass
class Rule:
    mode: str = "pass"
    status: int = 0
    retry_after: float | None = None
    delay: float = 0.0
    times: int | None = None  # None: until changed
    paths: tuple[str, ...] = ()
    choose: Choose | None = None
    refuse_index: str | None = None  # items mode: answer requests writing to it with `status`
    # Set when the mode changes or the proxy closes: held (blackholed, delayed) requests end.
    released: threading.Event = field(default_factory=threading.Event)

    def applies(self, path: str) -> bool:
        return not self.paths or path.startswith(self.paths)


@dataclass
class Request:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path


@dataclass
class Response:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes


class FaultProxy:
    """A threaded HTTP/1.1 proxy in front of one upstream node, switchable at runtime."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1", port: int = 0):
        self.upstream = (upstream_host, upstream_port)
        self._lock = threading.Lock()
        self._rule = Rule()
        self._hits: Counter[str] = Counter()
        self._port = port
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._closed = False
        self._changed = threading.Condition(self._lock)

    # --- lifecycle ------------------------------------------------------------------
    def start(self) -> FaultProxy:
        self._listen()
        return self

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._rule.released.set()
            self._rule = Rule(mode="refuse")
        self._unlisten()
        self._drop_connections()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    # --- modes ----------------------------------------------------------------------
    def pass_through(self) -> None:
        self._set(Rule())

    def refuse(self) -> None:
        """Stop listening (connect gets ECONNREFUSED) and reset open connections."""
        self._set(Rule(mode="refuse"))

    def blackhole(self, *, times: int | None = None, paths: Iterable[str] = ()) -> None:
        self._set(Rule(mode="blackhole", times=times, paths=tuple(paths)))

    def delay(self, seconds: float, *, times: int | None = None, paths: Iterable[str] = ()) -> None:
        self._set(Rule(mode="delay", delay=seconds, times=times, paths=tuple(paths)))

    def cut(self, *, times: int | None = None, paths: Iterable[str] = ("/_bulk",)) -> None:
        self._set(Rule(mode="cut", times=times, paths=tuple(paths)))

    def status(
        self,
        code: int,
        *,
        retry_after: float | None = None,
        times: int | None = None,
        paths: Iterable[str] = (),
    ) -> None:
        self._set(
            Rule(
                mode="status", status=code, retry_after=retry_after, times=times, paths=tuple(paths)
            )
        )

    def items(self, choose: Choose, *, refuse_index: str | None = None, status: int = 400) -> None:
        """Item verdicts from `choose`; with `refuse_index`, a `_bulk` request holding an
        item for that index is refused as a whole with `status` (e.g. the dead letters)."""
        self._set(
            Rule(
                mode="items",
                choose=choose,
                paths=("/_bulk",),
                refuse_index=refuse_index,
                status=status,
            )
        )

    def hits(self, mode: str) -> int:
        with self._lock:
            return self._hits[mode]

    def wait_hits(self, mode: str, n: int, timeout: float = 60.0) -> bool:
        """Wait until `mode` handled at least `n` requests (or connections, for refuse)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._hits[mode] < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def _set(self, rule: Rule) -> None:
        with self._lock:
            old, self._rule = self._rule, rule
            old.released.set()
        if rule.mode == "refuse":
            self._unlisten()
            self._drop_connections()
        elif self._listener is None and not self._closed:
            self._listen()

    def _take_rule(self, path: str) -> Rule:
        """The rule for this request; counts it and consumes one of `times`."""
        with self._lock:
            rule = self._rule
            if rule.mode in ("pass", "refuse") or not rule.applies(path):
                self._hits["pass"] += 1
                self._changed.notify_all()
                return Rule()
            if rule.times is not None:
                rule.times -= 1
                if rule.times <= 0:  # the requests already taken keep their rule
                    self._rule = Rule(released=rule.released)
            self._hits[rule.mode] += 1
            self._changed.notify_all()
            return rule

    # --- sockets --------------------------------------------------------------------
    def _listen(self) -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self._port))
        s.listen(64)
        self._port = s.getsockname()[1]
        self._listener = s
        threading.Thread(target=self._accept_loop, args=(s,), daemon=True).start()

    def _unlisten(self) -> None:
        s, self._listener = self._listener, None
        if s is not None:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def _drop_connections(self) -> None:
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self._conns.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        upstream: http.client.HTTPConnection | None = None
        try:
            rfile = conn.makefile("rb")
            while True:
                req = read_request(rfile)
                if req is None:
                    return
                rule = self._take_rule(req.path)
                if rule.mode == "blackhole":
                    rule.released.wait()
                    return
                if rule.mode == "status":
                    conn.sendall(render(error_response(rule.status, rule.retry_after)))
                    continue
                if rule.mode == "delay":
                    rule.released.wait(rule.delay)
                if upstream is None:
                    upstream = http.client.HTTPConnection(*self.upstream, timeout=120)
                if rule.mode == "items" and rule.refuse_index and refuses(req, rule.refuse_index):
                    conn.sendall(render(error_response(rule.status, None)))
                    continue
                if rule.mode == "items" and rule.choose is not None:
                    resp = self._bulk_with_item_faults(upstream, req, rule.choose)
                else:
                    resp = forward(upstream, req)
                if rule.mode == "cut":
                    raw = render(resp)
                    cut_at = len(raw) - max(1, len(resp.body) // 2)
                    conn.sendall(raw[:cut_at])
                    return
                conn.sendall(render(resp))
        except (OSError, http.client.HTTPException, ValueError):
            return
        finally:
            if upstream is not None:
                upstream.close()
            with self._lock:
                self._conns.discard(conn)
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _bulk_with_item_faults(
        self, upstream: http.client.HTTPConnection, req: Request, choose: Choose
    ) -> Response:
        pairs = bulk_pairs(req.body)
        verdicts = [choose(doc_id) for doc_id, _, _ in pairs]
        forwarded = [p for p, v in zip(pairs, verdicts, strict=True) if v not in (400, 429)]
        up_items: list[dict[str, Any]] = []
        headers = [("content-type", "application/json"), ("x-elastic-product", "Elasticsearch")]
        if forwarded:
            body = b"".join(action + b"\n" + source + b"\n" for _, action, source in forwarded)
            resp = forward(upstream, Request(req.method, req.target, req.headers, body))
            if resp.status != 200:
                return resp
            headers = [(k, v) for k, v in resp.headers if k.lower() != "content-encoding"]
            data = json.loads(decoded(resp))
            up_items = data.get("items") or [{"create": {"status": 201}}] * len(forwarded)
        items: list[dict[str, Any]] = []
        up = iter(up_items)
        for (doc_id, _, _), verdict in zip(pairs, verdicts, strict=True):
            item = next(up) if verdict not in (400, 429) else None
            if verdict in ITEM_ERRORS:
                kind, reason = ITEM_ERRORS[verdict]
                item = {
                    "create": {
                        "_id": doc_id,
                        "status": verdict,
                        "error": {"type": kind, "reason": reason},
                    }
                }
            assert item is not None
            items.append(item)
        errors = any(next(iter(i.values())).get("error") for i in items)
        out = json.dumps({"errors": errors, "items": items}).encode()
        return Response(200, "OK", headers, out)


# --- HTTP/1.1 framing (enough for the Elasticsearch client) --------------------------------
def read_request(rfile: Any) -> Request | None:
    line = rfile.readline(65536)
    if not line:
        return None
    method, target, _ = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    headers = read_headers(rfile)
    return Request(method, target, headers, read_body(rfile, headers))


def read_headers(rfile: Any) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    while True:
        line = rfile.readline(65536).decode("latin-1").rstrip("\r\n")
        if not line:
            return headers
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))


def read_body(rfile: Any, headers: list[tuple[str, str]]) -> bytes:
    h = {k.lower(): v for k, v in headers}
    if "chunked" in h.get("transfer-encoding", "").lower():
        out = bytearray()
        while True:
            size = int(rfile.readline(65536).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                read_headers(rfile)  # trailers
                return bytes(out)
            out += rfile.read(size)
            rfile.readline(65536)
    n = int(h.get("content-length", "0") or 0)
    body = rfile.read(n) if n else b""
    if len(body) != n:
        raise ValueError("the client closed the connection mid-body")
    return bytes(body)


def forward(upstream: http.client.HTTPConnection, req: Request) -> Response:
    headers = {k: v for k, v in req.headers if k.lower() not in HOP_BY_HOP and k.lower() != "host"}
    headers["Content-Length"] = str(len(req.body))
    try:
        upstream.request(req.method, req.target, body=req.body, headers=headers)
        resp = upstream.getresponse()
        body = resp.read()
    except (OSError, http.client.HTTPException):
        upstream.close()  # the next request reconnects
        raise
    return Response(resp.status, resp.reason, list(resp.getheaders()), body)


def render(resp: Response) -> bytes:
    lines = [f"HTTP/1.1 {resp.status} {resp.reason}"]
    lines += [f"{k}: {v}" for k, v in resp.headers if k.lower() not in HOP_BY_HOP]
    lines.append(f"content-length: {len(resp.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + resp.body


def decoded(resp: Response) -> bytes:
    enc = {k.lower(): v for k, v in resp.headers}.get("content-encoding", "")
    return gzip.decompress(resp.body) if "gzip" in enc else resp.body


def error_response(status: int, retry_after: float | None) -> Response:
    kind = REQUEST_ERRORS.get(status, "injected_exception")
    reason = f"{status} injected by the fault proxy"
    body = json.dumps(
        {
            "error": {
                "root_cause": [{"type": kind, "reason": reason}],
                "type": kind,
                "reason": reason,
            },
            "status": status,
        }
    ).encode()
    headers = [("content-type", "application/json"), ("x-elastic-product", "Elasticsearch")]
    if retry_after is not None:
        headers.append(("retry-after", f"{retry_after:g}"))
    return Response(status, http.client.responses.get(status, "Error"), headers, body)


def bulk_pairs(body: bytes) -> list[tuple[str, bytes, bytes]]:
    """(_id, action line, source line) of every `create`/`index` item of a `_bulk` body."""
    lines = [x for x in body.split(b"\n") if x.strip()]
    out = []
    for action, source in zip(lines[::2], lines[1::2], strict=True):
        (meta,) = json.loads(action).values()
        out.append((str(meta.get("_id")), action, source))
    return out


def refuses(req: Request, index: str) -> bool:
    """Whether a `_bulk` request writes an item to `index`."""
    needle = json.dumps({"_index": index})[1:-1].replace(" ", "").encode()
    return any(needle in action.replace(b" ", b"") for _, action, _ in bulk_pairs(req.body))


def per_id(plan: dict[str, list[int]]) -> Choose:
    """A `choose` that answers each listed id with its statuses in turn, then passes it."""
    mu = threading.Lock()
    left = {k: list(v) for k, v in plan.items()}

    def choose(doc_id: str) -> int | None:
        with mu:
            statuses = left.get(doc_id)
            return statuses.pop(0) if statuses else None

    return choose
