"""The shipper's background threads start with the process's asynchronous signals blocked.

A process-directed signal (SIGTERM from an orchestrator, SIGINT, gunicorn's SIGQUIT ...) goes
to any one thread that does not block it. Python runs signal handlers only on the main
thread, and only between bytecodes: when the kernel hands SIGTERM to a shipper thread while
the main thread waits in C (sleep, accept, a blocking read), the handler runs only when that
wait ends. For an idle server that is never, so the orchestrator's SIGKILL came first and the
records still in memory were lost. Seen in about 1 of 40 SIGTERMs on a loaded machine (the
fault suite's SIGTERM test and the lifecycle test hung with the main thread asleep and no
handler run). A thread inherits the signal mask of the thread that starts it, so every thread
the shipper starts (its own and prometheus-client's metrics server) is started with these
signals blocked: the kernel then delivers them to the main thread (or another app thread).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

# Asynchronous signals only: blocking a synchronous one (SIGSEGV, SIGBUS, SIGFPE, SIGILL)
# that the thread itself raises is undefined behaviour, and SIGPIPE is ignored by Python.
ASYNC_SIGNALS = frozenset(
    getattr(signal, name)
    for name in (
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGTERM",
        "SIGUSR1",
        "SIGUSR2",
        "SIGALRM",
        "SIGCHLD",
        "SIGWINCH",
    )
    if hasattr(signal, name)
)


@contextlib.contextmanager
def signals_blocked() -> Iterator[None]:
    """Block `ASYNC_SIGNALS` in this thread for the block (threads started in it keep them
    blocked); a signal arriving meanwhile stays pending and is delivered on exit."""
    if not hasattr(signal, "pthread_sigmask"):  # not POSIX: nothing to do
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, ASYNC_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def start_thread(target: Callable[[], object], name: str) -> threading.Thread:
    """A daemon thread running `target`, with the asynchronous signals blocked in it."""
    t = threading.Thread(target=target, name=name, daemon=True)
    with signals_blocked():
        t.start()
    return t
