"""`baseline build --target-column`: fit CBPE's calibration map on reference rows (chunked).

Reads only the score and target columns, chunk by chunk, into per-fold score histograms
(`score_calibration.BinnedLabels`, rows assigned to 5 folds at random with the build's
seed), so memory is O(bins) whatever the file size. Fits the map (`score_calibration.fit`),
measures the out-of-fold estimation error on the reference (`estimate.reference_check`) and
returns the baseline's `estimation` block (`predwatch.baseline_checks.read_estimation`),
with the bin edges `quality --estimate` aggregates on (`estimate_edges.estimation_edges`:
the map's knots, the threshold and split ramps; tens to a few hundred bins, not the grid's
1,000).

Binary targets only (two label values, the positive one "1"/"true"/"yes" or the greater,
as `predwatch quality`); the grid is [0, 1] when every score is a probability, else the
scores' own range (a second read).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from predwatch import schema as s
from predwatch.analyzers import estimate as est
from predwatch.analyzers import score_calibration as sc
from predwatch.analyzers.estimate_edges import estimation_edges
from predwatch.analyzers.quality import default_positive
from predwatch.baseline_model import BaselineError


def label_text(v: Any) -> str:
    """A target value as the label text the outcomes carry (True -> "true", 1.0 -> "1")."""
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    return str(v)


class _Reader:
    """Per label value and fold: rows and score sums per bin."""

    def __init__(self, grid: sc.Grid, threshold: float, seed: int) -> None:
        self.edges = grid.edges(threshold)
        self.rng = np.random.default_rng(seed)
        self.by_label: dict[str, list[sc.BinnedLabels]] = {}
        self.low, self.high = math.inf, -math.inf
        self.skipped = 0

    def add(self, scores: pd.Series, target: pd.Series) -> None:
        x = pd.to_numeric(scores, errors="coerce").to_numpy(dtype=np.float64)
        ok = np.isfinite(x) & target.notna().to_numpy()
        self.skipped += int((~ok).sum())
        x, labels = x[ok], [label_text(v) for v in target.to_numpy()[ok]]
        if not len(x):
            return
        self.low, self.high = min(self.low, float(x.min())), max(self.high, float(x.max()))
        folds = self.rng.integers(0, sc.FOLDS, len(x))
        lab = np.asarray(labels, dtype=object)
        for value in set(labels):
            if value not in self.by_label:
                if len(self.by_label) == 2:
                    raise BaselineError(
                        f"--target-column has a third value {value!r} after "
                        f"{sorted(self.by_label)}: a multiclass model. Give --class-scores "
                        "PREFIX, its class probability columns PREFIX<class> (the model logs "
                        "them as prediction.scores.<class>, with prediction.label)"
                    )
                self.by_label[value] = [sc.BinnedLabels(self.edges) for _ in range(sc.FOLDS)]
            mine = lab == value
            for f in range(sc.FOLDS):
                sel = mine & (folds == f)
                self.by_label[value][f].add(x[sel], np.ones(int(sel.sum())))


def _read(
    frames: Iterable[pd.DataFrame],
    score: str,
    target: str,
    grid: sc.Grid,
    threshold: float,
    seed: int,
) -> _Reader:
    r = _Reader(grid, threshold, seed)
    for frame in frames:
        for col in (score, target):
            if col not in frame.columns:
                raise BaselineError(f"column {col!r} is not in the data")
        r.add(frame[score], frame[target])
    return r


def fit_reference(
    frames: Iterable[pd.DataFrame],
    *,
    score: str,
    target: str,
    positive: str | None = None,
    threshold: float = 0.5,
    seed: int = 0,
    again: Iterable[pd.DataFrame] | None = None,
) -> dict[str, Any]:
    """The baseline's `estimation` block from reference rows (`again`: the same rows read
    anew, used when the scores are not probabilities and need their own grid)."""
    if not math.isfinite(threshold):
        raise BaselineError(f"--threshold must be a finite number, got {threshold}")
    grid = sc.Grid()
    r = _read(frames, score, target, grid, threshold, seed)
    if r.by_label and (r.low < 0.0 or r.high > 1.0):
        if again is None:
            raise BaselineError("scores outside [0, 1] need the data read twice")
        lo, hi = min(r.low, threshold), max(r.high, threshold)
        grid = sc.Grid(lo, hi if hi > lo else lo + 1.0)
        r = _read(again, score, target, grid, threshold, seed)
    labels = sorted(r.by_label)
    if len(labels) < 2:
        raise BaselineError(
            f"--target-column {target!r}: need rows of both classes with a score, found "
            f"{labels or 'none'}"
        )
    pos = positive if positive is not None else default_positive(labels)
    if pos not in r.by_label:
        raise BaselineError(f"--positive-class {pos!r} is not a value of {target!r}: {labels}")
    neg = next(v for v in labels if v != pos)
    folds = []
    for f in range(sc.FOLDS):
        p, q = r.by_label[pos][f], r.by_label[neg][f]
        b = p.merged([q])  # all rows of the fold
        b.pos = p.n.copy()
        folds.append(b)
    fitted = sc.fit(folds)
    check = est.reference_check(folds, fitted, threshold)
    edges = estimation_edges(fitted.calibration, threshold, folds[0].merged(folds[1:]))
    return {
        "kind": "binary",
        "score_field": s.PREDICTION_VALUE,
        "positive": pos,
        "threshold": threshold,
        "grid": grid.to_dict(),
        "edges": [float(x) for x in edges],
        "calibration": fitted.calibration.to_dict(),
        "reference": {
            **check.to_dict(),
            "rows": fitted.calibration.rows,
            "skipped_rows": r.skipped,
        },
        "brier": {"isotonic": fitted.brier_isotonic, "identity": fitted.brier_identity},
    }
