"""The state one shipper worker shares between its parts, and what they all use.

Every part of the worker (`_routing`, `_adoption`, `_deployment_schedule`, `_encoder`,
`_sender`, composed by `_worker.Worker`) reads and moves records under the one lock
`_state` defined here, so the accounting identity (see `_worker`) holds at any moment.
Also here: the settings, reporting a problem once (`_report`), the drop log lines and
waking whoever waits for progress.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import _bulk as b
from . import _stats as st
from ._deployment import Deployment
from ._documents import DocBuilder, Record
from ._model_stats import ModelStats
from ._serialize import IsoClock
from ._spool import DEFAULT_SEGMENT_BYTES, SpoolDir

log = logging.getLogger("predwatch.shipper")

Item = tuple[float, bytes]  # (enqueued_at, bulk lines)
MIN_SEGMENT_BYTES = 64 << 10


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


class WorkerState:
    """The places a record can be in (queue, encoder, outbox, in flight, spools), the
    counters, locks and events of one worker; the parts build on it."""

    def __init__(
        self,
        queue: deque[Record],
        builder: DocBuilder,
        sink_factory: Callable[[], b.Sink],
        spool_root: Path,
        settings: Settings,
        stats: st.Stats,
        deployment: Deployment | None = None,
        metrics: ModelStats | None = None,
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
        # Prometheus multiprocess mode: writes this process's metrics to its files; called
        # by the encoder at most every `EXPORT_INTERVAL` seconds and once more at close.
        self.export: Callable[[], None] | None = None
        self._exported_at = 0.0
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

    @property
    def alive(self) -> bool:
        """Both threads run (False before start, after close, in a forked child)."""
        return bool(self._threads) and all(t.is_alive() for t in self._threads)

    def _release_commit(self) -> None:
        with self.commit:
            self.commit.notify_all()

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

    def _notify(self) -> None:
        with self._progress:
            self._progress.notify_all()
