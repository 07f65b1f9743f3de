"""Simulated reference data and the row-level CBPE, for the estimated-performance unit tests."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import auc as sk_auc

from predwatch.analyzers import score_calibration as sc

GRID = sc.Grid().edges(0.5)


def truth(s: np.ndarray) -> np.ndarray:
    """P(positive | score) of the simulated model (a logistic curve, not the identity)."""
    return 1.0 / (1.0 + np.exp(-4.0 * (s - 0.6)))


def labelled(
    rng: np.random.Generator, n: int, edges: np.ndarray = GRID
) -> tuple[sc.Fitted, sc.BinnedLabels]:
    """`n` reference rows (beta(2, 3) scores, labels from `truth`), binned on `edges` in
    sc.FOLDS folds: the fitted calibration and the folds merged."""
    s = rng.beta(2.0, 3.0, n)
    y = rng.random(n) < truth(s)
    fold = rng.integers(0, sc.FOLDS, n)
    folds = []
    for f in range(sc.FOLDS):
        b = sc.BinnedLabels(edges)
        b.add(s[fold == f], y[fold == f])
        folds.append(b)
    return sc.fit(folds), folds[0].merged(folds[1:])


def row_level_cbpe(p: np.ndarray, s: np.ndarray, threshold: float) -> dict[str, float]:
    """NannyML's CBPE on rows (estimate_roc_auc and the expected confusion matrix)."""
    yhat = s >= threshold
    tp, fp = p[yhat].sum(), (1 - p[yhat]).sum()
    fn, tn = p[~yhat].sum(), (1 - p[~yhat]).sum()
    order = np.argsort(s)[::-1]
    tps = np.r_[0, np.cumsum(p[order])]
    fps = np.r_[0, 1 + np.arange(len(s)) - tps[1:]]
    return {
        "accuracy": (tp + tn) / len(s),
        "precision": tp / (tp + fp),
        "recall": tp / (tp + fn),
        "f1": 2 * tp / (2 * tp + fp + fn),
        "roc_auc": float(sk_auc(fps / fps[-1], tps / tps[-1])),
    }
