"""Unit tests of bulk item rules, dead letters and backoff."""

from __future__ import annotations

import json
import random

from predwatch.shipper._bulk import (
    DEAD,
    DEADLETTER_INDEX,
    DUPLICATE,
    OK,
    RETRY,
    ItemResult,
    backoff_delay,
    classify,
    deadletter_payload,
    is_deadletter,
    parse_retry_after,
)
from predwatch.shipper._serialize import IsoClock


class TestClassify:
    def test_rules(self) -> None:
        """2xx ok, 409 duplicate, 429/5xx/rejections retried, other 4xx dead."""
        assert classify(ItemResult(201)) == OK
        assert classify(ItemResult(409)) == DUPLICATE
        assert classify(ItemResult(429)) == RETRY
        assert classify(ItemResult(503)) == RETRY
        assert classify(ItemResult(400, "es_rejected_execution_exception")) == RETRY
        assert classify(ItemResult(403, "cluster_block_exception")) == RETRY
        assert classify(ItemResult(400, "document_parsing_exception")) == DEAD
        assert classify(ItemResult(404, "index_not_found_exception")) == DEAD


class TestDeadletter:
    def test_payload(self) -> None:
        """The dead letter keeps the target index, error and the original document."""
        doc = {"prediction_id": "p1", "model": {"name": "m", "version": "1"}, "inputs": {"a": "x"}}
        payload = (
            b'{"create":{"_index":"predwatch-predictions-m-2024.01.01","_id":"p1"}}\n'
            + json.dumps(doc).encode()
            + b"\n"
        )
        err = ItemResult(400, "document_parsing_exception", "failed to parse field [a]")
        out = deadletter_payload(payload, err, IsoClock(), 0.0)
        action, source, _ = out.split(b"\n")
        meta = json.loads(action)["create"]
        assert meta["_index"] == DEADLETTER_INDEX
        assert meta["_id"] == "predwatch-predictions-m-2024.01.01/p1"
        dl = json.loads(source)
        assert dl["payload"] == doc
        assert dl["target_index"] == "predwatch-predictions-m-2024.01.01"
        assert dl["error"] == {
            "type": "document_parsing_exception",
            "reason": "failed to parse field [a]",
            "status": 400,
        }
        assert dl["prediction_id"] == "p1" and dl["model"] == {"name": "m", "version": "1"}
        assert is_deadletter(out) and not is_deadletter(payload)

    def test_unparsable_payload(self) -> None:
        """Even a broken payload becomes a dead letter."""
        out = deadletter_payload(b"garbage\n{not json\n", ItemResult(400), IsoClock(), 0.0)
        dl = json.loads(out.split(b"\n")[1])
        assert dl["target_index"] == "unknown" and "unparsed" in dl["payload"]


class TestBackoff:
    def test_grows_and_caps(self) -> None:
        """Delays grow exponentially, stay within [d/2, d] and are capped."""
        rng = random.Random(1)
        for attempt in range(12):
            d = min(10.0, 0.5 * 2**attempt)
            assert d / 2 <= backoff_delay(attempt, 0.5, 10.0, rng) <= d

    def test_retry_after(self) -> None:
        """Retry-After is read as seconds or an HTTP date."""
        assert parse_retry_after("7") == 7.0
        assert parse_retry_after(None) is None
        assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
        assert parse_retry_after("soon") is None
