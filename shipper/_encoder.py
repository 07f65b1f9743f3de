"""The encoder thread: records off the caller's queue, encoded, into memory.

It pops up to `batch_size` records, counts them for the metrics, builds and encodes each
document (`_documents`; a record that cannot be encoded is retried with its inputs as
text, else counted as "internal_error"), routes them (`_routing`) and releases
durability="disk" callers. Between batches it routes the deployment document when due.
"""

from __future__ import annotations

import contextlib
from collections import deque

from . import _stats as st
from ._deployment_schedule import DeploymentSchedule
from ._documents import Record, observations
from ._worker_state import Item


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
            self.wake.wait(self.cfg.flush_interval)

    def _encode_batch(self) -> None:
        with self._state:
            recs = drain(self.queue, self.cfg.batch_size)
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


def drain(q: deque[Record], limit: int | None = None) -> list[Record]:
    out: list[Record] = []
    pop = q.popleft
    try:
        while limit is None or len(out) < limit:
            out.append(pop())
    except IndexError:
        pass
    return out
