"""`baseline build --target-column --class-scores PREFIX`: one-vs-rest CBPE maps (chunked).

A multiclass model logs its class probabilities as `prediction.scores.<class>` and its
class as `prediction.label` (the shipper does both when the prediction is a dict of class
probabilities: the label is the top class). The reference rows carry the same: one
probability column per class, named PREFIX<class>, and the true label. The predicted class
of a reference row is its top class (as the shipper's label).

Per class c, rows are read chunk by chunk into per-fold histograms of score_c on the
[0, 1] grid (`score_calibration.BinnedLabels`, "positive" = label is c), split by whether
c was predicted; memory is O(classes x bins). Per class: the map (`score_calibration.fit`,
out of fold), its bins (`estimate_edges.estimation_edges`, no threshold: the label splits
the rows). The reference's realized metrics are NannyML's (and `predwatch quality`'s)
multiclass ones: accuracy, macro precision, recall and F1, macro one-vs-rest ROC AUC; the
out-of-fold check estimates each fold with the maps fitted without it (`estimate.multiclass`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from predwatch import schema as s
from predwatch.analyzers import estimate as est
from predwatch.analyzers import score_calibration as sc
from predwatch.analyzers.estimate_edges import estimation_edges
from predwatch.analyzers.estimate_fit import label_text
from predwatch.baseline_model import BaselineError

Folds = list[sc.BinnedLabels]


def class_columns(header: Sequence[str], prefix: str) -> dict[str, str]:
    """class -> column, for every column named PREFIX<class>."""
    cols = {c[len(prefix) :]: c for c in header if c.startswith(prefix) and len(c) > len(prefix)}
    if len(cols) < 2:
        raise BaselineError(
            f"--class-scores {prefix!r}: need a probability column per class named "
            f"{prefix}<class>, found {sorted(cols.values()) or 'none'}"
        )
    return dict(sorted(cols.items()))


class _Reader:
    """Per class and fold: histograms of the class's score, predicted as it or not."""

    def __init__(self, classes: Sequence[str], seed: int) -> None:
        self.classes = list(classes)
        self.edges = sc.Grid().edges(None)
        self.rng = np.random.default_rng(seed)
        self.pred = {c: [sc.BinnedLabels(self.edges) for _ in range(sc.FOLDS)] for c in classes}
        self.other = {c: [sc.BinnedLabels(self.edges) for _ in range(sc.FOLDS)] for c in classes}
        self.skipped = 0

    def add(self, scores: pd.DataFrame, target: pd.Series) -> None:
        x = scores.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
        ok = np.isfinite(x).all(axis=1) & target.notna().to_numpy()
        self.skipped += int((~ok).sum())
        x = x[ok]
        if not len(x):
            return
        if float(x.min()) < 0.0 or float(x.max()) > 1.0:
            raise BaselineError(
                "--class-scores: class scores must be probabilities in [0, 1] (as logged in "
                f"prediction.scores.<class>), found {float(x.min()):g} .. {float(x.max()):g}"
            )
        y = np.asarray([label_text(v) for v in target.to_numpy()[ok]], dtype=object)
        unknown = sorted(set(y) - set(self.classes))
        if unknown:
            raise BaselineError(
                f"--target-column has values without a class-score column: {unknown[:5]} "
                f"(classes from the score columns: {self.classes})"
            )
        top = x.argmax(axis=1)
        folds = self.rng.integers(0, sc.FOLDS, len(x))
        for j, c in enumerate(self.classes):
            positive = y == c
            mine = top == j
            for f in range(sc.FOLDS):
                here = folds == f
                for sel, into in ((here & mine, self.pred[c]), (here & ~mine, self.other[c])):
                    into[f].add(x[sel, j], positive[sel])


def _auc(b: sc.BinnedLabels) -> float | None:
    neg = b.n - b.pos
    p, q = float(b.pos.sum()), float(neg.sum())
    if p <= 0 or q <= 0:
        return None
    below = np.concatenate(([0.0], np.cumsum(neg)[:-1]))
    return float((b.pos * (below + 0.5 * neg)).sum()) / (p * q)


def realized_multiclass(
    pred: dict[str, sc.BinnedLabels], other: dict[str, sc.BinnedLabels]
) -> dict[str, float]:
    """Accuracy, macro precision / recall / F1 and macro one-vs-rest ROC AUC (binned) of
    labelled rows: per class, rows predicted as it (`pred`) and the others."""
    classes = list(pred)
    n = float(pred[classes[0]].n.sum() + other[classes[0]].n.sum())
    if n <= 0:
        return {}
    tp = {c: float(pred[c].pos.sum()) for c in classes}
    npred = {c: float(pred[c].n.sum()) for c in classes}
    fn = {c: float(other[c].pos.sum()) for c in classes}
    prec = [tp[c] / npred[c] if npred[c] else 0.0 for c in classes]
    rec = [tp[c] / (tp[c] + fn[c]) if tp[c] + fn[c] else 0.0 for c in classes]
    f1 = [
        2 * tp[c] / (npred[c] + tp[c] + fn[c]) if npred[c] + tp[c] + fn[c] else 0.0 for c in classes
    ]
    out = {
        "accuracy": sum(tp.values()) / n,
        "precision": float(np.mean(prec)),
        "recall": float(np.mean(rec)),
        "f1": float(np.mean(f1)),
    }
    aucs = [_auc(pred[c].merged([other[c]])) for c in classes]
    if all(a is not None for a in aucs):
        out["roc_auc"] = float(np.mean([a for a in aucs if a is not None]))
    return out


def _check(
    r: _Reader, fitted: dict[str, sc.Fitted]
) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """Realized on all rows, out-of-fold estimate of all rows, mean |error| over folds."""
    errors: dict[str, list[float]] = {}
    est_sum: dict[str, list[float]] = {}
    rows = 0.0
    for f in range(sc.FOLDS):
        pred = {c: r.pred[c][f] for c in r.classes}
        other = {c: r.other[c][f] for c in r.classes}
        n = float(pred[r.classes[0]].n.sum() + other[r.classes[0]].n.sum())
        if n <= 0:
            continue
        rows += n
        parts = {
            c: est.ClassBins.of(
                fitted[c].out_of_fold[f],
                r.edges,
                pred[c].n,
                other[c].n,
                sums=pred[c].sums + other[c].sums,
            )
            for c in r.classes
        }
        real = realized_multiclass(pred, other)
        for e in est.multiclass(parts, 0.0):
            if e.value is None:
                continue
            est_sum.setdefault(e.name, []).append(e.value * n)
            if e.name in real:
                errors.setdefault(e.name, []).append(abs(e.value - real[e.name]))
    pred_all = {c: r.pred[c][0].merged(r.pred[c][1:]) for c in r.classes}
    other_all = {c: r.other[c][0].merged(r.other[c][1:]) for c in r.classes}
    return (
        realized_multiclass(pred_all, other_all),
        {k: sum(v) / max(rows, 1.0) for k, v in est_sum.items()},
        {k: float(np.mean(v)) for k, v in errors.items()},
    )


def fit_reference_multiclass(
    frames: Iterable[pd.DataFrame],
    *,
    columns: dict[str, str],
    target: str,
    seed: int = 0,
) -> dict[str, Any]:
    """The baseline's multiclass `estimation` block (`columns`: class -> score column)."""
    r = _Reader(list(columns), seed)
    for frame in frames:
        for col in (*columns.values(), target):
            if col not in frame.columns:
                raise BaselineError(f"column {col!r} is not in the data")
        r.add(frame[list(columns.values())], frame[target])
    fitted: dict[str, sc.Fitted] = {}
    per_class: dict[str, Any] = {}
    for c in r.classes:
        folds = [p.merged([o]) for p, o in zip(r.pred[c], r.other[c], strict=True)]
        everything = folds[0].merged(folds[1:])
        if everything.pos.sum() <= 0:
            raise BaselineError(
                f"--target-column {target!r}: no reference row of class {c!r}; the "
                "calibration of a class needs rows of it"
            )
        fitted[c] = sc.fit(folds)
        cal = fitted[c].calibration
        per_class[c] = {
            "calibration": cal.to_dict(),
            "edges": [float(x) for x in estimation_edges(cal, None, everything)],
        }
    realized, estimated, error = _check(r, fitted)
    return {
        "kind": "multiclass",
        "score_field": s.PREDICTION_SCORES,
        "label_field": s.PREDICTION_LABEL,
        "classes": r.classes,
        "grid": sc.Grid().to_dict(),
        "per_class": per_class,
        "reference": {
            "realized": realized,
            "estimated_out_of_fold": estimated,
            "mean_abs_error_out_of_fold": error,
            "folds": sc.FOLDS,
            "rows": int(sum(b.rows for b in r.pred[r.classes[0]] + r.other[r.classes[0]])),
            "skipped_rows": r.skipped,
        },
    }
