"""Test your own prediction logging without Elasticsearch (like `structlog.testing`).

    from predwatch.testing import capture_shipper

    def test_my_service_logs_its_predictions():
        with capture_shipper(model="credit", model_version="3.1.0") as cap:
            my_service.score({"age": 41}, shipper=cap.shipper)
        (doc,) = cap.predictions
        assert doc["inputs"] == {"age": 41}

The shipper is a real `Shipper` (same snapshot, PII rules, document building, baseline
annotation, worker and accounting as in production); only the last step is swapped: its
bulk requests land in a `MemorySink`, which keeps every document in a list and answers
like Elasticsearch with `op_type=create` (201, then 409 for an `_id` it already has).
Leaving the `with` block flushes and closes the shipper, so `cap.predictions` is complete
after it; inside the block, `cap.flush()` waits for what was logged so far.
"""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from predwatch.shipper import ItemResult, Shipper

_PREDICTIONS = "predwatch-predictions-"
_OUTCOMES = "predwatch-outcomes-"


class MemorySink:
    """A `Sink` that keeps documents in memory: `Shipper(sink=lambda: sink)`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the shipper's sender thread writes, the test reads
        self._docs: list[tuple[str, dict[str, Any]]] = []  # (index, document), in order
        self._ids: set[tuple[str, str]] = set()

    def bulk(self, body: bytes, n_items: int) -> list[ItemResult]:
        """Store each (action, document) pair of a `_bulk` body; 409 for a known `_id`."""
        lines = body.splitlines()
        results: list[ItemResult] = []
        with self._lock:
            for action_line, doc_line in zip(lines[::2], lines[1::2], strict=True):
                (meta,) = json.loads(action_line).values()
                key = (meta["_index"], meta["_id"])
                if key in self._ids:
                    results.append(ItemResult(409, "version_conflict_engine_exception"))
                    continue
                self._ids.add(key)
                self._docs.append((meta["_index"], json.loads(doc_line)))
                results.append(ItemResult(201))
        return results

    def ensure_index(self, index: str, mapping: dict[str, Any]) -> None:
        """Nothing to create in memory."""

    def close(self) -> None:
        """Nothing to close; the documents stay readable."""

    def documents(self, index_prefix: str = "") -> list[dict[str, Any]]:
        """Stored documents whose index starts with `index_prefix`, in arrival order."""
        with self._lock:
            return [doc for index, doc in self._docs if index.startswith(index_prefix)]

    def indices(self) -> list[str]:
        """The index of every stored document, in arrival order."""
        with self._lock:
            return [index for index, _ in self._docs]


@dataclass(frozen=True)
class Capture:
    """What `capture_shipper` yields: the shipper to hand to your code, and its sink."""

    shipper: Shipper
    sink: MemorySink

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything logged so far is in the sink (AssertionError if not)."""
        if not self.shipper.flush(timeout):
            raise AssertionError(f"predwatch shipper did not deliver within {timeout} s")

    @property
    def predictions(self) -> list[dict[str, Any]]:
        """Prediction documents delivered so far, as Elasticsearch would store them."""
        return self.sink.documents(_PREDICTIONS)

    @property
    def outcomes(self) -> list[dict[str, Any]]:
        """Outcome documents (`log_outcome`) delivered so far."""
        return self.sink.documents(_OUTCOMES)


@contextmanager
def capture_shipper(
    model: str = "test_model", model_version: str | None = "0", **options: Any
) -> Iterator[Capture]:
    """A real `Shipper` whose documents land in memory; flushed and closed on exit.

    `options` are `Shipper`'s keyword arguments (baseline, pii, pii_key, service_name,
    ...). Defaults fit tests: a temporary spool directory, a short flush interval, no
    SIGTERM handler and no deployment document.
    """
    sink = MemorySink()
    with tempfile.TemporaryDirectory(prefix="predwatch-testing-") as spool:
        settings: dict[str, Any] = {
            "spool_dir": spool,
            "flush_interval": 0.05,
            "handle_sigterm": False,
            "deployment": False,
            **options,
        }
        shipper = Shipper(model, model_version, sink=lambda: sink, **settings)
        capture = Capture(shipper, sink)
        try:
            yield capture
            capture.flush()
        finally:
            shipper.close(timeout=1.0)
