"""Prometheus multiprocess mode: each process writes its shippers' metrics to files.

Pre-fork servers (gunicorn, uvicorn --workers) run one shipper per worker process, and a
scrape reaches one process only. prometheus-client's multiprocess mode is the standard
answer: with PROMETHEUS_MULTIPROC_DIR set before the server starts, every process writes
its values to its own files there (`<type>_<pid>.db`) and one `/metrics`
(`predwatch.shipper.prometheus`) merges them: counters and histograms summed over all
processes, dead ones included; gauges by their mode (`_metric_families.GAUGES`).

`FileExporter` writes the same families the single-process collector yields, as totals of
this process (`set`, not `inc`: writing twice is harmless), and only the values that
changed. The worker calls it at most once a second from its encoder thread and once more
when the shipper closes (gunicorn's recycled workers exit through atexit), never on the
caller's thread.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from predwatch.errors import ConfigError

from . import _metric_families as mf

if TYPE_CHECKING:
    from ._shipper import Shipper

ENV = "PROMETHEUS_MULTIPROC_DIR"
_Key = tuple[str, tuple[str, ...], tuple[str, ...]]


def enabled(setting: bool | None) -> bool:
    """Whether a shipper writes multiprocess files: `setting`, or (None) whether
    PROMETHEUS_MULTIPROC_DIR is set; checks that the mode can work."""
    path = os.environ.get(ENV)
    if setting is False or (setting is None and not path):
        return False
    if not path:
        raise ConfigError(
            f"prometheus_multiprocess=True needs {ENV}: set it to an empty directory in the "
            "server's environment before it starts (docs/prometheus.md)"
        )
    if not os.path.isdir(path):
        raise ConfigError(
            f"{ENV}={path} is not a directory; create it (empty) before the server starts, "
            "or unset it to serve metrics per process"
        )
    value_class()
    return True


def value_class() -> Any:
    """prometheus-client's value class, checked to be the multiprocess one."""
    try:
        from prometheus_client import values
    except ImportError:
        from ._metrics import MISSING

        raise ConfigError(MISSING) from None
    if not getattr(values.ValueClass, "_multiprocess", False):
        raise ConfigError(
            f"prometheus_client was imported before {ENV} was set, so this process keeps "
            f"its metrics in memory; set {ENV} in the environment the server starts with "
            "(not in the app's code)"
        )
    return values.ValueClass


class FileExporter:
    """Writes one shipper's metrics to this process's multiprocess files."""

    def __init__(self, shipper: Shipper) -> None:
        self.shipper = shipper
        self._values: dict[_Key, Any] = {}
        self._written: dict[_Key, float] = {}
        self._lock = threading.Lock()  # the encoder thread, and close() on another

    def __call__(self) -> None:
        with self._lock:
            for f in mf.families([self.shipper]):
                self._family(f)

    def _family(self, f: mf.Family) -> None:
        sample = f.name + "_total" if f.kind == "counter" else f.name
        for labels, value in f.samples:
            self._set(f, sample, labels, value)
        for h in f.histograms:
            # Files hold each bucket on its own; the collector accumulates them.
            bounds = [*(mf.le_text(b) for b in h.bounds), "+Inf"]
            for le, n in zip(bounds, h.buckets, strict=True):
                self._set(f, f.name + "_bucket", (*h.labels, ("le", le)), float(n))
            self._set(f, f.name + "_sum", h.labels, h.sum)

    def _set(self, f: mf.Family, sample: str, labels: mf.Labels, value: float) -> None:
        names = tuple(k for k, _ in labels)
        texts = tuple(v for _, v in labels)
        key = (sample, names, texts)
        if self._written.get(key) == value:
            return
        v = self._values.get(key)
        if v is None:
            v = self._values[key] = value_class()(
                f.kind, f.name, sample, names, texts, f.help, multiprocess_mode=f.mode
            )
        v.set(value)
        self._written[key] = value
