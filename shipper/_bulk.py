"""The delivery seam: a `Sink` sends one `_bulk` body and returns one result per item.

`ElasticsearchSink` is the real one (a raw `perform_request` on the official client's
persistent connection: the body is already NDJSON bytes, so nothing is re-encoded, and
`filter_path` keeps the response to status + error per item). Unit tests use a fake sink.

Item rules (docs/architecture.md "Shipper principles"):
- 2xx -> delivered; 409 on `create` -> already there (a replay), counted as duplicate;
- 429, 5xx, `es_rejected_execution_exception`, `cluster_block_exception` (read-only
  index after a disk watermark) -> retried with backoff;
- any other 4xx (mapping conflict, parse error) -> dead letter: a document in
  `predwatch-deadletter` holding the target index, the error and the refused payload.
Whole-request failures raise `BulkFailed`. None of them is a verdict on a document (a 400
on the request, e.g. `Invalid media-type value`, refuses every body alike): the worker
keeps the records (memory, then disk), reports the kind once and retries with backoff
(Retry-After honoured); a 413 ("too_large") makes it split the batch first.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import elastic_transport
import elasticsearch

from predwatch import es as es_mod
from predwatch import mappings
from predwatch import schema as s
from predwatch.config import ESConfig

from ._hashing import sha256_hex
from ._serialize import IsoClock, dumps

OK, DUPLICATE, RETRY, DEAD = "ok", "duplicate", "retry", "dead"
RETRYABLE_TYPES = frozenset(
    {"es_rejected_execution_exception", "cluster_block_exception", "circuit_breaking_exception"}
)
FILTER_PATH = "errors,items.*.status,items.*.error.type,items.*.error.reason"
DEADLETTER_INDEX = s.index_name("deadletter")
MAX_REASON = 2000


@dataclass(frozen=True)
class ItemResult:
    status: int
    error_type: str | None = None
    reason: str | None = None


class BulkFailed(Exception):
    """A whole `_bulk` request failed.

    kind: "connection" | "tls" | "timeout" | "auth" | "forbidden" | "too_large" |
    "throttled" | "server" | "request"
    """

    def __init__(
        self, kind: str, message: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after


class Sink(Protocol):
    def bulk(self, body: bytes, n_items: int) -> list[ItemResult]: ...

    def ensure_index(self, index: str, mapping: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


def classify(item: ItemResult) -> str:
    st = item.status
    if 200 <= st < 300:
        return OK
    if st == 409:
        return DUPLICATE
    if st == 429 or st >= 500 or item.error_type in RETRYABLE_TYPES:
        return RETRY
    return DEAD


class ElasticsearchSink:
    """Sends `_bulk` bodies through one client (created lazily, in the worker's process)."""

    def __init__(self, cfg: ESConfig) -> None:
        self.cfg = cfg
        self._es: elasticsearch.Elasticsearch | None = None

    @property
    def es(self) -> elasticsearch.Elasticsearch:
        if self._es is None:
            # Retries are ours (backoff + spool), not the transport's, except one: a node
            # that refuses the connection is skipped for the next of several hosts at once.
            self._es = es_mod.client(
                self.cfg,
                max_retries=len(self.cfg.hosts) - 1,
                retry_on_status=(),
                retry_on_timeout=False,
            )
        return self._es

    @property
    def headers(self) -> dict[str, str]:
        """Media types of a `_bulk` request (a test subclass sends wrong ones)."""
        return {"content-type": "application/x-ndjson", "accept": "application/json"}

    def bulk(self, body: bytes, n_items: int) -> list[ItemResult]:
        try:
            resp = self.es.perform_request(
                "POST",
                "/_bulk",
                params={"filter_path": FILTER_PATH},
                headers=self.headers,
                body=body,
            )
        except Exception as exc:
            raise self._failure(exc) from None
        data = resp.body if isinstance(resp.body, dict) else {}
        if not data.get("errors"):
            return [ItemResult(201)] * n_items
        items = data.get("items") or []
        out = [_item(x) for x in items]
        if len(out) != n_items:
            raise BulkFailed("server", f"_bulk answered {len(out)} items for {n_items}", 500)
        return out

    def ensure_index(self, index: str, mapping: dict[str, Any]) -> None:
        try:
            self.es.options(ignore_status=400).indices.create(index=index, mappings=mapping)
        except Exception as exc:
            raise self._failure(exc) from None

    def close(self) -> None:
        if self._es is not None:
            try:
                self._es.close()
            finally:
                self._es = None

    def _failure(self, exc: Exception) -> BulkFailed:
        message = self.cfg.redact(str(es_mod.explain(exc, self.cfg)))
        if isinstance(exc, elasticsearch.ApiError):
            st = exc.meta.status
            retry_after = parse_retry_after(exc.meta.headers.get("retry-after"))
            if st == 401:
                return BulkFailed("auth", message, st)
            if st == 403:
                return BulkFailed("forbidden", message, st)
            if st == 413:
                return BulkFailed("too_large", message, st)
            if st == 429:
                return BulkFailed("throttled", message, st, retry_after)
            if st >= 500:
                return BulkFailed("server", message, st, retry_after)
            return BulkFailed("request", message + _hint(st, message), st)
        if isinstance(exc, elastic_transport.TlsError) or es_mod._is_tls(exc):
            return BulkFailed("tls", message)
        if isinstance(exc, elastic_transport.ConnectionTimeout):
            return BulkFailed("timeout", message)
        return BulkFailed("connection", message)


def _hint(status: int, message: str) -> str:
    """What to fix when Elasticsearch refuses a whole request."""
    if "media-type" in message or "media_type" in message:
        return (
            "; the server refuses this client's headers: install the elasticsearch client "
            "of the server's major version"
        )
    if status == 404:
        return "; is PREDWATCH_ES_URL the Elasticsearch URL (no path, no other service)?"
    return "; fix the cause above (the records are kept and retried)"


def _item(raw: Any) -> ItemResult:
    try:
        (body,) = raw.values()
        err = body.get("error")
        if isinstance(err, dict):
            return ItemResult(int(body["status"]), err.get("type"), err.get("reason"))
        return ItemResult(int(body["status"]))
    except Exception:
        return ItemResult(500, "unreadable_item", repr(raw)[:200])


def parse_retry_after(value: Any) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        pass
    try:
        return max(0.0, parsedate_to_datetime(str(value)).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random."""
    d = min(cap, base * 2.0 ** min(attempt, 30))
    return float(d / 2 + rng.uniform(0, d / 2))


def split_lines(payload: bytes) -> tuple[bytes, bytes]:
    action, _, source = payload.rstrip(b"\n").partition(b"\n")
    return action, source


def deadletter_payload(payload: bytes, item: ItemResult, iso: IsoClock, now: float) -> bytes:
    """The `_bulk` lines that put a refused record into the dead-letter index."""
    action_raw, source_raw = split_lines(payload)
    try:
        action = json.loads(action_raw)
        (meta,) = action.values()
        target, doc_id = str(meta.get("_index")), str(meta.get("_id"))
    except Exception:
        target, doc_id = "unknown", sha256_hex(payload)
    try:
        doc: Any = json.loads(source_raw)
    except Exception:
        doc = {"unparsed": source_raw.decode("utf-8", "replace")[:100_000]}
    model = doc.get("model") if isinstance(doc, dict) else None
    dl: dict[str, Any] = {
        s.TIMESTAMP: iso(now),
        "prediction_id": doc.get(s.PREDICTION_ID, doc_id) if isinstance(doc, dict) else doc_id,
        "target_index": target,
        "error": {
            "type": item.error_type or "unknown",
            "reason": (item.reason or "")[:MAX_REASON],
            "status": item.status,
        },
        "payload": doc,
    }
    if isinstance(model, dict):
        dl["model"] = {"name": model.get("name"), "version": model.get("version")}
    dl_id = f"{target}/{doc_id}"
    if len(dl_id.encode("utf-8", "replace")) > 512:
        dl_id = sha256_hex(dl_id.encode("utf-8", "replace"))
    action_out = {"create": {"_index": DEADLETTER_INDEX, "_id": dl_id}}
    return dumps(action_out) + b"\n" + dumps(dl) + b"\n"


def is_deadletter(payload: bytes) -> bool:
    return payload.startswith(b'{"create":{"_index":"' + DEADLETTER_INDEX.encode() + b'"')


DEADLETTER_MAPPING = mappings.deadletter_mapping()
