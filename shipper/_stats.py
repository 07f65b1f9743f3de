"""Self-metrics of one shipper, shared by its threads (one lock, per batch, not per record)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

# Reasons a record is not delivered (the keys of stats()["dropped"]).
QUEUE_FULL = "queue_full"  # the in-memory queue was at max_queue (worker stalled)
SPOOL_FULL = "spool_full"  # the disk budget was exhausted (policy drop_newest, or block timed out)
SPOOL_ERROR = "spool_error"  # the spool could not be written (disk error) and memory was full
SPOOL_CORRUPT = "spool_corrupt"  # a record failed its checksum in the middle of a segment
SPOOL_TORN = "spool_torn"  # the last write of a dead process was incomplete
DEADLETTER_REJECTED = "deadletter_rejected"  # the dead-letter index refused the dead letter
INTERNAL_ERROR = "internal_error"  # a bug: nothing could be enqueued or encoded
CLOSED = "closed"  # logged after close() with durability lost (spool unusable)


class Stats:
    """Counters; `snapshot()` returns a plain dict."""

    def __init__(self) -> None:
        self.lock = threading.RLock()  # re-entrant: the SIGTERM handler runs on the main thread
        self.acked = 0
        self.duplicates = 0
        self.retried = 0
        self.spooled_records = 0
        self.spooled_bytes = 0
        self.replayed_records = 0
        self.dead_lettered = 0
        self.batches = 0
        self.failed_requests = 0
        self.adopted_spools = 0
        self.dropped: Counter[str] = Counter()
        self.last_error: str | None = None
        self.last_error_at: float | None = None

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def drop(self, reason: str, n: int = 1) -> None:
        if n:
            with self.lock:
                self.dropped[reason] += n

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "acked": self.acked,
                "duplicates": self.duplicates,
                "retried": self.retried,
                "spooled_records": self.spooled_records,
                "spooled_bytes": self.spooled_bytes,
                "replayed_records": self.replayed_records,
                "dead_lettered": self.dead_lettered,
                "batches": self.batches,
                "failed_requests": self.failed_requests,
                "adopted_spools": self.adopted_spools,
                "dropped": dict(self.dropped),
                "dropped_total": sum(self.dropped.values()),
                "last_error": self.last_error,
                "last_error_at": self.last_error_at,
            }
