"""A fake Kibana import API for the importer tests (no Kibana can run here)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

IMPORT_PATH = re.compile(r"^(?:/s/(?P<space>[a-z0-9_-]+))?/api/saved_objects/_import$")


@dataclass
class Received:
    """One request the fake Kibana received, as it saw it."""

    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    form_fields: list[str] = field(default_factory=list)
    filename: str | None = None
    objects: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FakeKibana:
    """The import API of Kibana, as far as predwatch uses it: checks what a real Kibana checks
    (kbn-xsrf, credentials, multipart `file`, space, conflicts, missing references) and keeps
    the imported objects per space."""

    url: str = ""
    spaces: set[str] = field(default_factory=lambda: {"default", "ml"})
    api_key: str | None = None
    basic: str | None = None  # expected "Basic <base64>"
    reject_ids: set[str] = field(default_factory=set)
    answer: tuple[int, bytes] | None = None  # canned answer instead of the import
    store: dict[str, dict[tuple[str, str], dict[str, Any]]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def handle(
        self, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any]:
        q = parse_qs(query)
        got = Received(path, q, headers)
        self.received.append(got)
        if self.answer is not None:
            return self.answer
        if "kbn-xsrf" not in headers:
            return 400, {
                "statusCode": 400,
                "error": "Bad Request",
                "message": "Request must contain a kbn-xsrf header.",
            }
        expected = f"ApiKey {self.api_key}" if self.api_key else self.basic
        if expected and headers.get("authorization") != expected:
            return 401, {
                "statusCode": 401,
                "error": "Unauthorized",
                "message": "[security_exception] unable to authenticate",
            }
        match = IMPORT_PATH.match(path)
        if not match:
            return 404, {"statusCode": 404, "error": "Not Found", "message": "Not Found"}
        space = match.group("space") or "default"
        if space not in self.spaces:
            return 404, {
                "statusCode": 404,
                "error": "Not Found",
                "message": f"Saved object [space/{space}] not found",
            }
        msg = message_from_bytes(
            b"Content-Type: " + headers.get("content-type", "").encode() + b"\r\n\r\n" + body
        )
        if not msg.is_multipart():
            return 415, {"statusCode": 415, "message": "Unsupported Media Type"}
        file_part: Message | None = None
        for part in msg.get_payload():  # type: ignore[union-attr]
            name = part.get_param("name", header="content-disposition")
            got.form_fields.append(str(name))
            if name == "file":
                file_part = part
                got.filename = part.get_filename()
        if file_part is None:
            return 400, {"statusCode": 400, "message": "[request body.file]: expected value"}
        if not str(got.filename or "").lower().endswith(".ndjson"):
            ext = Path(str(got.filename or "")).suffix
            return 400, {"statusCode": 400, "message": f"Invalid file extension {ext}"}
        raw = file_part.get_payload(decode=True)
        got.objects = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
        overwrite = q.get("overwrite") == ["true"]
        stored = self.store.setdefault(space, {})
        have = set(stored) | {(o["type"], o["id"]) for o in got.objects}
        results, errors = [], []
        for o in got.objects:
            key = (o["type"], o["id"])
            meta = {"title": o["attributes"].get("title")}
            missing = [r for r in o.get("references", []) if (r["type"], r["id"]) not in have]
            error: dict[str, Any] | None = None
            if o["id"] in self.reject_ids:
                error = {"type": "unknown", "message": "bad attributes"}
            elif missing:
                error = {"type": "missing_references", "references": missing}
            elif key in stored and not overwrite:
                error = {"type": "conflict"}
            if error:
                errors.append({"type": o["type"], "id": o["id"], "meta": meta, "error": error})
            else:
                results.append(
                    {
                        "type": o["type"],
                        "id": o["id"],
                        "meta": meta,
                        **({"overwrite": True} if key in stored else {}),
                    }
                )
        if errors:  # like Kibana: nothing is created until every error is resolved
            return 200, {
                "success": False,
                "successCount": 0,
                "successResults": [],
                "errors": errors,
            }
        for o in got.objects:
            stored[(o["type"], o["id"])] = o
        return 200, {"success": True, "successCount": len(results), "successResults": results}


class KibanaHandler(BaseHTTPRequestHandler):
    kibana: FakeKibana

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        parts = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, payload = self.kibana.handle(parts.path, parts.query, headers, body)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass
