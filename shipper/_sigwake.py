"""Wake the main thread when SIGTERM was delivered to another thread.

Python runs a signal's handler on the main thread only, between bytecodes. The kernel hands a
process-directed SIGTERM to any thread that does not block it. The shipper's own threads block
it (`_threads`), but threads that C libraries start before the shipper exists do not: OpenBLAS
starts its worker threads when numpy is imported (and the Elasticsearch client imports numpy
and pyarrow when they are installed). When SIGTERM lands on such a thread while the main
thread waits in C (a blocking read, `sleep`, `accept`), CPython only notes that the signal
arrived: the handler, and with it the shipper's flush to disk, waits until the main thread's
call returns, which for an idle process is never. The orchestrator's SIGKILL then loses what
was in memory. (The fault suite's SIGTERM test hung this way about 1 run in 5 on a loaded
machine; /proc showed the OpenBLAS thread with no signal blocked.)

CPython writes the number of every caught signal to the wakeup fd (`signal.set_wakeup_fd`),
from whichever thread caught it. When the app has no wakeup fd of its own (asyncio sets one;
its event loop already wakes the main thread), the shipper sets one and a thread of its own
reads it: on SIGTERM, unless the handler started within `GRACE` (the main thread caught it
itself), it sends SIGTERM to the main thread (`pthread_kill`), which interrupts the blocking
call, so Python runs the pending handler. Should the main thread have had it after all, the
two coalesce or the second is ignored (`_lifecycle` runs its handler once at a time). A
forked child drops the inherited wakeup fd (the pipe is the parent's).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable

from ._threads import start_thread

_fds: tuple[int, int] | None = None  # (read end, write end) of our wakeup pipe
GRACE = 0.05  # seconds the main thread gets to start the handler before it is woken


def install(handled: Callable[[], int]) -> bool:
    """From the main thread: our wakeup fd and its reader, unless the app has a wakeup fd.
    `handled()` counts the SIGTERM handler's runs: a SIGTERM the main thread caught itself
    starts it at once, and is not forwarded."""
    global _fds
    if _fds is not None or not (
        hasattr(signal, "set_wakeup_fd") and hasattr(signal, "pthread_kill")
    ):
        return False
    if threading.current_thread() is not threading.main_thread():
        return False
    r, w = os.pipe()
    os.set_blocking(w, False)
    try:
        old = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    except (ValueError, OSError):
        _close(r, w)
        return False
    if old != -1:  # the app's own (asyncio): its loop wakes the main thread; keep it
        signal.set_wakeup_fd(old)
        _close(r, w)
        return False
    _fds = (r, w)
    main = threading.main_thread().ident
    assert main is not None
    start_thread(lambda: _forward(r, main, handled), "predwatch-shipper-signals")
    return True


def _forward(r: int, main: int, handled: Callable[[], int]) -> None:
    term = int(signal.SIGTERM)
    while True:
        try:
            data = os.read(r, 512)
        except OSError:
            return
        if not data:
            return
        if term not in data:
            continue
        before = handled()
        time.sleep(GRACE)  # a main thread that caught it itself is in its handler by now
        if handled() == before:
            with contextlib.suppress(OSError, ValueError):
                signal.pthread_kill(main, signal.SIGTERM)


def after_fork_in_child() -> None:
    """The pipe and its reader are the parent's: stop writing to it."""
    global _fds
    if _fds is None:
        return
    r, w = _fds
    _fds = None
    with contextlib.suppress(ValueError, OSError):  # ValueError: not the main thread
        if signal.set_wakeup_fd(-1) != w:  # someone else's since: put it back
            signal.set_wakeup_fd(w)
            return
    _close(r, w)


def _close(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
