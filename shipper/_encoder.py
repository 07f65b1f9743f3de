"""The encoder thread: records off the caller's queue, encoded, into memory.

It pops up to `batch_size` records, builds and encodes each document (`_documents`; a
record that cannot be encoded is retried with its inputs as text, else counted as
"internal_error"), counts the batch for the metrics (from the documents, when metrics are
on), routes them (`_routing`) and releases durability="disk" callers. Between batches it
routes the deployment document when due and, in Prometheus multiprocess mode, writes
this process's metrics to its files (at most once per `EXPORT_INTERVAL`).
"""

from __future__ import annotations

import contextlib
import time
from collections import deque

from . import _stats as st
from ._deployment_schedule import DeploymentSchedule
from ._documents import Record
from ._worker_state import Item

EXPORT_INTERVAL = 1.0  # seconds between two writes of the multiprocess metric files


class Encoder(DeploymentSchedule):
    """The encoder thread's loop and the encoding of records."""

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
            self._export()
            wait = self.cfg.flush_interval
            self.wake.wait(wait if self.export is None else min(wait, EXPORT_INTERVAL))

    def _encode_batch(self) -> None:
        with self._state:
            recs = drain(self.queue, self.cfg.batch_size)
            self.popped += len(recs)
            self._held += len(recs)
        try:
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
        if time.monotonic() - self._exported_at >= EXPORT_INTERVAL:
            self._export()

    def _export(self, force: bool = False) -> None:
        export = self.export
        if export is not None and (force or self.metrics is not None):
            self._exported_at = time.monotonic()
            with contextlib.suppress(Exception):  # metrics must never cost a record
                export()

    def _encode_all(self, recs: list[Record]) -> list[Item]:
        """Encoded records; one that cannot be encoded at all is left out (the caller
        counts it as "internal_error"). With metrics on, the batch is counted."""
        m = self.metrics
        observed = self.builder.observed = [] if m is not None else None
        try:
            return [x for x in map(self._encode, recs) if x is not None]
        finally:
            self.builder.observed = None
            if m is not None and observed:
                with contextlib.suppress(Exception):  # metrics must never cost a record
                    m.add(observed)

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


def drain(q: deque[Record], limit: int | None = None) -> list[Record]:
    out: list[Record] = []
    pop = q.popleft
    try:
        while limit is None or len(out) < limit:
            out.append(pop())
    except IndexError:
        pass
    return out
