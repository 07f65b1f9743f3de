"""Placing records: memory first, then the disk spool (see `_worker` for the picture).

`_route` puts records in the outbox; while the outbox holds more than `memory_bytes`
(0 with durability="disk") its OLDEST records move to the spool, so the spool only ever
holds records older than those in memory. A full or unwritable spool keeps records in
memory, up to `memory_bytes`; past that the newest are dropped (or, with
spool_policy="block", the encoder first waits for space).
"""

from __future__ import annotations

import time

from . import _stats as st
from ._spool import SpoolDir, framed_size
from ._worker_state import Item, WorkerState


class Routing(WorkerState):
    """Memory, spill to the spool, drop the newest: every placement of a record."""

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

    def _force_to_spool(self, items: list[Item]) -> None:
        """At close: everything left goes to disk, past the budget (else it is lost)."""
        try:
            self._own_spool().append(items, sync=True)
            self.stats.add(spooled_records=len(items), spooled_bytes=framed(items))
        except OSError as exc:
            self._spool_failed(exc)
            self.stats.drop(st.SPOOL_ERROR, len(items))


def framed(items: list[Item]) -> int:
    return sum(framed_size(p) for _, p in items)
