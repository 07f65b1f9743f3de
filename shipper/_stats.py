"""Self-metrics of one shipper, shared by its threads (one lock, per batch, not per record)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

# Reasons a record is not delivered (the keys of stats()["dropped"]).
QUEUE_FULL = "queue_full"
SPOOL_FULL = "spool_full"
SPOOL_ERROR = "spool_error"
SPOOL_CORRUPT = "spool_corrupt"
SPOOL_TORN = "spool_torn"
DEADLETTER_REJECTED = "deadletter_rejected"
INTERNAL_ERROR = "internal_error"
CLOSED = "closed"
# What each reason means (the drop log line and docs/shipper.md say this).
REASONS = {
    QUEUE_FULL: "max_queue records were waiting for the worker (it is stalled or too slow)",
    SPOOL_FULL: "memory_bytes in memory and spool_budget of unsent bytes on disk were both "
    "full (policy drop_newest, or block timed out)",
    SPOOL_ERROR: "the spool could not be written and memory_bytes in memory was full",
    SPOOL_CORRUPT: "a spooled record failed its checksum in the middle of a segment",
    SPOOL_TORN: "the last write of a process that died was incomplete",
    DEADLETTER_REJECTED: "the dead-letter index refused the dead letter of a refused record",
    INTERNAL_ERROR: "a bug: the record could not be enqueued or encoded at all",
    CLOSED: "logged after close()",
}


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
        self.handler_errors = 0  # front-end exceptions: records never handed to the shipper
        self.dropped: Counter[str] = Counter()
        self.dropped_at_call = 0  # dropped in the caller's thread, before the queue
        self.last_error: str | None = None
        self.last_error_at: float | None = None

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def drop(self, reason: str, n: int = 1, *, at_call: bool = False) -> None:
        """Count `n` records dropped (`at_call`: in the log call, never enqueued)."""
        if n:
            with self.lock:
                self.dropped[reason] += n
                if at_call:
                    self.dropped_at_call += n

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
                "handler_errors": self.handler_errors,
                "dropped": dict(self.dropped),
                "dropped_total": sum(self.dropped.values()),
                "dropped_at_call": self.dropped_at_call,
                "last_error": self.last_error,
                "last_error_at": self.last_error_at,
            }


def ledger(
    *,
    enqueued: int,
    adopted: int,
    internal: int,
    snap: dict[str, Any],
    internal_done: int,
    pending_memory: int,
    pending_spool: int,
) -> dict[str, Any]:
    """stats()["accounting"]: both sides of the identity and whether they balance."""
    pending = pending_memory + pending_spool
    came = enqueued + adopted + internal
    went = (
        snap["acked"]
        + snap["duplicates"]
        + snap["dead_lettered"]
        + snap["dropped_total"]
        + internal_done
        + pending
    )
    return {
        "enqueued": enqueued,
        "adopted": adopted,
        "internal": internal,
        "acked": snap["acked"],
        "duplicates": snap["duplicates"],
        "dead_lettered": snap["dead_lettered"],
        "dropped": snap["dropped_total"],
        "internal_done": internal_done,
        "pending": pending,
        "pending_memory": pending_memory,
        "pending_spool": pending_spool,
        "balanced": came == went,
        "difference": came - went,
    }


def check_accounting(stats: dict[str, Any]) -> str | None:
    """None when `Shipper.stats()` balances; else the identity with its numbers (tests
    and monitoring call this after a scenario)."""
    a = stats["accounting"]
    if a["balanced"]:
        return None
    return (
        f"enqueued {a['enqueued']} + adopted {a['adopted']} + internal {a['internal']} != "
        f"acked {a['acked']} + duplicates {a['duplicates']} + dead_lettered "
        f"{a['dead_lettered']} + dropped {a['dropped']} + internal_done {a['internal_done']} "
        f"+ pending {a['pending']} (memory {a['pending_memory']}, spool {a['pending_spool']})"
    )
