"""Sends the demo week's requests to the serving app over HTTP, a few at a time."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from predwatch.demo.app import EVENT_TIME_HEADER
from predwatch.demo.traffic import Request, Segment
from predwatch.errors import PredwatchError

TIMEOUT_S = 60.0


class AppError(PredwatchError):
    """The demo's serving app refused or failed requests."""


@dataclass
class Sent:
    """What one segment's requests did."""

    segment: Segment
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    failed: int = 0


def _call(url: str, payload: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    data = json.dumps(payload).encode()
    req = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:  # loopback only
        return json.loads(resp.read())


def set_state(base_url: str, version: str, delay_ms: float) -> None:
    """Deploy `version` with a slow dependency of `delay_ms` (0: none)."""
    _call(f"{base_url}/admin/state", {"version": version, "delay_ms": delay_ms})


def send_segment(base_url: str, segment: Segment, workers: int = 4) -> Sent:
    """Send every request of `segment` (the app's state must already be set)."""

    def one(r: Request) -> float | None:
        try:
            out = _call(
                f"{base_url}/predict/{r.endpoint}",
                {"inputs": list(r.records)},
                {EVENT_TIME_HEADER: f"{r.time:.3f}"},
            )
            return float(out["latency_ms"])
        except (urllib.error.URLError, OSError, ValueError, KeyError):
            return None

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="demo-client") as pool:
        results = list(pool.map(one, segment.requests))
    sent = Sent(segment, time.perf_counter() - started)
    for r in results:
        if r is None:
            sent.failed += 1
        else:
            sent.latencies_ms.append(r)
    return sent


def send_week(
    base_url: str,
    segments: Sequence[Segment],
    slow_ms: Callable[[list[float]], float],
    on_segment: Callable[[Sent], None],
    workers: int = 4,
) -> list[Sent]:
    """Send every segment in time order; `slow_ms(latencies so far)` sizes the slow dependency."""
    done: list[Sent] = []
    for seg in segments:
        delay = slow_ms([x for s in done for x in s.latencies_ms]) if seg.slow else 0.0
        set_state(base_url, seg.version, delay)
        # The slow dependency mostly sleeps: more requests in flight keep the demo short.
        sent = send_segment(base_url, seg, workers * 2 if seg.slow else workers)
        if sent.failed and sent.failed == len(seg.requests):
            raise AppError(
                f"the demo app answered none of the {sent.failed} requests of {seg.scenario}"
            )
        done.append(sent)
        on_segment(sent)
    return done
