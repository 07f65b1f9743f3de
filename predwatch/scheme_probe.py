"""Which protocol a server really speaks on host:port, to name a scheme mismatch as such.

http:// to a TLS port looks like a refused/closed connection, and https:// to a plain port
looks like a certificate problem; one short probe tells them apart so the error can say
"use https://" instead of "start Elasticsearch" or "set the CA certificate".
"""

from __future__ import annotations

import socket
import ssl
from typing import Literal
from urllib.parse import urlsplit

Protocol = Literal["tls", "plain"]
PROBE_TIMEOUT_S = 3.0


def speaks(url: str, timeout: float = PROBE_TIMEOUT_S) -> Protocol | None:
    """`tls` when the server completes a TLS handshake, `plain` when it answers a plain HTTP
    request, None when neither (unreachable, or something else listens)."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    if _tls_handshake(host, port, timeout):
        return "tls"
    if _plain_http(host, port, timeout):
        return "plain"
    return None


def _tls_handshake(host: str, port: int, timeout: float) -> bool:
    # Only "does it speak TLS at all": no certificate is trusted or sent anything over it.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as sock,
            ctx.wrap_socket(sock, server_hostname=host),
        ):
            return True
    except (OSError, ssl.SSLError):
        return False


def _plain_http(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"HEAD / HTTP/1.0\r\nHost: " + host.encode("idna") + b"\r\n\r\n")
            return sock.recv(5) == b"HTTP/"
    except (OSError, UnicodeError):
        return False
