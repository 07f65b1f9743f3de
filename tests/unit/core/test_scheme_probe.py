"""scheme_probe tells a TLS port from a plain-HTTP port (local servers, no Elasticsearch)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from predwatch.devnode import free_port
from predwatch.scheme_probe import speaks


class _Ok(BaseHTTPRequestHandler):
    def do_HEAD(self) -> None:
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _serve(server: ThreadingHTTPServer) -> Iterator[str]:
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def plain() -> Iterator[str]:
    yield from _serve(ThreadingHTTPServer(("127.0.0.1", 0), _Ok))


@pytest.fixture
def tls(tmp_path: Path) -> Iterator[str]:
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    yield from _serve(server)


class TestSpeaks:
    def test_tls_port(self, tls: str) -> None:
        """A TLS server is "tls", whichever scheme the URL says."""
        assert speaks(f"http://{tls}") == "tls"
        assert speaks(f"https://{tls}") == "tls"

    def test_plain_port(self, plain: str) -> None:
        """A plain HTTP server is "plain"."""
        assert speaks(f"https://{plain}") == "plain"

    def test_nothing_listening(self) -> None:
        """A closed port is neither."""
        assert speaks(f"http://127.0.0.1:{free_port()}") is None
