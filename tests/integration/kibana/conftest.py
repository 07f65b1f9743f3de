"""Fixtures of the Kibana integration tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest

from tests.helpers.kibana_fake import FakeKibana, KibanaHandler


@pytest.fixture
def fake_kibana() -> Iterator[FakeKibana]:
    """A fake Kibana import API on 127.0.0.1 (a free port), stopped after the test."""
    kibana = FakeKibana()
    handler = type("Handler", (KibanaHandler,), {"kibana": kibana})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    kibana.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield kibana
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
