"""Estimated classifier quality before labels arrive: CBPE on score histograms (pure).

Confidence-based performance estimation (as NannyML's CBPE): when the scores are calibrated
(`score_calibration`), a row with calibrated probability p is of the positive class with
probability p, so the confusion matrix of a window has the expected counts

    TP = sum over rows predicted positive of p      FP = rows predicted positive - TP
    FN = sum over rows predicted negative of p      TN = rows predicted negative - FN

and accuracy, precision, recall and F1 follow. The expected ROC curve ranks the rows by
score and accumulates p (true positives) and 1 - p (false positives); its area is

    AUC = sum_b a_b (C_<b + c_b / 2) / (A C),   a_b = n_b p_b, c_b = n_b (1 - p_b)

over score bins b in ascending order (rows of one bin are ties). Nothing here needs a row:
the inputs are the rows per bin of a fine score histogram (an Elasticsearch `range`
aggregation on `score_calibration.Grid.edges`), so memory and time are O(bins).
With bins of 1/1000 the histogram estimate equals the row-level one (NannyML's) to about
1e-3 (the unit tests pin the tolerance).

Confidence interval (`z` from the confidence level): the realized metric of the window is
random even when the estimate is right, because every row's label is a coin with its own
p (Poisson-binomial). Its variance given the window's scores, by the delta method on y_b
(positives per bin, independent binomials n_b, p_b):

    sampling variance = sum_b (d metric / d y_b)^2 n_b p_b (1 - p_b)

plus the uncertainty of the map itself: each isotonic block j was fitted on m_j reference
rows, var(p_j) ~ p_j (1 - p_j) / m_j, and

    calibration variance = sum_j (sum_b (d metric / d y_b) n_b (d p_b / d p_j))^2 var(p_j).

The interval is estimate +- z * sqrt(sum), clipped to [0, 1]. It says where the realized
value lies if the calibration holds; it does not cover a change of P(y | score) (concept
shift), which no label-free method can see.

Multiclass (one-vs-rest, "where the shape allows"): per class c, a map fitted on
(score_c, y == c) and two histograms of score_c - rows predicted c, and the others. TP_c,
FN_c and AUC_c follow as above; accuracy = sum_c TP_c / n; precision, recall, F1 and ROC AUC
are macro averages with the variance of a mean of independent parts. The per-class
probabilities are not renormalised to sum to 1 per row (that needs the rows).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from predwatch.analyzers import score_calibration as sc
from predwatch.analyzers.quality import Metric

FloatArray = npt.NDArray[np.float64]
METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
METHOD = "cbpe"


@dataclass(frozen=True)
class Estimate:
    """One estimated metric with its interval and the two parts of its variance."""

    name: str
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    se_sampling: float | None = None
    se_calibration: float | None = None
    note: str = ""

    def metric(self) -> Metric:
        """As a quality metric (to judge it like a realized one)."""
        return Metric(self.name, self.value, self.ci_low, self.ci_high, self.n, True, self.note)

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n": self.n,
            "se_sampling": self.se_sampling,
            "se_calibration": self.se_calibration,
            "note": self.note,
        }


@dataclass(frozen=True)
class ClassBins:
    """One class's score histogram, split by the model's predicted class, calibrated."""

    predicted: FloatArray  # rows predicted as this class, per bin
    other: FloatArray  # rows predicted otherwise, per bin
    p: FloatArray  # calibrated P(this class) per bin
    dp: FloatArray  # d p_b / d p_j: bins x blocks
    block_var: FloatArray  # var(p_j) per block (0: not estimated, e.g. the identity map)

    @classmethod
    def of(
        cls,
        cal: sc.Calibration,
        edges: FloatArray,
        predicted: npt.ArrayLike,
        other: npt.ArrayLike,
        sums: npt.ArrayLike | None = None,
    ) -> ClassBins:
        """Calibrate the bins of `edges` (their mean scores where `sums` is given)."""
        pred = np.asarray(predicted, dtype=np.float64)
        oth = np.asarray(other, dtype=np.float64)
        if pred.shape != oth.shape or pred.shape != (len(edges) + 1,):
            raise ValueError(f"expected {len(edges) + 1} bins, got {pred.shape} and {oth.shape}")
        if (pred < 0).any() or (oth < 0).any() or not np.isfinite(pred + oth).all():
            raise ValueError("bin counts must be finite and >= 0")
        s = None if sums is None else np.asarray(sums, dtype=np.float64)
        x = sc.positions(edges, s, pred + oth)
        return cls(pred, oth, cal(x), cal.block_weights(x), cal.block_variance)

    @property
    def rows(self) -> float:
        return float(self.predicted.sum() + self.other.sum())


def _intervals(grads: Sequence[tuple[FloatArray, FloatArray]], b: ClassBins) -> FloatArray:
    """(sampling se, calibration se) of each metric with these gradients in y_b (rows:
    metrics; all metrics in one pass of array operations)."""
    gp = np.stack([g for g, _ in grads])
    go = np.stack([g for _, g in grads])
    pq = b.p * (1.0 - b.p)
    var_s = gp**2 @ (b.predicted * pq) + go**2 @ (b.other * pq)
    lever = gp * b.predicted + go * b.other  # d metric / d p_b
    var_c = ((lever @ b.dp) ** 2) @ b.block_var
    return np.sqrt(np.maximum(np.stack([var_s, var_c], axis=1), 0.0))


def _estimate(
    name: str,
    value: float | None,
    ses: tuple[float, float] | None,
    n: float,
    z: float,
    note: str = "",
) -> Estimate:
    if value is None or ses is None or not math.isfinite(value):
        return Estimate(name, None, n=int(n), note=note)
    s, c = ses
    half = z * math.hypot(s, c)
    return Estimate(name, value, max(0.0, value - half), min(1.0, value + half), int(n), s, c, note)


def _counts(b: ClassBins) -> tuple[float, float, float, float]:
    """Expected TP (A), FN (B), rows predicted as the class, rows."""
    a = float((b.predicted * b.p).sum())
    fn = float((b.other * b.p).sum())
    return a, fn, float(b.predicted.sum()), b.rows


def _zeros(b: ClassBins) -> FloatArray:
    return np.zeros_like(b.p)


def precision(b: ClassBins) -> tuple[float | None, FloatArray, FloatArray]:
    a, _, npred, _ = _counts(b)
    if npred <= 0:
        return None, _zeros(b), _zeros(b)
    return a / npred, np.full_like(b.p, 1.0 / npred), _zeros(b)


def recall(b: ClassBins) -> tuple[float | None, FloatArray, FloatArray]:
    a, fn, _, _ = _counts(b)
    d = a + fn
    if d <= 0:
        return None, _zeros(b), _zeros(b)
    return a / d, np.full_like(b.p, fn / d**2), np.full_like(b.p, -a / d**2)


def f1(b: ClassBins) -> tuple[float | None, FloatArray, FloatArray]:
    a, fn, npred, _ = _counts(b)
    d = a + fn + npred
    if d <= 0:
        return None, _zeros(b), _zeros(b)
    return 2 * a / d, np.full_like(b.p, 2 * (fn + npred) / d**2), np.full_like(b.p, -2 * a / d**2)


def binary_accuracy(b: ClassBins) -> tuple[float | None, FloatArray, FloatArray]:
    a, fn, npred, n = _counts(b)
    if n <= 0:
        return None, _zeros(b), _zeros(b)
    return (a + (n - npred) - fn) / n, np.full_like(b.p, 1.0 / n), np.full_like(b.p, -1.0 / n)


def roc_auc(b: ClassBins) -> tuple[float | None, FloatArray, FloatArray]:
    """Area under the expected ROC curve, and its gradient in the positives per bin."""
    n = b.predicted + b.other
    y = n * b.p  # expected positives per bin
    neg = n - y
    pos_total, neg_total = float(y.sum()), float(neg.sum())
    if pos_total <= 1e-12 or neg_total <= 1e-12:
        return None, _zeros(b), _zeros(b)
    neg_below = np.concatenate(([0.0], np.cumsum(neg)[:-1]))
    pos_above = pos_total - np.cumsum(y)
    u = float((y * (neg_below + 0.5 * neg)).sum())
    pn = pos_total * neg_total
    auc = u / pn
    du = neg_below - pos_above + 0.5 * n - y
    g = (du - auc * (neg_total - pos_total)) / pn
    return auc, g, g


def _many(
    metrics: Sequence[tuple[str, Any]], b: ClassBins, z: float, note: str = ""
) -> list[Estimate]:
    """Each (name, function) metric's estimate on `b`, the intervals computed together."""
    got = [(name, *fn(b)) for name, fn in metrics]
    defined = [(gp, go) for _, value, gp, go in got if value is not None]
    intervals = iter(_intervals(defined, b).tolist() if defined else [])
    out = []
    for name, value, _, _ in got:
        se = None if value is None else tuple(next(intervals))
        why = note if value is not None else _undefined(name)
        out.append(_estimate(name, value, se, b.rows, z, why))
    return out


def _undefined(name: str) -> str:
    return {
        "precision": "undefined: no row predicted positive in this window",
        "recall": "undefined: no expected positive in this window",
        "f1": "undefined: no expected positive and nothing predicted positive",
        "roc_auc": "undefined: the calibrated scores expect only one class",
    }.get(name, "undefined: no rows")


BINARY_METRICS: tuple[tuple[str, Any], ...] = (
    ("accuracy", binary_accuracy),
    ("precision", precision),
    ("recall", recall),
    ("f1", f1),
    ("roc_auc", roc_auc),
)


def binary(
    cal: sc.Calibration,
    edges: FloatArray,
    counts: npt.ArrayLike,
    *,
    threshold: float,
    z: float,
    sums: npt.ArrayLike | None = None,
    positive: str | None = None,
) -> list[Estimate]:
    """Estimated accuracy, precision, recall, F1 and ROC AUC of a binary classifier from the
    rows per bin of its positive-class score (`edges` must contain the threshold)."""
    e = np.asarray(edges, dtype=np.float64)
    if not np.any(e == threshold):
        raise ValueError(f"the threshold {threshold} must be one of the histogram's edges")
    c = np.asarray(counts, dtype=np.float64)
    first = int(np.searchsorted(e, threshold, side="left")) + 1  # bin [threshold, next)
    above = np.arange(len(c)) >= first
    b = ClassBins.of(cal, e, np.where(above, c, 0.0), np.where(above, 0.0, c), sums)
    if b.rows <= 0:
        return []
    note = f"estimated (CBPE), positive class {positive!r}" if positive else "estimated (CBPE)"
    return _many(BINARY_METRICS, b, z, note)


def multiclass(classes: Mapping[str, ClassBins], z: float) -> list[Estimate]:
    """One-vs-rest estimates: accuracy, and macro precision, recall, F1 and ROC AUC."""
    if not classes:
        return []
    parts = list(classes.values())
    n = parts[0].rows
    if n <= 0:
        return []
    note = f"estimated (CBPE), one-vs-rest macro over {len(parts)} classes"
    # accuracy = sum_c TP_c / n: every row counts once, under its predicted class.
    acc = sum(_counts(b)[0] for b in parts) / n
    var_s = var_c = 0.0
    for b in parts:
        ((s, c),) = _intervals([(np.full_like(b.p, 1.0 / n), _zeros(b))], b).tolist()
        var_s += s * s
        var_c += c * c
    out = [_estimate("accuracy", acc, (math.sqrt(var_s), math.sqrt(var_c)), n, z, note)]
    per_class = [_many(BINARY_METRICS[1:], b, z) for b in parts]
    for k, (name, _) in enumerate(BINARY_METRICS[1:]):
        each = [estimates[k] for estimates in per_class]
        if any(e.value is None for e in each):
            missing = [c for c, e in zip(classes, each, strict=True) if e.value is None]
            out.append(
                Estimate(name, None, n=int(n), note=f"{_undefined(name)} (class {missing[0]!r})")
            )
            continue
        k = len(each)
        value = sum(e.value or 0.0 for e in each) / k
        s = math.sqrt(sum((e.se_sampling or 0.0) ** 2 for e in each)) / k
        c = math.sqrt(sum((e.se_calibration or 0.0) ** 2 for e in each)) / k
        out.append(_estimate(name, value, (s, c), n, z, note))
    return out


# --- realized metrics on binned labelled rows (the reference's own check) ------------------
def realized_binary(ref: sc.BinnedLabels, threshold: float) -> dict[str, float]:
    """Accuracy, precision, recall, F1 and binned ROC AUC of labelled rows on the bins of
    `ref.edges` (the threshold one of them, so the predicted class is exact)."""
    e = ref.edges
    first = int(np.searchsorted(e, threshold, side="left")) + 1
    above = np.arange(len(ref.n)) >= first
    tp = float(ref.pos[above].sum())
    fp = float(ref.n[above].sum()) - tp
    fn = float(ref.pos[~above].sum())
    n = float(ref.n.sum())
    tn = n - tp - fp - fn
    out: dict[str, float] = {}
    if n > 0:
        out["accuracy"] = (tp + tn) / n
    if tp + fp > 0:
        out["precision"] = tp / (tp + fp)
    if tp + fn > 0:
        out["recall"] = tp / (tp + fn)
    if 2 * tp + fp + fn > 0:
        out["f1"] = 2 * tp / (2 * tp + fp + fn)
    neg = ref.n - ref.pos
    p, q = float(ref.pos.sum()), float(neg.sum())
    if p > 0 and q > 0:
        below = np.concatenate(([0.0], np.cumsum(neg)[:-1]))
        out["roc_auc"] = float((ref.pos * (below + 0.5 * neg)).sum()) / (p * q)
    return out


@dataclass(frozen=True)
class ReferenceCheck:
    """The reference's realized metrics, and the out-of-fold estimate's error on it."""

    realized: dict[str, float]
    estimated: dict[str, float]  # out-of-fold estimate of the whole reference (fold sums)
    mean_abs_error: dict[str, float]  # mean over folds of |estimate - realized|
    folds: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "realized": self.realized,
            "estimated_out_of_fold": self.estimated,
            "mean_abs_error_out_of_fold": self.mean_abs_error,
            "folds": self.folds,
        }


def reference_check(
    folds: Sequence[sc.BinnedLabels], fitted: sc.Fitted, threshold: float
) -> ReferenceCheck:
    """Estimate each fold with the map fitted without it; compare with its realized values."""
    everything = folds[0].merged(folds[1:])
    errors: dict[str, list[float]] = {}
    est_sum: dict[str, list[float]] = {}
    for fold, cal in zip(folds, fitted.out_of_fold, strict=True):
        if not fold.rows:
            continue
        real = realized_binary(fold, threshold)
        ests = binary(cal, fold.edges, fold.n, threshold=threshold, z=0.0, sums=fold.sums)
        for e in ests:
            if e.value is None:
                continue
            est_sum.setdefault(e.name, []).append(e.value * fold.rows)
            if e.name in real:
                errors.setdefault(e.name, []).append(abs(e.value - real[e.name]))
    rows = max(everything.rows, 1)
    return ReferenceCheck(
        realized_binary(everything, threshold),
        {k: sum(v) / rows for k, v in est_sum.items()},
        {k: float(np.mean(v)) for k, v in errors.items()},
        len(folds),
    )
