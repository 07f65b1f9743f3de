"""The shipper's threads leave asynchronous signals to the application's threads."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from predwatch import devnode
from predwatch.shipper import Shipper
from predwatch.shipper._threads import ASYNC_SIGNALS, start_thread
from tests.helpers.spool import spooled

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/<pid>/task")


def blocked(native_id: int) -> set[int]:
    """The signals a thread of this process blocks (its SigBlk mask in /proc)."""
    status = Path(f"/proc/self/task/{native_id}/status").read_text()
    mask = int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("SigBlk:")), 16)
    return {sig for sig in range(1, 65) if mask >> (sig - 1) & 1}


def test_every_shipper_thread_blocks_sigterm(tmp_path: Path) -> None:
    """SIGTERM/SIGINT sent to the process reach the main thread, never a shipper thread:
    Python runs handlers there only, and a main thread waiting in C (sleep, accept) would
    not notice a signal the kernel gave to another thread (the SIGTERM hang of issue 11)."""
    dead = f"http://127.0.0.1:{devnode.free_port()}"
    sh = Shipper("t_threads", "1", es_url=dead, spool_dir=str(tmp_path), handle_sigterm=False)
    try:
        sh.log_prediction({"x": 1}, 0.5)  # starts the worker and the deployment thread
        ours = [t for t in threading.enumerate() if t.name.startswith("predwatch-shipper")]
        assert {t.name for t in ours} >= {"predwatch-shipper-encoder", "predwatch-shipper-sender"}
        for t in ours:
            assert t.native_id is not None
            assert {signal.SIGTERM, signal.SIGINT} <= blocked(t.native_id), t.name
        assert signal.SIGTERM not in blocked(threading.main_thread().native_id or 0)
    finally:
        sh.close(0.5)


def test_start_thread_leaves_the_caller_as_it_was() -> None:
    """The caller's own mask is restored; the started thread blocks every async signal."""
    before = blocked(threading.get_native_id())
    seen: list[set[int]] = []
    t = start_thread(lambda: seen.append(blocked(threading.get_native_id())), "t")
    t.join(5)
    assert blocked(threading.get_native_id()) == before
    assert seen and set(ASYNC_SIGNALS) <= seen[0]


BYSTANDER = textwrap.dedent(
    """
    import signal, sys, threading, time
    from predwatch.shipper import Shipper
    # a thread of the app's (as OpenBLAS starts at numpy import): SIGTERM not blocked
    ready = threading.Event()
    def bystander():
        ready.wait()
        signal.pthread_kill(threading.get_ident(), signal.SIGTERM)  # delivered HERE
        time.sleep(600)
    threading.Thread(target=bystander, daemon=True).start()
    sh = Shipper("t_sigwake", "1", es_url=sys.argv[1], spool_dir=sys.argv[2], exit_timeout=0.5)
    for i in range(50):
        sh.log_prediction({"i": i}, 0.5)
    print("logged", flush=True)
    ready.set()
    sys.stdin.read()  # the main thread waits in C, as an idle server does
    """
)


def test_sigterm_caught_by_another_thread_still_runs_the_handler(tmp_path: Path) -> None:
    """SIGTERM delivered to a thread that is not the main one while the main thread waits
    in a blocking read: the shipper's handler still runs (records spooled, the process
    ends as killed by SIGTERM) instead of waiting for the read that never returns."""
    dead = f"http://127.0.0.1:{devnode.free_port()}"
    proc = subprocess.Popen(
        [sys.executable, "-c", BYSTANDER, dead, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "logged"
        assert proc.wait(timeout=60) == -signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert spooled(tmp_path) == 50
