"""One client line (elasticsearch-py 9.x) for Elasticsearch 8.19 and 9.x servers.

The 9.x client marks every JSON request `compatible-with=9` (Accept and Content-Type). A 9.x
server answers that natively, a newer one in its 9.x compatibility format; an 8.x server refuses
it with `400 media_type_header_exception` ("Accept version must be either version 8 or 7")
before doing anything else. `CompatTransport`, the transport of every client predwatch builds
(`predwatch.es.client`), settles the version once, at its first request: a GET of the answering
node's version with the client's own headers. A refusal names the versions the server accepts;
from then on every request asks for the highest of them (8). The server is never asked for more
than the client knows (a 10.x server would get `compatible-with=9`).

The same refusal on any later request (another node behind the same connection, e.g. during a
rolling upgrade from 8.19 to 9.x) lowers the version the same way and resends that request: a
server that refuses the header has not run the request, so resending cannot duplicate it.
The probe needs no privilege: an 8.x server checks the header before authorization, so a 403
(a shipper user without `monitor`) still says the header was accepted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import elastic_transport
from elastic_transport import HttpHeaders, TransportApiResponse
from elastic_transport.client_utils import DEFAULT, DefaultType
from elasticsearch._version import __versionstr__ as _client_version

CLIENT_MAJOR = int(_client_version.partition(".")[0])
VERSION_PATH = "/_nodes/_local?filter_path=nodes.*.version"
_COMPAT = re.compile(r"compatible-with=\d+")
_ACCEPTED = re.compile(r"must be either version (\d+) or (\d+)")
_REFUSAL = "media_type_header_exception"


def with_compat(headers: Mapping[str, str], major: int) -> HttpHeaders:
    """`headers` with every `compatible-with=N` set to `major` (other headers untouched)."""
    out = HttpHeaders()
    for name, value in headers.items():
        out[name] = _COMPAT.sub(f"compatible-with={major}", value) if value else value
    return out


def refused_compat(status: int, body: object, asked: int) -> int | None:
    """The version to ask for instead when (`status`, `body`) refuses `compatible-with=asked`.

    None when the answer is not such a refusal (or the server accepts nothing lower)."""
    if status != 400 or not isinstance(body, dict):
        return None
    error = body.get("error")
    if not isinstance(error, dict) or error.get("type") != _REFUSAL:
        return None
    found = _ACCEPTED.search(str(error))
    lower = max(int(v) for v in found.groups()) if found else asked - 1
    return lower if lower < asked else None


def node_version(body: object) -> str | None:
    """The version in a `GET /_nodes/_local?filter_path=nodes.*.version` answer."""
    nodes = body.get("nodes") if isinstance(body, dict) else None
    if isinstance(nodes, dict):
        for node in nodes.values():
            if isinstance(node, dict) and node.get("version"):
                return str(node["version"])
    return None


class CompatTransport(elastic_transport.Transport):
    """A `Transport` that asks each server for the REST API version it speaks (see module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.compat_major = CLIENT_MAJOR
        self.server_version: str | None = None  # known once a probe could read it
        self._settled = False

    def perform_request(
        self,
        method: str,
        target: str,
        *,
        headers: Mapping[str, str] | DefaultType = DEFAULT,
        **kwargs: Any,
    ) -> TransportApiResponse:
        if not self._settled:
            self._settle(kwargs)
        sent = self.compat_major
        resp = super().perform_request(method, target, headers=self._headers(headers), **kwargs)
        lower = refused_compat(resp.meta.status, resp.body, sent)
        if lower is not None:
            self.compat_major = min(self.compat_major, lower)
            resp = super().perform_request(method, target, headers=self._headers(headers), **kwargs)
        return resp

    def _headers(self, headers: Mapping[str, str] | DefaultType) -> Mapping[str, str] | DefaultType:
        if self.compat_major == CLIENT_MAJOR or isinstance(headers, DefaultType):
            return headers
        return with_compat(headers, self.compat_major)

    def _settle(self, kwargs: dict[str, Any]) -> None:
        # No lock: threads that meet an unsettled transport together each probe (harmless),
        # and a lock held across network I/O could be inherited locked by a forked child.
        probe = {k: v for k, v in kwargs.items() if k in ("request_timeout", "max_retries")}
        mime = f"application/vnd.elasticsearch+json; compatible-with={CLIENT_MAJOR}"
        accept = {"accept": mime}
        # Connection errors propagate (the caller's request would meet them too); the
        # next request probes again.
        resp = super().perform_request("GET", VERSION_PATH, headers=accept, **probe)
        lower = refused_compat(resp.meta.status, resp.body, CLIENT_MAJOR)
        if lower is not None:
            self.compat_major = lower
            resp = super().perform_request(
                "GET", VERSION_PATH, headers=with_compat(accept, lower), **probe
            )
        status = resp.meta.status
        if 200 <= status < 300:
            self.server_version = node_version(resp.body)
        # A 401 may come before the header check, and a 5xx from a node in trouble says
        # nothing about it: ask again with the next request.
        self._settled = status != 401 and status < 500
