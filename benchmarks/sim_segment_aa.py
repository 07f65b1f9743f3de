"""Simulated A/A false alarms of `analyze --segment-by`, with many runs, and what alarms.

    .venv/bin/python -m benchmarks.sim_segment_aa --mode skew --runs 1000 --window 10000
    .venv/bin/python -m benchmarks.sim_segment_aa --mode drift --runs 1000 --window 2000

The pure path of a segmented run (`compare.compare`, `segment_compare.compare_segments`,
`segment_compare.judge_run`) on aggregates simulated by `tests/helpers/calibration_sim.py`
(heavy tails, categoricals of 5 to 20,000 values with unseen values, missing values),
20 segments of Zipf volume plus (other). Skew mode: each segment against its own
training profile (a new 100,000-row training sample every 25 runs). Fixed seeds. Prints
the run-level rate with its 95 % Clopper-Pearson interval and every alarm: where (overall,
mix, which segment), feature, test, the sizes behind it. Run from the repository root
(`-m`: it imports the simulation from tests/helpers).
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from collections.abc import Sequence

from scipy import stats as sps

from tests.helpers import calibration_sim as sim


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    a = (1 - level) / 2
    lo = float(sps.beta.ppf(a, k, n - k + 1)) if k else 0.0
    hi = float(sps.beta.ppf(1 - a, k + 1, n - k)) if k < n else 1.0
    return lo, hi


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=("skew", "drift"), default="skew")
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--window", type=int, default=10_000, help="rows per window [10,000]")
    ap.add_argument("--rows", type=int, default=100_000, help="training rows (skew) [100,000]")
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()

    def show(i: int, alarms: list[sim.Alarm]) -> None:
        for a in alarms:
            print(
                f"  run {i}: {a.where} {a.feature}:{a.test} n_cur={a.n_current:,.0f} "
                f"n_ref={a.n_reference:,.0f} p_adj={a.p_adjusted} effect={a.effect}",
                flush=True,
            )
        if (i + 1) % 50 == 0:
            print(f"  ... {i + 1} runs, {time.perf_counter() - t0:.0f} s", flush=True)

    if args.mode == "skew":
        runs = sim.segmented_skew_runs(
            args.window, args.runs, args.seed, rows=args.rows, progress=show
        )
    else:
        runs = sim.segmented_drift_runs(args.window, args.runs, args.seed, progress=show)
    seconds = time.perf_counter() - t0
    k = sum(bool(r) for r in runs)
    lo, hi = clopper_pearson(k, len(runs))
    print(
        f"{args.mode} window {args.window:,} (training rows {args.rows:,}), seed {args.seed}: "
        f"{k}/{len(runs)} runs alarm = {100 * k / len(runs):.1f} % "
        f"(95 % Clopper-Pearson {100 * lo:.1f}-{100 * hi:.1f} %) in {seconds:.0f} s"
    )
    by: dict[str, collections.Counter[str]] = {
        "where": collections.Counter(),
        "test": collections.Counter(),
        "feature": collections.Counter(),
    }
    for alarms in runs:
        for a in alarms:
            by["where"][a.where] += 1
            by["test"][a.test] += 1
            by["feature"][a.feature] += 1
    for name, counter in by.items():
        print(f"by {name}: {dict(counter.most_common())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
