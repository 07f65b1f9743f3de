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
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from predwatch.mappings import deployments_mapping

from . import _bulk as b
from . import _lifecycle
from . import _stats as st
from ._deployment import INDEX as DEPLOYMENTS_INDEX
from ._deployment import Deployment, is_deployment, utc_day
from ._documents import DocBuilder, Record, observations
from ._serialize import IsoClock
from ._spool import DEFAULT_SEGMENT_BYTES, Entry, SpoolDir, framed_size, orphan_candidates

log = logging.getLogger("predwatch.shipper")

Item = tuple[float, bytes]  # (enqueued_at, bulk lines)
MIN_SEGMENT_BYTES = 64 << 10
# The dead letter of a deployment document: internal, like the document itself.
_CONTROL_DEADLETTER = (
    b'{"create":{"_index":"' + b.DEADLETTER_INDEX.encode() + b'","_id":"'
    + DEPLOYMENTS_INDEX.encode() + b"/"
)  # fmt: skip


@dataclass(frozen=True)
class Settings:
    durability: str = "memory"
    batch_size: int = 500
    batch_bytes: int = 5 << 20
    flush_interval: float = 1.0
    memory_bytes: int = 32 << 20
    spool_budget: int = 1 << 30
    spool_policy: str = "drop_newest"
    spool_block_timeout: float = 5.0
    backoff_base: float = 0.5
    backoff_cap: float = 10.0
    adopt_interval: float = 30.0
    segment_bytes: int = DEFAULT_SEGMENT_BYTES
    drop_log_interval: float = 60.0


def is_internal(payload: bytes) -> bool:
    """A deployment document or its dead letter: shipped, but not a prediction."""
    return is_deployment(payload) or payload.startswith(_CONTROL_DEADLETTER)


class Worker:
    """Owns the threads, the outbox and the spools of one shipper in one process."""

    def __init__(
        self,
        queue: deque[Record],
        builder: DocBuilder,
        sink_factory: Callable[[], b.Sink],
        spool_root: Path,
        settings: Settings,
        stats: st.Stats,
        deployment: Deployment | None = None,
        metrics: st.PredictionCounts | None = None,
    ) -> None:
        self.queue = queue
        self.builder = builder
        self.sink_factory = sink_factory
        self.root = spool_root
        self.cfg = settings
        self.stats = stats
        self.disk = settings.durability == "disk"
        # Small budgets get small segments: acknowledged space is only returned to the
        # disk when its segment is deleted.
        self.segment_bytes = min(
            settings.segment_bytes, max(MIN_SEGMENT_BYTES, settings.spool_budget // 4)
        )
        self.deployment = deployment
        self.metrics = metrics  # set (also later) when Prometheus metrics are enabled
        self._rng = random.Random()
        self._iso = IsoClock()
        self._reset_state()

    def _reset_state(self) -> None:
        self.wake = threading.Event()  # set by callers: work for the encoder
        self.commit = threading.Condition()  # durability="disk": callers wait here
        self.taken = 0  # records placed by the encoder (== durable count in disk mode)
        # Guards every move of a record between places (queue, encoder, outbox, in
        # flight, spools, counters): ledger() and _idle() see one consistent state.
        self._state = threading.RLock()  # re-entrant: the SIGTERM handler runs on the main thread
        self._space = threading.Condition(self._state)  # spool space freed (policy "block")
        self._spool_lock = threading.Lock()  # one own spool directory, created once
        self._progress = threading.Condition()
        self._sender_wake = threading.Event()
        self._stop = threading.Event()
        self._outbox: deque[Item] = deque()
        self._outbox_bytes = 0
        self._inflight: list[Item] = []
        self.popped = 0  # records taken off the queue
        self._held = 0  # popped, not placed yet (being encoded)
        self._internal = 0  # internal documents routed
        self._internal_done = 0
        self._adopted_records = 0
        self._backoff_until = 0.0
        self._attempt = 0
        self._failing: str | None = None  # a request-level failure, until a request works
        self._spool_problem: str | None = None  # the spool is full or unwritable (reason)
        self._spool_message: str | None = None  # ... and what to do about it
        self._reported: str | None = None
        self._drops_logged: dict[str, tuple[int, float]] = {}
        self._own: SpoolDir | None = None
        self._adopted: list[SpoolDir] = []
        self._next_adopt = 0.0
        self._scanned = False  # the first adoption scan ran (flush waits for it)
        self._dl_ready = False
        self._dep_index_ready = False
        self._answered = False  # a _bulk request of this worker got a response
        self._dep_day = -1  # the UTC day whose deployment document this worker routed
        self._dep_thread: threading.Thread | None = None
        self._sink: b.Sink | None = None
        self._threads: list[threading.Thread] = []
        self.closed = False

    # --- lifecycle ------------------------------------------------------------------
    def start(self) -> None:
        if self.disk:
            try:
                self._own_spool()
            except OSError as exc:  # the constructor checked; the disk may have changed since
                self._spool_failed(exc)
        for name, target in (("encoder", self._encoder_loop), ("sender", self._sender_loop)):
            t = threading.Thread(target=target, name=f"predwatch-shipper-{name}", daemon=True)
            t.start()
            self._threads.append(t)

    @property
    def alive(self) -> bool:
        return bool(self._threads) and all(t.is_alive() for t in self._threads)

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
            recs = _drain(self.queue)
            self.popped += len(recs)
            self._held += len(recs)
        self.taken += len(recs)
        self._count(recs)
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
        return done and not leftovers

    def _force_to_spool(self, items: list[Item]) -> None:
        """At close: everything left goes to disk, past the budget (else it is lost)."""
        try:
            self._own_spool().append(items, sync=True)
            self.stats.add(spooled_records=len(items), spooled_bytes=_framed(items))
        except OSError as exc:
            self._spool_failed(exc)
            self.stats.drop(st.SPOOL_ERROR, len(items))

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

    # --- encoder --------------------------------------------------------------------
    def _encoder_loop(self) -> None:
        while not self._stop.is_set():
            self.wake.clear()  # before draining: a wake-up during the drain is kept
            try:
                while self.queue and not self._stop.is_set():
                    self._encode_batch()
            except Exception as exc:  # a bug must not kill shipping
                self._report("internal", f"predwatch shipper encoder error: {exc!r}")
                self._release_commit()
            try:
                self._deployment_step()
            except Exception as exc:
                self._deployment_failed(exc)
            self.wake.wait(self.cfg.flush_interval)

    def _encode_batch(self) -> None:
        with self._state:
            recs = _drain(self.queue, self.cfg.batch_size)
            self.popped += len(recs)
            self._held += len(recs)
        try:
            self._count(recs)
            items = self._encode_all(recs)
            with self._state:
                self._held -= len(recs) - len(items)
                self.stats.drop(st.INTERNAL_ERROR, len(recs) - len(items))
            self._route(items, held=True, may_block=True)
        finally:
            with self._state:
                if self._held:  # a bug between popping and placing: counted, not hidden
                    self.stats.drop(st.INTERNAL_ERROR, self._held)
                    self._held = 0
            self.taken += len(recs)
            if self.disk:
                self._release_commit()
            self._notify()

    def _count(self, recs: list[Record]) -> None:
        m = self.metrics
        if m is not None and recs:
            with contextlib.suppress(Exception):  # metrics must never cost a record
                m.add(observations(recs, self.builder.model_version))

    def _encode_all(self, recs: list[Record]) -> list[Item]:
        """Encoded records; one that cannot be encoded at all is left out (the caller
        counts it as "internal_error")."""
        return [x for x in map(self._encode, recs) if x is not None]

    def _encode(self, rec: Record) -> Item | None:
        try:
            return (rec[2], self.builder.encode(rec))
        except Exception:
            pass
        try:  # salvage: the same record with its inputs as text
            salvaged = (*rec[:4], {"_value": repr(rec[4])[:8192]}, repr(rec[5])[:1024], None, None)
            return (rec[2], self.builder.encode(salvaged))
        except Exception:
            return None

    # --- the deployment document (see _deployment) ----------------------------------
    def _deployment_due(self) -> bool:
        dep = self.deployment
        if dep is None or dep.state == "failed" or not self.alive:
            return False
        day = utc_day(time.time())
        return self._answered and self._dep_day != day and dep.recorded_day != day

    def _deployment_step(self) -> None:
        """Route today's deployment document once (the environment is read on a thread),
        after Elasticsearch first answered this worker: a process that never reaches it
        (down, wrong URL or credentials) spools only its predictions."""
        dep = self.deployment
        if dep is None or dep.state == "failed":
            return
        now = time.time()
        day = utc_day(now)
        if self._dep_day == day:
            return
        if dep.recorded_day == day:  # recorded by this shipper before a fork or restart
            self._dep_day = day
            return
        if not dep.ready:
            if self._dep_thread is None:
                self._dep_thread = threading.Thread(
                    target=self._prepare_deployment,
                    name="predwatch-shipper-deployment",
                    daemon=True,
                )
                self._dep_thread.start()
            return
        if not self._answered:
            return
        payload = dep.payload(now)
        # One step under the lock: _idle() sees the document either due or pending.
        with self._state:
            self._internal += 1
            self._dep_day = day
            self._route([(now, payload)])

    def _prepare_deployment(self) -> None:
        dep = self.deployment
        try:
            if dep is not None:
                dep.prepare()
        except Exception as exc:
            self._deployment_failed(exc)
        finally:
            self.wake.set()

    def _deployment_failed(self, exc: Exception) -> None:
        if self.deployment is not None:
            self.deployment.state = "failed"
        self._report("deployment", f"predwatch cannot build the deployment document: {exc!r}")
        self._notify()

    def _release_commit(self) -> None:
        with self.commit:
            self.commit.notify_all()

    # --- placing records: memory first, then the spool --------------------------------
    def _route(
        self, items: list[Item], *, held: bool = False, may_block: bool = False, front: bool = False
    ) -> None:
        """Put `items` in memory (at the back, or at the `front` for records that were
        already sent once), then move the oldest of memory to the spool while memory
        holds more than its limit (0 with durability="disk").

        `held`: the items come from the encoder's hands (`_held`). `may_block`: the
        encoder may wait for spool space (policy "block"); the sender never waits.
        Retried items (front) are older than what the spool may hold since: `_id` =
        prediction_id keeps redelivery idempotent, so reordering never duplicates.
        """
        if not items:
            return
        with self._state:
            if held:
                self._held -= len(items)
            if front:
                self._outbox.extendleft(reversed(items))
            else:
                self._outbox.extend(items)
            self._outbox_bytes += sum(len(p) for _, p in items)
            self._spill(may_block)
        self._sender_wake.set()

    def _spill(self, may_block: bool) -> None:
        """Move the oldest records of memory to the spool while memory is over its limit;
        if the spool cannot take them, keep them in memory up to `memory_bytes` and drop
        the newest beyond that. Call with `_state` held."""
        limit = 0 if self.disk else self.cfg.memory_bytes
        deadline: float | None = None
        while self._outbox_bytes > limit and self._outbox:
            chunk: list[Item] = []
            size = 0
            for item in self._outbox:
                if len(chunk) >= self.cfg.batch_size or (
                    chunk and self._outbox_bytes - size <= limit
                ):
                    break
                chunk.append(item)
                size += len(item[1])
            written, problem = self._write_spool(chunk)
            for _ in range(written):
                self._outbox_bytes -= len(self._outbox.popleft()[1])
            if written == len(chunk):
                continue
            if problem == st.SPOOL_FULL and may_block and self.cfg.spool_policy == "block":
                if deadline is None:
                    deadline = time.monotonic() + self.cfg.spool_block_timeout
                left = deadline - time.monotonic()
                if left > 0 and not self._stop.is_set():
                    self._sender_wake.set()
                    self._space.wait(min(left, 0.1))  # releases _state: the sender acks
                    continue
            self._drop_newest(problem or st.SPOOL_FULL)
            return

    def _drop_newest(self, reason: str) -> None:
        """Memory is the fallback of a full or broken spool, up to `memory_bytes`."""
        n = 0
        while self._outbox and self._outbox_bytes > self.cfg.memory_bytes:
            self._outbox_bytes -= len(self._outbox.pop()[1])
            n += 1
        self.stats.drop(reason, n)

    def _write_spool(self, chunk: list[Item]) -> tuple[int, str | None]:
        """Append the longest prefix of `chunk` that fits the budget (live bytes, per
        record); returns (records written, why not all: spool_full / spool_error)."""
        try:
            sp = self._own_spool()
            room = self.cfg.spool_budget - sp.live_bytes
            n = size = 0
            for _, payload in chunk:
                need = framed_size(payload)
                # An empty spool takes one record even if it alone is over the budget.
                if size + need > room and not (n == 0 and sp.live_bytes == 0):
                    break
                n += 1
                size += need
            if n:
                sp.append(chunk[:n], sync=self.disk)
                self.stats.add(spooled_records=n, spooled_bytes=size)
        except OSError as exc:
            self._spool_failed(exc)
            return 0, st.SPOOL_ERROR
        if n < len(chunk):
            self._spool_trouble(
                st.SPOOL_FULL,
                f"predwatch spool {sp.path} holds {sp.live_bytes} unsent bytes, its budget is "
                f"{self.cfg.spool_budget}: records stay in memory (memory_bytes="
                f"{self.cfg.memory_bytes}), then the newest are dropped; raise spool_budget "
                "or bring Elasticsearch back",
            )
            return n, st.SPOOL_FULL
        if self._spool_problem is not None:
            self._spool_problem = self._spool_message = None
        return n, None

    def _spool_trouble(self, reason: str, message: str) -> None:
        self._spool_problem, self._spool_message = reason, message
        self._report(reason, message)

    def _spool_failed(self, exc: OSError) -> None:
        self._spool_trouble(
            st.SPOOL_ERROR,
            f"predwatch cannot write its spool in {self.root} ({exc.strerror or exc}): records "
            f"stay in memory (memory_bytes={self.cfg.memory_bytes}), then the newest are "
            "dropped; make the directory writable or set spool_dir= / PREDWATCH_SPOOL_DIR",
        )

    def _own_spool(self) -> SpoolDir:
        with self._spool_lock:  # encoder and sender both get here: one directory, once
            if self._own is None:
                self._own = SpoolDir.create(self.root, self.segment_bytes)
            return self._own

    # --- sender ---------------------------------------------------------------------
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
            batch = _take(self._outbox, self.cfg.batch_size, self.cfg.batch_bytes)
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

    # --- backoff, adoption, reporting -----------------------------------------------
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

    def _report(self, kind: str, message: str) -> None:
        with self.stats.lock:
            self.stats.last_error = message
            self.stats.last_error_at = time.time()
        if self._reported != kind:
            self._reported = kind
            log.warning(message)

    def _log_drops(self, force: bool = False) -> None:
        """One warning per drop reason per `drop_log_interval`, never one per record."""
        now = time.monotonic()
        with self.stats.lock:
            dropped = dict(self.stats.dropped)
        for reason, total in dropped.items():
            seen, at = self._drops_logged.get(reason, (0, -1e18))
            if total > seen and (force or now - at >= self.cfg.drop_log_interval):
                self._drops_logged[reason] = (total, now)
                log.warning(
                    "predwatch dropped %d record(s) (%s: %s; %d in all)",
                    total - seen,
                    reason,
                    st.REASONS.get(reason, "see stats()"),
                    total,
                )

    def _adopt(self) -> None:
        own = self._own.path if self._own else None
        held = {sp.path for sp in self._adopted}
        for path in orphan_candidates(self.root, exclude=own):
            if path in held:
                continue
            sp = SpoolDir.try_adopt(path, self.segment_bytes)
            if sp is None:
                continue
            if sp.drained:
                sp.close(remove_if_drained=True)
                continue
            with self._state:
                self._adopted.append(sp)
                self._adopted_records += sp.pending_records
            self.stats.add(adopted_spools=1)
            log.info("predwatch adopted the spool %s (%d records)", path, sp.pending_records)

    def _notify(self) -> None:
        with self._progress:
            self._progress.notify_all()


def _framed(items: list[Item]) -> int:
    return sum(framed_size(p) for _, p in items)


def _drain(q: deque[Record], limit: int | None = None) -> list[Record]:
    out: list[Record] = []
    pop = q.popleft
    try:
        while limit is None or len(out) < limit:
            out.append(pop())
    except IndexError:
        pass
    return out


def _take(q: deque[Item], max_n: int, max_bytes: int) -> list[Item]:
    out: list[Item] = []
    size = 0
    while q and len(out) < max_n:
        item = q[0]
        if out and size + len(item[1]) > max_bytes:
            break
        out.append(q.popleft())
        size += len(item[1])
    return out
