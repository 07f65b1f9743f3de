"""Serve the demo week: the app on loopback, two deployments, the client, then a flush."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from predwatch.baseline import Baseline
from predwatch.config import ESConfig
from predwatch.demo import client, traffic
from predwatch.demo import model as mdl
from predwatch.demo.app import Running, ServingApp
from predwatch.demo.run import BATCH, SLOW_FACTOR, SLOW_MIN_MS, WORKERS, DemoFailed, Echo
from predwatch.shipper import Shipper

FLUSH_TIMEOUT_S = 120.0


@dataclass
class Served:
    segments: list[client.Sent]
    stats: dict[str, dict[str, Any]]  # version -> shipper stats
    url: str

    @property
    def predictions(self) -> int:
        return sum(len(s.latencies_ms) * BATCH for s in self.segments)

    @property
    def failed_requests(self) -> int:
        return sum(s.failed for s in self.segments)


def slow_dependency_ms(latencies: list[float]) -> float:
    """How slow the latency scenario's dependency is: SLOW_FACTOR x the p95 so far."""
    if not latencies:
        return SLOW_MIN_MS
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return max(SLOW_MIN_MS, SLOW_FACTOR * p95)


def serve_week(
    cfg: ESConfig,
    baseline: Baseline,
    models: tuple[mdl.Model, mdl.Model],
    pool: list[dict[str, Any]],
    week_start: dt.datetime,
    per_day: int,
    output_dir: Path,
    echo: Echo,
    metrics: tuple[int | None, str] = (None, "127.0.0.1"),
) -> Served:
    """Send the week through the app; every prediction is shipped before this returns.

    `metrics` (port, address): serve the shippers' Prometheus metrics there while serving
    (port None: no endpoint).
    """
    segments = traffic.segments(week_start, pool, per_day, batch=BATCH)
    shippers = {
        m.version: Shipper(
            model=baseline.model,
            model_version=m.version,
            baseline=baseline,
            es_config=cfg,
            spool_dir=output_dir / "spool" / m.version,
            service_name="birdstrike-scoring",
            environment="demo",
            model_hash=m.hash(),
            trained_at=m.trained_at,
            handle_sigterm=False,
        )
        for m in models
    }
    port, addr = metrics
    endpoint = None
    if port is not None:
        from predwatch.shipper import serve_metrics

        endpoint = serve_metrics(list(shippers.values()), port, addr)
        echo(f"  Prometheus metrics on {endpoint.url} (predwatch grafana export --model ...)")
    log_path = output_dir / "serving.log"
    with contextlib.ExitStack() as stack:
        if endpoint is not None:
            stack.callback(endpoint.close)
        log_file = stack.enter_context(log_path.open("w", encoding="utf-8"))
        app = ServingApp({m.version: (m, shippers[m.version]) for m in models}, log_file)
        running = Running(app)
        echo(f"  serving app on {running.url} (WSGI; /predict/logging and /predict/structlog)")
        try:
            sent = client.send_week(
                running.url, segments, slow_dependency_ms, _progress(echo), WORKERS
            )
        finally:
            running.stop()
        stats = {}
        for version, shipper in shippers.items():
            if not shipper.flush(FLUSH_TIMEOUT_S):
                shipper.close(1.0)
                raise DemoFailed(
                    f"the shipper of {version} did not deliver everything within "
                    f"{FLUSH_TIMEOUT_S:g}s: {shipper.stats().get('last_error')}"
                )
            stats[version] = shipper.stats()
            shipper.close()
    return Served(sent, stats, running.url)


def _progress(echo: Echo) -> Callable[[client.Sent], None]:
    def show(s: client.Sent) -> None:
        seg = s.segment
        sc = traffic.BY_KEY[seg.scenario]
        fail = f", {s.failed} failed" if s.failed else ""
        echo(
            f"  {seg.start:%a %d %b %H:%M} .. {seg.end:%a %H:%M}  {sc.title:<38} "
            f"{seg.predictions:>5} predictions, version {seg.version} ({s.seconds:.1f}s{fail})"
        )

    return show
