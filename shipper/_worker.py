"""The background half of a shipper: an encoder thread and a sender thread.

    caller --append--> queue (deque) --encoder--> outbox (bytes, bounded) --sender--> _bulk
                                           \\                                  ^
                                            `--> disk spool (own dir) --------'  (+ adopted dirs)

Encoder: pops records, builds and encodes documents (`_documents`), then routes them:
to the in-memory outbox while delivery is not backing off and the outbox has room for
them within `memory_bytes`; otherwise (Elasticsearch down, or slower than the callers, or
durability="disk") the outbox and then they go to the spool, so the spool only ever holds
records older than those in memory ("spilling" while it holds any). With
durability="disk" every batch is appended and fsynced once (group commit) before the
waiting callers are released.

Sender: sends, oldest first, adopted spools of dead processes, then its own spool, then
the outbox (routing order; exceptions in `Worker._route`). Per-item results
(`_bulk.classify`): delivered and duplicates are done; retryable items are appended to
the spool again (the batch itself is acknowledged, so counts stay exact) and delivery
backs off; refused items become dead letters, routed like any record. A whole-request
failure (down, TLS, credentials, 5xx) puts an outbox batch on disk, or leaves a spool
batch unacknowledged, and backs off (exponential, jittered, honouring Retry-After). Each
kind of failure is logged once on the `predwatch.shipper` logger until delivery works
again.
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
from ._spool import DEFAULT_SEGMENT_BYTES, HEADER_SIZE, Entry, SpoolDir, orphan_candidates

log = logging.getLogger("predwatch.shipper")

Item = tuple[float, bytes]  # (enqueued_at, bulk lines)


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
        self.deployment = deployment
        self.metrics = metrics  # set (also later) when Prometheus metrics are enabled
        self._rng = random.Random()
        self._iso = IsoClock()
        self._reset_state()

    def _reset_state(self) -> None:
        self.wake = threading.Event()  # set by callers: work for the encoder
        self.commit = threading.Condition()  # durability="disk": callers wait here
        self.taken = 0  # records popped from the queue (== durable count in disk mode)
        self._state = threading.RLock()  # re-entrant: the SIGTERM handler runs on the main thread
        self._progress = threading.Condition()
        self._sender_wake = threading.Event()
        self._stop = threading.Event()
        self._outbox: deque[Item] = deque()
        self._outbox_bytes = 0
        self._inflight: list[Item] = []
        self._encoding = False
        self._spill = False
        self._backoff_until = 0.0
        self._attempt = 0
        self._reported: str | None = None
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
            self._own_spool()
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
        """Wait until everything enqueued so far is delivered, or `timeout` passes."""
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
        for t in self._threads:
            t.join(timeout=1.0)
        self.closed = True
        recs = _drain(self.queue)
        self.taken += len(recs)
        self._count(recs)
        encoded = [x for x in map(self._encode, recs) if x is not None]
        with self._state:
            leftovers = [*self._inflight, *self._outbox, *encoded]
            self._outbox.clear()
            self._outbox_bytes = 0
            self._inflight = []
        if leftovers:
            self._to_spool(leftovers, sync=True, force=True)
        self._release_commit()
        for sp in [self._own, *self._adopted]:
            if sp is not None:
                sp.close(remove_if_drained=True)
        if self._sink is not None and not any(t.is_alive() for t in self._threads):
            self._sink.close()
        return done and not leftovers

    def _idle(self) -> bool:
        if not self._scanned and self.alive:
            return False
        with self._state:
            busy = self._encoding or bool(self._outbox) or bool(self._inflight)
        if busy or self.queue or self._deployment_due():
            return False
        return all(sp.drained for sp in [self._own, *self._adopted] if sp is not None)

    # --- state for stats() ----------------------------------------------------------
    def depth(self) -> dict[str, Any]:
        with self._state:
            outbox, inflight = len(self._outbox), len(self._inflight)
            # Only the head is needed: never copy the (up to memory_bytes) outbox here.
            head = self._inflight[:1] or ([self._outbox[0]] if self._outbox else [])
            first = [x[0] for x in head]
        spools = [sp for sp in [self._own, *self._adopted] if sp is not None]
        times = first + [t for t in (sp.oldest_enqueued_at() for sp in spools) if t is not None]
        with contextlib.suppress(IndexError):
            times.append(self.queue[0][2])
        return {
            "queue_depth": len(self.queue) + outbox + inflight,
            "spool_pending_records": sum(sp.pending_records for sp in spools),
            "spool_disk_bytes": sum(sp.disk_bytes for sp in spools),
            "spool_dir": str(self._own.path) if self._own else None,
            "oldest_unsent_age_s": round(time.time() - min(times), 3) if times else 0.0,
            "state": self._state_name(),
        }

    def _state_name(self) -> str:
        if self.closed:
            return "closed"
        if time.monotonic() < self._backoff_until:
            return "backoff"
        return "spilling" if self._spill else "ok"

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
            self._encoding = True
        try:
            recs = _drain(self.queue, self.cfg.batch_size)
            self._count(recs)
            items = [x for x in map(self._encode, recs) if x is not None]
            if items:
                self._route(items)
        finally:
            with self._state:
                self._encoding = False
            self.taken += len(recs)
            if self.disk:
                self._release_commit()
            self._notify()

    def _count(self, recs: list[Record]) -> None:
        m = self.metrics
        if m is not None and recs:
            with contextlib.suppress(Exception):  # metrics must never cost a record
                m.add(observations(recs, self.builder.model_version))

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
        self._route([(now, dep.payload(now))])
        self._dep_day = day

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

    def _encode(self, rec: Record) -> Item | None:
        try:
            return (rec[2], self.builder.encode(rec))
        except Exception:
            pass
        try:  # salvage: the same record with its inputs as text
            salvaged = (*rec[:4], {"_value": repr(rec[4])[:8192]}, repr(rec[5])[:1024], None, None)
            return (rec[2], self.builder.encode(salvaged))
        except Exception:
            self.stats.drop(st.INTERNAL_ERROR)
            return None

    def _release_commit(self) -> None:
        with self.commit:
            self.commit.notify_all()

    def _route(self, items: list[Item]) -> None:
        """Memory while Elasticsearch answers and the outbox has room, else the spool.

        Order: whenever records go to the spool, the outbox goes there first, so every
        spooled record is older than every record in memory; the sender empties its own
        spool before the outbox. Records return to memory as soon as it has room (not
        only once the spool is empty), and stay in routing order. The exceptions are
        retries (a 429'd item goes to the spool behind newer records) and a batch that
        fails while this thread is spilling; `_id` = prediction_id keeps redelivery
        idempotent, so these reorder records but never duplicate or lose one.
        """
        size = sum(len(p) for _, p in items)
        with self._state:
            spill = self.disk or time.monotonic() < self._backoff_until
            if not spill and self._outbox_bytes + size <= self.cfg.memory_bytes:
                self._outbox.extend(items)
                self._outbox_bytes += size
                self._sender_wake.set()
                return
            if self._outbox:
                items = [*self._outbox, *items]
                self._outbox.clear()
                self._outbox_bytes = 0
            self._spill = True
        self._spool_in_batches(items)
        self._sender_wake.set()

    def _spool_in_batches(self, items: list[Item]) -> None:
        # One append of a whole outbox (up to memory_bytes) would frame and join it into
        # one buffer: a transient of about twice memory_bytes.
        step = self.cfg.batch_size
        for i in range(0, len(items), step):
            self._to_spool(items[i : i + step], sync=self.disk)

    def _own_spool(self) -> SpoolDir:
        if self._own is None:
            self._own = SpoolDir.create(self.root, self.cfg.segment_bytes)
        return self._own

    def _to_spool(self, items: list[Item], sync: bool, force: bool = False) -> None:
        size = sum(len(p) + HEADER_SIZE for _, p in items)
        try:
            sp = self._own_spool()
            full = not force and sp.disk_bytes + size > self.cfg.spool_budget
            if full and not self._wait_for_space(sp, size):
                self.stats.drop(st.SPOOL_FULL, len(items))
                self._report(
                    "spool_full",
                    f"predwatch spool {sp.path} is over its budget of "
                    f"{self.cfg.spool_budget} bytes; dropping the newest records "
                    f"(policy {self.cfg.spool_policy}) until Elasticsearch catches up",
                )
                return
            sp.append(items, sync)
            self.stats.add(spooled_records=len(items), spooled_bytes=size)
        except OSError as exc:
            self.stats.drop(st.SPOOL_ERROR, len(items))
            self._report("spool_error", f"predwatch cannot write its spool in {self.root}: {exc}")

    def _wait_for_space(self, sp: SpoolDir, size: int) -> bool:
        if self.cfg.spool_policy != "block":
            return False
        deadline = time.monotonic() + self.cfg.spool_block_timeout
        while time.monotonic() < deadline and not self._stop.is_set():
            if sp.disk_bytes + size <= self.cfg.spool_budget:
                return True
            self._sender_wake.set()
            time.sleep(0.05)
        return sp.disk_bytes + size <= self.cfg.spool_budget

    # --- sender ---------------------------------------------------------------------
    def _sender_loop(self) -> None:
        while not self._stop.is_set():
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
            sp.close(remove_if_drained=True, force=True)
            self._adopted.remove(sp)
        # Own spool before the outbox: everything spooled is older than what is in memory.
        if self._own is not None and self._send_spool(self._own):
            return True
        if self._send_outbox():
            return True
        with self._state:
            if self._own is None or self._own.drained:
                self._spill = False
        return False

    def _send_outbox(self) -> bool:
        with self._state:
            batch = _take(self._outbox, self.cfg.batch_size, self.cfg.batch_bytes)
            self._outbox_bytes -= sum(len(p) for _, p in batch)
            self._inflight = batch
        if not batch:
            return False
        results: list[b.ItemResult] | None = None
        try:
            results = self._deliver([p for _, p in batch])
        except b.BulkFailed as exc:
            self._enter_backoff(exc)
        finally:
            if results is None and not self.closed:
                # Failed (or a bug): this batch and the whole outbox go to disk, in order,
                # so memory empties and a crash during the outage loses nothing queued.
                with self._state:
                    batch = [*batch, *self._outbox]
                    self._outbox.clear()
                    self._outbox_bytes = 0
                    self._spill = True
                self._spool_in_batches(batch)
                with self._state:
                    self._inflight = []
        if results is not None and not self.closed:
            try:
                self._settle(batch, results)
            finally:  # only now: flush() must not see "idle" before retries are on disk
                with self._state:
                    self._inflight = []
        return True

    def _send_spool(self, sp: SpoolDir) -> bool:
        entries = sp.read(self.cfg.batch_size, self.cfg.batch_bytes)
        self._count_spool_damage(sp)
        if not entries:
            return False
        try:
            results = self._deliver([e.payload for e in entries])
        except b.BulkFailed as exc:
            sp.rewind()
            self._enter_backoff(exc)
            return True
        if self.closed:
            return True
        self._settle([(e.enqueued_at, e.payload) for e in entries], results, sp, entries[-1])
        self.stats.add(replayed_records=len(entries))
        return True

    def _count_spool_damage(self, sp: SpoolDir) -> None:
        torn, corrupt = sp.torn, sp.corrupt
        if torn or corrupt:
            sp.torn = sp.corrupt = 0
            self.stats.drop(st.SPOOL_TORN, torn)
            self.stats.drop(st.SPOOL_CORRUPT, corrupt)

    def _deliver(self, payloads: list[bytes]) -> list[b.ItemResult]:
        if self._sink is None:
            self._sink = self.sink_factory()
            _lifecycle.run_exit_hook_first()
        if not self._dl_ready and any(map(b.is_deadletter, payloads)):
            self._sink.ensure_index(b.DEADLETTER_INDEX, b.DEADLETTER_MAPPING)
            self._dl_ready = True
        if not self._dep_index_ready and any(map(is_deployment, payloads)):
            # Typed even where set-up has not run: the alert rules aggregate on keywords.
            self._sink.ensure_index(DEPLOYMENTS_INDEX, deployments_mapping())
            self._dep_index_ready = True
        try:
            results = self._sink.bulk(b"".join(payloads), len(payloads))
        except b.BulkFailed as exc:
            self.stats.add(failed_requests=1)
            if exc.retryable:
                raise
            if len(payloads) == 1:  # the request was refused for this one record
                return [b.ItemResult(exc.status or 400, exc.kind, str(exc))]
            mid = len(payloads) // 2
            return self._deliver(payloads[:mid]) + self._deliver(payloads[mid:])
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
        last: Entry | None = None,
    ) -> None:
        acked = dup = dl_acked = 0
        retry: list[Item] = []
        dead: list[Item] = []
        now = time.time()
        for (t, payload), res in zip(batch, results, strict=True):
            kind = b.classify(res)
            is_dl = b.is_deadletter(payload)
            if kind == b.OK or kind == b.DUPLICATE:
                if is_dl:
                    dl_acked += 1
                elif is_deployment(payload):  # not a prediction: kept out of the counts
                    if self.deployment is not None:
                        self.deployment.settled(payload, kind)
                elif kind == b.OK:
                    acked += 1
                else:
                    dup += 1
            elif kind == b.RETRY:
                retry.append((t, payload))
            elif is_dl:
                self.stats.drop(st.DEADLETTER_REJECTED)
                self._report("deadletter", f"the dead-letter index refused a record: {res}")
            else:
                if self.deployment is not None and is_deployment(payload):
                    self.deployment.settled(payload, b.DEAD)
                dead.append((t, b.deadletter_payload(payload, res, self._iso, now)))
        self.stats.add(acked=acked, duplicates=dup, dead_lettered=dl_acked, retried=len(retry))
        if retry:
            self._to_spool(retry, sync=self.disk, force=True)
            with self._state:
                self._spill = True
        if dead and self.disk:
            self._to_spool(dead, sync=True, force=True)
        elif dead:
            self._route(dead)
        if sp is not None and last is not None:
            sp.ack(last, len(batch))
        if retry:
            self._enter_backoff(None)
        else:
            self._recovered()

    # --- backoff, adoption, reporting -----------------------------------------------
    def _enter_backoff(self, exc: b.BulkFailed | None) -> None:
        cfg = self.cfg
        delay = b.backoff_delay(self._attempt, cfg.backoff_base, cfg.backoff_cap, self._rng)
        if exc is not None and exc.retry_after is not None:
            delay = max(delay, min(exc.retry_after, 300.0))
        self._attempt += 1
        self._backoff_until = time.monotonic() + delay
        if exc is not None:
            self._report(
                exc.kind,
                f"predwatch cannot deliver to Elasticsearch: {exc}; "
                "records are kept on disk and retried",
            )

    def _recovered(self) -> None:
        self._attempt = 0
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

    def _adopt(self) -> None:
        own = self._own.path if self._own else None
        held = {sp.path for sp in self._adopted}
        for path in orphan_candidates(self.root, exclude=own):
            if path in held:
                continue
            sp = SpoolDir.try_adopt(path, self.cfg.segment_bytes)
            if sp is None:
                continue
            if sp.drained:
                sp.close(remove_if_drained=True)
                continue
            self._adopted.append(sp)
            self.stats.add(adopted_spools=1)
            log.info("predwatch adopted the spool %s (%d records)", path, sp.pending_records)

    def _notify(self) -> None:
        with self._progress:
            self._progress.notify_all()


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
