"""Senders: webhook and Slack against a local HTTP receiver, email against a local SMTP
responder, the logger and stdout."""

from __future__ import annotations

import io
import json
import logging
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from predwatch.alerts import notify
from predwatch.alerts.rules import Destination

ALERT = notify.Alert(
    rule_id="oov_rate.country",
    kind="oov_rate",
    model="credit",
    title="OOV [country]",
    severity="warning",
    status="fired",
    value=0.25,
    threshold=0.05,
    window="15m",
    message="OOV [country]: 0.25 > 0.05 over the last 15m",
    time="2026-01-01T00:00:00.000Z",
    feature="country",
    details={"count": 80, "top": {"XX": 20}},
)


class Http:
    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.got: list[tuple[dict[str, str], Any]] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers["Content-Length"])
                outer.got.append((dict(self.headers), json.loads(self.rfile.read(n))))
                self.send_response(outer.status)
                self.end_headers()
                self.wfile.write(b"err" if outer.status >= 300 else b"ok")

            def log_message(self, *a: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/in"


@pytest.fixture
def http() -> Iterator[Http]:
    h = Http()
    yield h
    h.server.shutdown()
    h.server.server_close()


class Smtp(socketserver.ThreadingTCPServer):
    """A minimal SMTP responder that keeps the DATA it receives."""

    allow_reuse_address = True

    def __init__(self) -> None:
        self.messages: list[str] = []
        outer = self

        class H(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(b"220 fake\r\n")
                while line := self.rfile.readline():
                    cmd = line.decode().strip().upper()
                    if cmd.startswith(("EHLO", "HELO")):
                        self.wfile.write(b"250 fake\r\n")
                    elif cmd == "DATA":
                        self.wfile.write(b"354 go\r\n")
                        data = []
                        while (part := self.rfile.readline()) != b".\r\n":
                            data.append(part.decode())
                        outer.messages.append("".join(data))
                        self.wfile.write(b"250 ok\r\n")
                    elif cmd == "QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        super().__init__(("127.0.0.1", 0), H)
        threading.Thread(target=self.serve_forever, daemon=True).start()


class TestWebhook:
    def test_posts_the_alert_json(self, http: Http) -> None:
        """The webhook receives the alert as JSON with the destination's headers."""
        dest = Destination("hook", "webhook", url=http.url, headers={"X-Token": "t"})
        notify.deliver(dest, ALERT)
        headers, body = http.got[0]
        assert headers["X-Token"] == "t" and headers["Content-Type"] == "application/json"
        assert body["rule"]["id"] == "oov_rate.country" and body["details"]["top"] == {"XX": 20}

    def test_http_error_is_a_delivery_error(self, http: Http) -> None:
        """A non-2xx answer raises DeliveryError with the status."""
        http.status = 503
        with pytest.raises(notify.DeliveryError, match="HTTP 503"):
            notify.deliver(Destination("hook", "webhook", url=http.url), ALERT)

    def test_unreachable(self) -> None:
        """Nothing listening: DeliveryError names the destination."""
        with pytest.raises(notify.DeliveryError, match="webhook hook"):
            notify.deliver(Destination("hook", "webhook", url="http://127.0.0.1:9/x"), ALERT)


class TestSlack:
    def test_incoming_webhook_payload(self, http: Http) -> None:
        """Slack gets {"text", "channel"} with a severity marker."""
        notify.deliver(Destination("s", "slack", url=http.url, channel="#ml"), ALERT)
        _, body = http.got[0]
        assert body["channel"] == "#ml" and body["text"].startswith(":warning: [warning] FIRED")

    def test_resolved_marker(self, http: Http) -> None:
        """A resolved alert is marked as such."""
        resolved = notify.Alert(**{**ALERT.__dict__, "status": "resolved"})
        notify.deliver(Destination("s", "slack", url=http.url), resolved)
        assert http.got[0][1]["text"].startswith(":white_check_mark:")


class TestEmail:
    def test_sends_through_smtp(self) -> None:
        """The message reaches the SMTP server with subject, recipients and the JSON body."""
        server = Smtp()
        try:
            dest = Destination(
                "mail",
                "email",
                to=("ops@x.org",),
                sender="pw@x.org",
                smtp_host="127.0.0.1",
                smtp_port=server.server_address[1],
            )
            notify.deliver(dest, ALERT)
            (msg,) = server.messages
            assert "Subject: [warning] fired predwatch credit: OOV [country]" in msg
            assert "To: ops@x.org" in msg and '"oov_rate.country"' in msg
        finally:
            server.shutdown()
            server.server_close()

    def test_refused_connection(self) -> None:
        """No SMTP server: DeliveryError names host and port."""
        dest = Destination("mail", "email", to=("a@b",), smtp_host="127.0.0.1", smtp_port=9)
        with pytest.raises(notify.DeliveryError, match=r"127\.0\.0\.1:9"):
            notify.deliver(dest, ALERT)


class TestLocal:
    def test_log_level_by_severity(self, caplog: pytest.LogCaptureFixture) -> None:
        """The logger gets WARNING for a warning alert, with the alert as `extra`."""
        with caplog.at_level(logging.INFO, logger="predwatch.alerts"):
            notify.deliver(Destination("log", "log"), ALERT)
        (rec,) = caplog.records
        assert rec.levelno == logging.WARNING
        assert rec.predwatch_alert["rule"]["id"] == "oov_rate.country"  # type: ignore[attr-defined]

    def test_stdout_line(self) -> None:
        """stdout gets one line per alert."""
        out = io.StringIO()
        notify.send_stdout(Destination("stdout", "stdout"), ALERT, out)
        assert out.getvalue() == f"{ALERT.line()}\n"
