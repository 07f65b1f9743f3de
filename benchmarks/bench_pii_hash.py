"""What the fork guard around PII hashing costs on the caller's thread.

    .venv/bin/python benchmarks/bench_pii_hash.py               # writes RESULTS.md
    .venv/bin/python benchmarks/bench_pii_hash.py --no-results  # prints only

With PII rules, `log_prediction` hashes the named fields on the caller's thread (HMAC-SHA256,
`shipper/_hashing.py`), under one re-entrant lock that `os.register_at_fork` takes before a
fork (a fork in the middle of an OpenSSL call froze the child). This measures that lock's
price: `log_prediction` with 2 and 10 hashed fields, the module's lock as it ships vs the same
lock replaced by a no-op (`contextlib.nullcontext`: what hashing cost before the guard),
in interleaved rounds, plus the same call without PII rules. The shipper is real; its sink
keeps the documents in memory (`predwatch.testing.capture_shipper`), so no network is timed,
and between chunks (untimed) the worker catches up.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import statistics
import time
from typing import Any

from results_md import machine_line, publish

from predwatch.shipper import _hashing
from predwatch.testing import capture_shipper

SECTION = "bench_pii_hash"


def _inputs(i: int, hashed: int) -> dict[str, Any]:
    row: dict[str, Any] = {f"n{k}": float(i % 97 + k) for k in range(20)}
    for k in range(hashed):
        row[f"pii{k}"] = f"user{i}-{k}@example.com"
    return row


def _round(hashed: int, guard: bool, calls: int, pii: bool) -> float:
    """Median µs per `log_prediction` over `calls` calls."""
    rules = {f"pii{k}": "hash" for k in range(hashed)} if pii else None
    lock = _hashing._lock
    if not guard:
        _hashing._lock = contextlib.nullcontext()  # type: ignore[assignment]
    try:
        with capture_shipper(model="bench_pii", pii=rules, pii_key="k" * 32) as cap:
            rows = [_inputs(i, hashed) for i in range(calls)]
            times: list[int] = []
            for start in range(0, calls, 1000):
                for row in rows[start : start + 1000]:
                    t0 = time.perf_counter_ns()
                    cap.shipper.log_prediction(row, 0.5)
                    times.append(time.perf_counter_ns() - t0)
                cap.flush()
    finally:
        _hashing._lock = lock
    return statistics.median(times) / 1000.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=20_000, help="timed calls per round")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    ap.add_argument("--no-results", action="store_true", help="do not write RESULTS.md")
    args = ap.parse_args()
    started = dt.datetime.now(dt.UTC)
    head = machine_line()
    rows = []
    for hashed in (2, 10):
        cells: dict[str, list[float]] = {"no PII rules": [], "no guard": [], "guard": []}
        for _ in range(args.rounds):
            cells["guard"].append(_round(hashed, True, args.calls, True))
            cells["no guard"].append(_round(hashed, False, args.calls, True))
            cells["no PII rules"].append(_round(hashed, True, args.calls, False))
        med = {k: statistics.median(v) for k, v in cells.items()}
        rows.append(
            (hashed, med, [g / n for g, n in zip(cells["guard"], cells["no guard"], strict=True)])
        )
    lines = [
        f"Run {started:%Y-%m-%d %H:%M} UTC; command `.venv/bin/python benchmarks/bench_pii_hash.py"
        f" --calls {args.calls} --rounds {args.rounds}`; {head}.",
        "",
        "Median µs per `log_prediction` (20 numeric inputs plus the hashed ones), median of "
        "the rounds:",
        "",
        "| hashed fields | no PII rules | hashing, no fork guard | hashing, fork guard "
        "(as shipped) | guard / no guard (per round) |",
        "|---|---|---|---|---|",
    ]
    for hashed, med, ratios in rows:
        per = ", ".join(f"{r:.3f}" for r in ratios)
        lines.append(
            f"| {hashed} | {med['no PII rules']:.2f} | {med['no guard']:.2f} | "
            f"{med['guard']:.2f} | {statistics.median(ratios):.3f} ({per}) |"
        )
    publish(SECTION, lines, not args.no_results)


if __name__ == "__main__":
    main()
