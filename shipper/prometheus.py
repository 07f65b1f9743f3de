"""One /metrics for all workers of a pre-fork server (Prometheus multiprocess mode).

Start the server with PROMETHEUS_MULTIPROC_DIR set to an empty directory: every shipper
then writes its metrics there (per process; see `_multiprocess`), and one of these serves
them all, merged:

    # gunicorn.conf.py
    from predwatch.shipper import prometheus

    def when_ready(server):                 # in the master: one endpoint, never recycled
        prometheus.serve_multiprocess(9464, addr="0.0.0.0")

    child_exit = prometheus.child_exit      # a dead worker's live gauges leave the sums

An app that serves its own /metrics uses `multiprocess_registry()` instead, e.g.
`prometheus_client.make_wsgi_app(prometheus.multiprocess_registry())`.
docs/prometheus.md has the whole set-up (gunicorn, uvicorn) and the metric table.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

from predwatch.errors import ConfigError

from ._metrics import MISSING, MetricsServer
from ._multiprocess import ENV
from ._threads import signals_blocked

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import Collector

__all__ = [
    "child_exit",
    "mark_dead_processes",
    "mark_process_dead",
    "multiprocess_registry",
    "serve_multiprocess",
]

_LIVE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db$")


def _directory(path: str | os.PathLike[str] | None) -> str:
    given = os.fspath(path) if path is not None else os.environ.get(ENV)
    if not given:
        raise ConfigError(
            f"{ENV} is not set: start the server with it set to an empty directory "
            "(docs/prometheus.md)"
        )
    if not os.path.isdir(given):
        raise ConfigError(f"{ENV}={given} is not a directory; create it before the server starts")
    return given


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn's `child_exit` hook: the dead worker's live gauges (queue depth, pending,
    state...) leave the sums at once; its counters stay (they were delivered)."""
    mark_process_dead(worker.pid)


def mark_process_dead(pid: int, path: str | os.PathLike[str] | None = None) -> None:
    """Remove the live-gauge files of process `pid` (prometheus-client's bookkeeping)."""
    try:
        from prometheus_client import multiprocess
    except ImportError:
        raise ConfigError(MISSING) from None
    multiprocess.mark_process_dead(pid, _directory(path))  # type: ignore[no-untyped-call]


def mark_dead_processes(path: str | os.PathLike[str] | None = None) -> list[int]:
    """Remove the live-gauge files of every process that no longer runs; the pids.

    `multiprocess_registry` does this at each scrape, so a server without a child-exit
    hook (uvicorn --workers) never sums gauges of dead workers for long."""
    directory = _directory(path)
    dead: set[int] = set()
    for name in glob.glob(os.path.join(directory, "gauge_live*.db")):
        m = _LIVE_FILE.search(os.path.basename(name))
        if m is None:
            continue
        pid = int(m.group(1))
        if pid in dead or _alive(pid):
            continue
        dead.add(pid)
    for pid in sorted(dead):
        mark_process_dead(pid, directory)
    return sorted(dead)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: running
        return True
    return True


class _Merged:
    """MultiProcessCollector, after clearing the live gauges of dead processes."""

    def __init__(self, directory: str) -> None:
        from prometheus_client import multiprocess

        self.directory = directory
        self.inner = multiprocess.MultiProcessCollector(None, path=directory)  # type: ignore[no-untyped-call]

    def collect(self) -> Iterator[Metric]:
        with contextlib.suppress(OSError):  # a race with a hook removing the same file
            mark_dead_processes(self.directory)
        # As MultiProcessCollector.collect, without the files a worker is creating right now:
        # prometheus-client creates a file empty and sizes it next, and reading it in between
        # fails the whole scrape (struct.error; seen when gunicorn boots a worker).
        files = [f for f in glob.glob(os.path.join(self.directory, "*.db")) if _started(f)]
        yield from self.inner.merge(files, accumulate=True)  # type: ignore[no-untyped-call]


def _started(path: str) -> bool:
    """The file holds at least its header (8 bytes: the used size and padding)."""
    try:
        return os.path.getsize(path) >= 8
    except OSError:  # removed since the glob (a dead worker's live gauge)
        return False


def multiprocess_registry(path: str | os.PathLike[str] | None = None) -> CollectorRegistry:
    """A registry of every process's metrics in `path` (default PROMETHEUS_MULTIPROC_DIR),
    merged at each scrape; serve it from the app or with `serve_multiprocess`."""
    directory = _directory(path)
    try:
        from prometheus_client import CollectorRegistry
    except ImportError:
        raise ConfigError(MISSING) from None
    registry = CollectorRegistry(auto_describe=False)
    registry.register(cast("Collector", _Merged(directory)))
    return registry


def serve_multiprocess(
    port: int, addr: str = "127.0.0.1", path: str | os.PathLike[str] | None = None
) -> MetricsServer:
    """Serve the merged metrics at http://addr:port/metrics from a daemon thread (call it
    in the master, e.g. gunicorn's `when_ready`; port 0: a free port)."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"prometheus port must be a number within 0..65535, not {port!r}")
    registry = multiprocess_registry(path)
    from prometheus_client import start_http_server

    try:
        with signals_blocked():  # the server thread leaves signals to the main thread
            server, thread = start_http_server(port, addr=addr, registry=registry)
    except OSError as exc:
        raise ConfigError(
            f"cannot serve Prometheus metrics on {addr}:{port} ({exc.strerror or exc}); "
            "choose another port"
        ) from None
    return MetricsServer(server, thread, addr, int(server.server_port))
