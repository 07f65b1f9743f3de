"""Process lifecycle for every live shipper: interpreter exit, SIGTERM and fork.

- atexit: each shipper is closed with its `exit_timeout`; what is not delivered by then
  is written to its spool (fsynced) and adopted by the next process using the same root.
- SIGTERM (installed only from the main thread, and never over SIG_IGN): when the app
  has its own handler (gunicorn, uvicorn, ...), shippers are flushed within the deadline
  and that handler is called (the app keeps serving and logging while it shuts down;
  atexit closes later). With the default action, shippers are closed and the signal is
  raised again, so the process still ends as "killed by SIGTERM".
  A SIGTERM the kernel gave to a thread that is not the main one (an OpenBLAS thread) is
  forwarded to the main thread, so the handler runs while the main thread waits in C
  (`_sigwake`).
- fork: in the child every shipper forgets the parent's threads, queue, spool and
  connection, and starts a fresh worker (with its own spool directory) on its first log
  call. `multiprocessing` children end with os._exit (atexit does not run there), so a
  multiprocessing finalizer closes the child's shippers instead.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
import time
import weakref
from types import FrameType
from typing import Any, Protocol

from . import _sigwake


class _Managed(Protocol):
    exit_timeout: float

    def close(self, timeout: float | None = None) -> bool: ...

    def flush(self, timeout: float = 10.0) -> bool: ...

    def _after_fork_in_child(self) -> None: ...


_live: weakref.WeakSet[Any] = weakref.WeakSet()
_mu = threading.Lock()
_hooks_installed = False
_previous_sigterm: Any = None
_sigterm_installed = False
_handling = False  # the SIGTERM handler is running
_handled = 0  # times it started


def register(shipper: _Managed, handle_sigterm: bool) -> None:
    global _hooks_installed
    with _mu:
        _live.add(shipper)
        if not _hooks_installed:
            # weakref.finalize registers its own exit hook with its first instance; urllib3's
            # pool finalizers run from it. Registered before ours, it runs after our flush,
            # whenever the first client is created (see run_exit_hook_first).
            weakref.finalize(_Token(), _nothing)
            atexit.register(close_all)
            os.register_at_fork(after_in_child=_after_fork)
            _hooks_installed = True
    if handle_sigterm:
        _install_sigterm()


def run_exit_hook_first() -> None:
    """Move our exit hook to the end of the atexit list, so it runs before the others.

    Called when a worker creates its sink: urllib3 registers a `weakref.finalize` for
    each connection pool, and those run at exit from weakref.finalize's own atexit hook.
    Run before ours, they would empty the pool before our final flush, whose request
    would then wait forever for a connection. That hook is registered with the first
    finalize of the process, and the client (its pools) is only created at the sink's
    first request, possibly while exit is already running; so `register` makes sure it
    exists before our hook, and this keeps ours last against hooks added since.
    """
    with _mu:
        if _hooks_installed:
            atexit.unregister(close_all)
            atexit.register(close_all)


def unregister(shipper: _Managed) -> None:
    _live.discard(shipper)


def close_all() -> None:
    """Close every live shipper within one deadline (the largest `exit_timeout`)."""
    shippers = list(_live)
    deadline = time.monotonic() + max((s.exit_timeout for s in shippers), default=0.0)
    for shipper in shippers:
        with contextlib.suppress(Exception):  # exit must go on
            shipper.close(max(0.0, min(shipper.exit_timeout, deadline - time.monotonic())))


def _flush_all(deadline: float) -> None:
    for shipper in list(_live):
        with contextlib.suppress(Exception):
            shipper.flush(max(0.0, min(shipper.exit_timeout, deadline - time.monotonic())))


def _after_fork() -> None:
    global _mu
    _mu = threading.Lock()
    _sigwake.after_fork_in_child()
    for shipper in list(_live):
        with contextlib.suppress(Exception):
            shipper._after_fork_in_child()
    if "multiprocessing" in sys.modules:
        # A multiprocessing child clears its finalizers right after fork, then runs its
        # after-fork callbacks: register the exit finalizer from one of those.
        with contextlib.suppress(Exception):
            from multiprocessing import util

            util.register_after_fork(_MP_TOKEN, _register_mp_finalizer)


class _Token:
    """A weak-referenceable key for multiprocessing's after-fork registry."""


def _nothing() -> None:
    pass


_MP_TOKEN = _Token()


def _register_mp_finalizer(_token: object) -> None:
    from multiprocessing import util

    util.Finalize(None, close_all, exitpriority=100)


def _install_sigterm() -> None:
    global _previous_sigterm, _sigterm_installed
    if _sigterm_installed or threading.current_thread() is not threading.main_thread():
        return
    try:
        current = signal.getsignal(signal.SIGTERM)
        if current is signal.SIG_IGN or current is _on_sigterm:
            return
        signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):  # not the main interpreter, or no signals here
        return
    _previous_sigterm = current
    _sigterm_installed = True
    _sigwake.install(_handled_count)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    global _handling, _handled
    if _handling:  # the same SIGTERM again, forwarded to this thread (see _sigwake)
        return
    _handling = True
    _handled += 1
    try:
        prev = _previous_sigterm
        budget = max((s.exit_timeout for s in list(_live)), default=0.0)
        if callable(prev):
            _flush_all(time.monotonic() + budget)
            prev(signum, frame)
            return
        close_all()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
    finally:
        _handling = False


def _handled_count() -> int:
    return _handled
