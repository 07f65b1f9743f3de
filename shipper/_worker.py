"""The background half of a shipper: an encoder thread and a sender thread.

    caller --append--> queue (deque) --encoder--> outbox (memory, memory_bytes) --sender--> _bulk
                                                     | oldest first, when over             ^
                                                     v                                     |
                                               disk spool (own dir) -----------------------'
                                                                         (+ adopted dirs)

Memory first. The encoder pops records, builds and encodes documents (`_documents`) and
appends them to the in-memory outbox. Whenever the outbox holds more than `memory_bytes`
(Elasticsearch down, or slower than the callers) its OLDEST records move to the spool,
so the spool only ever holds records older than those in memory and replaying the spool,
then the outbox, keeps the logging order. With durability="disk" the outbox limit is 0:
every record goes to the spool, fsynced once per batch (group commit), before the
waiting callers are released.

The spool budget counts live (unacknowledged) bytes, checked per record. A spool that is
full or cannot be written keeps the records in memory instead (state "error", a
`last_error` and a log line say so); only past `memory_bytes` of memory as well are the
newest records dropped ("spool_full" / "spool_error"). With spool_policy="block" the
encoder first waits (up to `spool_block_timeout`) for delivery to free spool space.

Sender: sends, oldest first, adopted spools of dead processes, then its own spool, then
the outbox. Per-item results (`_bulk.classify`): delivered and duplicates are done;
retryable items go back to the front of memory and delivery backs off; refused items
become dead letters, routed like any record. A refused dead letter is dropped
("deadletter_rejected"). A whole request that fails (connection, TLS, timeouts, 401,
403, 404, a 400 on the request, 429, 5xx) is no verdict on its documents: an outbox
batch goes back to the front of memory, a spool batch stays unacknowledged, the state is
"error" with a one-line `last_error`, and delivery backs off (exponential, jittered,
honouring Retry-After). A request too large (413) is split in halves.

Accounting: every record handed to the shipper is in exactly one place at any moment,
and every move between places happens under one lock (`_state`), so `ledger()` is exact
at any time:

    enqueued + adopted + internal
        == acked + duplicates + dead_lettered + dropped + internal_done + pending

`adopted`: records found in the spools of dead processes; `internal`: deployment
documents this worker routed (`internal_done`: those settled), which are not predictions.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from . import _stats as st
from ._encoder import Encoder, drain
from ._sender import Sender
from ._threads import start_thread
from ._worker_state import Settings

__all__ = ["Settings", "Worker"]


class Worker(Encoder, Sender):
    """Owns the threads, the outbox and the spools of one shipper in one process.

    Composed of its parts, each in its own module: `_worker_state` (shared state and
    locks), `_routing` (memory, then spool), `_adoption` (orphaned spools),
    `_deployment_schedule`, `_encoder` (encoder thread) and `_sender` (sender thread:
    sending, settling, backoff). This class holds the lifecycle (start, flush, close,
    fork) and the views of the state `stats()` reads (`ledger`, `depth`).
    """

    def start(self) -> None:
        if self.disk:
            try:
                self._own_spool()
            except OSError as exc:  # the constructor checked; the disk may have changed since
                self._spool_failed(exc)
        for name, target in (("encoder", self._encoder_loop), ("sender", self._sender_loop)):
            self._threads.append(start_thread(target, f"predwatch-shipper-{name}"))

    def forget_after_fork(self) -> None:
        """In a forked child: close inherited spool descriptors, touch nothing else.

        The parent's threads do not exist in the child and its buffers, spools and
        connection belong to the parent; the shipper builds a fresh Worker instead.
        """
        for sp in [self._own, *self._adopted]:
            if sp is not None:
                sp.forget_after_fork()

    def flush(self, timeout: float) -> bool:
        """Wait until nothing is pending (all delivered, dead-lettered or dropped), or
        `timeout` passes."""
        deadline = time.monotonic() + max(0.0, timeout)
        self._backoff_until = 0.0  # one immediate attempt, then the normal backoff again
        while True:
            self.wake.set()
            self._sender_wake.set()
            if self._idle():
                return True
            left = deadline - time.monotonic()
            if left <= 0 or not self.alive:
                return self._idle()
            with self._progress:
                self._progress.wait(min(left, 0.05))

    def close(self, timeout: float) -> bool:
        """Flush within `timeout`, stop, and put whatever is left on disk. True if all sent."""
        if self.closed:
            return True
        done = self.flush(timeout) if self.alive else self._idle()
        self._stop.set()
        self.wake.set()
        self._sender_wake.set()
        with self._state:
            self._space.notify_all()
        for t in self._threads:
            t.join(timeout=1.0)
        with self._state:
            self.closed = True
            recs = drain(self.queue)
            self.popped += len(recs)
            self._held += len(recs)
        self.taken += len(recs)
        encoded = self._encode_all(recs)
        with self._state:
            self._held -= len(recs)
            self.stats.drop(st.INTERNAL_ERROR, len(recs) - len(encoded))
            leftovers = [*self._inflight, *self._outbox, *encoded]
            self._outbox.clear()
            self._outbox_bytes = 0
            self._inflight = []
            if leftovers:
                self._force_to_spool(leftovers)
        self._release_commit()
        self._log_drops(force=True)
        for sp in [self._own, *self._adopted]:
            if sp is not None:
                sp.close(remove_if_drained=True)
        if self._sink is not None and not any(t.is_alive() for t in self._threads):
            self._sink.close()
        self._export(force=True)  # the final counts of this process, before it exits
        return done and not leftovers

    def _idle(self) -> bool:
        """Nothing pending and nothing due (checked under the lock every move takes)."""
        with self._state:
            if not self._scanned and self.alive:
                return False
            if self._deployment_due():
                return False
            return self._pending(len(self.queue))[0] == 0

    # --- state for stats() ----------------------------------------------------------
    def _pending(self, queued: int) -> tuple[int, int, int]:
        """(all, in memory, in spools) records not settled yet, `queued` of them still in
        the queue (read once: callers append without the lock); call with `_state` held."""
        memory = queued + self._held + len(self._outbox) + len(self._inflight)
        spool = sum(sp.pending_records for sp in [self._own, *self._adopted] if sp is not None)
        return memory + spool, memory, spool

    def ledger(self) -> dict[str, Any]:
        """The accounting identity, from one consistent state (see the module docstring)."""
        with self._state:
            queued = len(self.queue)
            _, memory, spool = self._pending(queued)
            snap = self.stats.snapshot()
            return st.ledger(
                enqueued=self.popped + queued + snap["dropped_at_call"],
                adopted=self._adopted_records,
                internal=self._internal,
                snap=snap,
                internal_done=self._internal_done,
                pending_memory=memory,
                pending_spool=spool,
            )

    def depth(self) -> dict[str, Any]:
        with self._state:
            outbox, inflight = len(self._outbox), len(self._inflight)
            # Only the head is needed: never copy the (up to memory_bytes) outbox here.
            head = self._inflight[:1] or ([self._outbox[0]] if self._outbox else [])
            first = [x[0] for x in head]
            spools = [sp for sp in [self._own, *self._adopted] if sp is not None]
            queued = len(self.queue) + self._held
        times = first + [t for t in (sp.oldest_enqueued_at() for sp in spools) if t is not None]
        with contextlib.suppress(IndexError):
            times.append(self.queue[0][2])
        return {
            "queue_depth": queued + outbox + inflight,
            "memory_pending_bytes": self._outbox_bytes,
            "spool_pending_records": sum(sp.pending_records for sp in spools),
            "spool_live_bytes": sum(sp.live_bytes for sp in spools),
            "spool_disk_bytes": sum(sp.disk_bytes for sp in spools),
            "spool_dir": str(self._own.path) if self._own else None,
            "spool_error": self._spool_message,
            "oldest_unsent_age_s": round(time.time() - min(times), 3) if times else 0.0,
            "state": self._state_name(),
        }

    def _state_name(self) -> str:
        if self.closed:
            return "closed"
        if self._failing or self._spool_problem:
            return "error"
        if time.monotonic() < self._backoff_until:
            return "backoff"
        return "spilling" if self._own is not None and self._own.pending_records else "ok"
