"""The sender thread: sending, settling per-item results, and backing off.

Sends, oldest first, adopted spools of dead processes, then its own spool, then the
outbox. Per-item results (`_bulk.classify`): delivered and duplicates are done; retryable
items go back to the front of memory and delivery backs off; refused items become dead
letters, routed like any record. A whole request that fails is no verdict on its
documents: they stay where they were (memory front, or unacknowledged in the spool) and
delivery backs off (exponential, jittered, honouring Retry-After). A request too large
(413) is split in halves.
"""

from __future__ import annotations

import time
from collections import deque

from predwatch.mappings import deployments_mapping

from . import _bulk as b
from . import _lifecycle
from . import _stats as st
from ._adoption import Adoption
from ._deployment import INDEX as DEPLOYMENTS_INDEX
from ._deployment import is_deployment
from ._routing import Routing
from ._spool import Entry, SpoolDir, framed_size
from ._worker_state import Item, log

# The dead letter of a deployment document: internal, like the document itself.
_CONTROL_DEADLETTER = (
    b'{"create":{"_index":"' + b.DEADLETTER_INDEX.encode() + b'","_id":"'
    + DEPLOYMENTS_INDEX.encode() + b"/"
)  # fmt: skip


def is_internal(payload: bytes) -> bool:
    """A deployment document or its dead letter: shipped, but not a prediction."""
    return is_deployment(payload) or payload.startswith(_CONTROL_DEADLETTER)


class Sender(Adoption, Routing):
    """The sender thread's loop, delivery, settling and backoff."""

    def _sender_loop(self) -> None:
        while not self._stop.is_set():
            self._log_drops()
            wait = self._backoff_until - time.monotonic()
            if wait > 0:
                self._sender_wake.wait(wait)
                self._sender_wake.clear()
                continue
            # Clear before looking for work: a wake-up arriving during the step is kept.
            self._sender_wake.clear()
            try:
                worked = self._send_step()
            except Exception as exc:  # a bug must not kill shipping
                self._report("internal", f"predwatch shipper sender error: {exc!r}")
                worked = False
                self._enter_backoff(None)
            self._notify()
            if not worked:
                self._sender_wake.wait(self.cfg.flush_interval)

    def _send_step(self) -> bool:
        now = time.monotonic()
        if now >= self._next_adopt:
            self._next_adopt = now + self.cfg.adopt_interval
            try:
                self._adopt()
            finally:
                self._scanned = True
        for sp in list(self._adopted):
            if self._send_spool(sp):
                return True
            # Nothing left to read: every record was acknowledged (a failed batch is
            # rewound, so it would be read again) or was unreadable and counted.
            with self._state:
                sp.close(remove_if_drained=True, force=True)
                self._adopted.remove(sp)
        # Own spool before the outbox: everything spooled is older than what is in memory.
        # Twice: the encoder may spill the oldest of memory between the two looks.
        for _ in range(2):
            if self._own is not None and self._send_spool(self._own):
                return True
            sent = self._send_outbox()
            if sent is not None:
                return sent
        return False

    def _send_outbox(self) -> bool | None:
        """Send the oldest batch of memory; None if the spool got records meanwhile."""
        with self._state:
            if self._own is not None and self._own.pending_records:
                return None
            batch = take(self._outbox, self.cfg.batch_size, self.cfg.batch_bytes)
            self._outbox_bytes -= sum(len(p) for _, p in batch)
            self._inflight = batch
        if not batch:
            return False
        try:
            results = self._deliver([p for _, p in batch])
        except BaseException as exc:
            # No verdict on these records: back to the front of memory, in order (close()
            # may have taken them to disk meanwhile).
            with self._state:
                if not self.closed:
                    self._inflight = []
                    self._route(batch, front=True)
            if isinstance(exc, b.BulkFailed):
                self._enter_backoff(exc)
                return True
            raise
        with self._state:
            if not self.closed:
                self._settle(batch, results)
                self._inflight = []
        return True

    def _send_spool(self, sp: SpoolDir) -> bool:
        entries = sp.read(self.cfg.batch_size, self.cfg.batch_bytes)
        self._count_spool_damage(sp)
        if not entries:
            return False
        try:
            results = self._deliver([e.payload for e in entries])
        except BaseException as exc:
            sp.rewind()  # still unacknowledged: read again after the backoff
            if isinstance(exc, b.BulkFailed):
                self._enter_backoff(exc)
                return True
            raise
        with self._state:
            if not self.closed:
                self._settle([(e.enqueued_at, e.payload) for e in entries], results, sp, entries)
        self.stats.add(replayed_records=len(entries))
        return True

    def _count_spool_damage(self, sp: SpoolDir) -> None:
        with self._state:
            torn, corrupt = sp.torn, sp.corrupt
            if torn or corrupt:
                sp.torn = sp.corrupt = 0
                self.stats.drop(st.SPOOL_TORN, torn)
                self.stats.drop(st.SPOOL_CORRUPT, corrupt)
                if not sp.owner:  # found in the orphan, lost there: in and out of the ledger
                    self._adopted_records += torn + corrupt

    def _deliver(self, payloads: list[bytes]) -> list[b.ItemResult]:
        if self._sink is None:
            self._sink = self.sink_factory()
            _lifecycle.run_exit_hook_first()
        try:
            if not self._dl_ready and any(map(b.is_deadletter, payloads)):
                self._sink.ensure_index(b.DEADLETTER_INDEX, b.DEADLETTER_MAPPING)
                self._dl_ready = True
            if not self._dep_index_ready and any(map(is_deployment, payloads)):
                # Typed even where set-up has not run: the alert rules aggregate on keywords.
                self._sink.ensure_index(DEPLOYMENTS_INDEX, deployments_mapping())
                self._dep_index_ready = True
            results = self._sink.bulk(b"".join(payloads), len(payloads))
        except b.BulkFailed as exc:
            self.stats.add(failed_requests=1)
            if exc.kind == "too_large" and len(payloads) > 1:
                # If the second half then fails, the first half is sent again later: 409s,
                # counted as duplicates, never twice in Elasticsearch.
                mid = len(payloads) // 2
                return self._deliver(payloads[:mid]) + self._deliver(payloads[mid:])
            raise
        self.stats.add(batches=1)
        if not self._answered:
            self._answered = True
            self.wake.set()  # the deployment document may go now
        return results

    def _settle(
        self,
        batch: list[Item],
        results: list[b.ItemResult],
        sp: SpoolDir | None = None,
        entries: list[Entry] | None = None,
    ) -> None:
        """Count a batch's per-item results and place what goes on. Call with `_state`
        held: the records leave "pending" in the same step as they are counted."""
        acked = dup = dl_acked = internal = rejected = 0
        retry: list[Item] = []
        dead: list[Item] = []
        now = time.time()
        for (t, payload), res in zip(batch, results, strict=True):
            kind = b.classify(res)
            control = is_internal(payload)
            if kind == b.OK or kind == b.DUPLICATE:
                if control:  # not a prediction: kept out of the counts
                    internal += 1
                    if self.deployment is not None and is_deployment(payload):
                        self.deployment.settled(payload, kind)
                elif b.is_deadletter(payload):
                    dl_acked += 1
                elif kind == b.OK:
                    acked += 1
                else:
                    dup += 1
            elif kind == b.RETRY:
                retry.append((t, payload))
            elif b.is_deadletter(payload):
                if control:
                    internal += 1
                else:
                    rejected += 1
                self._report("deadletter", f"the dead-letter index refused a record: {res}")
            else:
                if self.deployment is not None and is_deployment(payload):
                    self.deployment.settled(payload, b.DEAD)
                dead.append((t, b.deadletter_payload(payload, res, self._iso, now)))
        self.stats.add(acked=acked, duplicates=dup, dead_lettered=dl_acked, retried=len(retry))
        self.stats.drop(st.DEADLETTER_REJECTED, rejected)
        self._internal_done += internal
        if sp is not None and entries:
            sp.ack(entries[-1], len(entries), sum(framed_size(e.payload) for e in entries))
            self._space.notify_all()
        self._route(retry, front=True)
        self._route(dead)
        if retry:
            self._enter_backoff(None)
        else:
            self._recovered()
            if not self._outbox and self._spool_problem is not None:
                # Memory emptied without the spool: no longer an error.
                self._spool_problem = self._spool_message = None

    def _enter_backoff(self, exc: b.BulkFailed | None) -> None:
        cfg = self.cfg
        delay = b.backoff_delay(self._attempt, cfg.backoff_base, cfg.backoff_cap, self._rng)
        if exc is not None and exc.retry_after is not None:
            delay = max(delay, min(exc.retry_after, 300.0))
        self._attempt += 1
        self._backoff_until = time.monotonic() + delay
        if exc is not None:
            self._failing = exc.kind
            text = " ".join(str(exc).split())  # one line
            self._report(
                exc.kind,
                f"predwatch cannot deliver to Elasticsearch ({exc.kind}): {text}; "
                "records are kept (memory, then disk) and retried",
            )

    def _recovered(self) -> None:
        self._attempt = 0
        self._failing = None
        if self._reported is not None:
            log.info("predwatch delivery to Elasticsearch works again")
            self._reported = None


def take(q: deque[Item], max_n: int, max_bytes: int) -> list[Item]:
    out: list[Item] = []
    size = 0
    while q and len(out) < max_n:
        item = q[0]
        if out and size + len(item[1]) > max_bytes:
            break
        out.append(q.popleft())
        size += len(item[1])
    return out
