"""The one Kibana client: what every request carries, the space it addresses, and the one-line
errors for refusals, against a recording HTTP server on 127.0.0.1 (no Kibana runs here)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from predwatch.alerts import kibana_rules
from predwatch.alerts.model import RuleSet
from predwatch.config import KibanaConfig
from predwatch.kibana.client import KibanaClient
from predwatch.kibana.context import KibanaError
from predwatch.kibana.importer import import_objects


class Recorder:
    """Answers every request with `status` and a JSON body, remembering what it saw."""

    def __init__(self) -> None:
        self.status = 200
        self.body: Any = {"success": True, "successCount": 0, "successResults": []}
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(n)
                outer.seen.append((self.command, self.path, dict(self.headers)))
                data = json.dumps(outer.body).encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def kibana() -> Iterator[Recorder]:
    rec = Recorder()
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


class TestOneClient:
    def test_import_and_rules_send_the_same_headers(self, kibana: Recorder) -> None:
        """Saved-object import and rule installation both send kbn-xsrf and the credentials
        the same way (they were two clients with different kbn-xsrf values)."""
        cfg = KibanaConfig(kibana.url, api_key="a2V5", space="ml")
        import_objects(cfg, [])
        with KibanaClient(cfg) as client:
            kibana_rules.upsert(client, "rule", "r1", {"name": "x"}, {"name": "x"})
        assert len(kibana.seen) == 3  # import; GET then PUT (the recorder answers 200)
        for _, path, headers in kibana.seen:
            assert path.startswith("/s/ml/api/")
            assert headers["kbn-xsrf"] == "true"
            assert headers["Authorization"] == "ApiKey a2V5"

    def test_default_space_has_no_prefix(self, kibana: Recorder) -> None:
        """In the default space the API is addressed without /s/<id>/."""
        with KibanaClient(KibanaConfig(kibana.url, username="u", password="p")) as client:
            client.request("GET", "/api/status")
        method, path, headers = kibana.seen[0]
        assert (method, path) == ("GET", "/api/status")
        assert headers["Authorization"].startswith("Basic ")

    def test_nothing_to_install_sends_nothing(self, kibana: Recorder) -> None:
        """A rule set without enabled rules installs no connector and no rule."""
        with KibanaClient(KibanaConfig(kibana.url)) as client:
            assert kibana_rules.install_rules(client, RuleSet("demo", ())) == []
        assert kibana.seen == []


class TestRefusals:
    @pytest.mark.parametrize(
        ("status", "message"),
        [
            (401, "rejected the credentials \\(API key\\)"),
            (403, "needs the privilege for it in space 'team'"),
            (404, "does space 'team' exist"),
            (500, "refused GET /api/x: 500 broken"),
        ],
    )
    def test_one_line_saying_what_to_change(
        self, kibana: Recorder, status: int, message: str
    ) -> None:
        """Each refusal is one KibanaError naming the cause, never the secret."""
        kibana.status, kibana.body = status, {"message": "broken SECRET"}
        client = KibanaClient(KibanaConfig(kibana.url, api_key="SECRET", space="team"))
        with pytest.raises(KibanaError, match=message) as err:
            client.request("GET", "/api/x")
        assert "SECRET" not in str(err.value)

    def test_allowed_status_is_returned(self, kibana: Recorder) -> None:
        """A status the caller handles itself (404 of a lookup) comes back as a response."""
        kibana.status = 404
        resp = KibanaClient(KibanaConfig(kibana.url)).request("GET", "/api/x", allow=(404,))
        assert resp.status_code == 404

    def test_import_names_its_privilege(self, kibana: Recorder) -> None:
        """A 403 on import names the Saved Objects Management privilege."""
        kibana.status = 403
        with pytest.raises(KibanaError, match="Saved Objects Management"):
            import_objects(KibanaConfig(kibana.url), [])
