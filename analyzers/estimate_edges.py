"""The score bins CBPE needs: the calibration map's knots, the threshold, and split ramps.

Pure (numpy). One function, `estimation_edges`, decides the bins for both sides: `baseline
build --target-column` stores its edges in the baseline, and `quality --estimate` asks
Elasticsearch for a `range` bucket (with a `sum` of the score) per bin of those edges.

Why these edges. The map p(s) (`score_calibration.Calibration`) is piecewise linear on its
knots: flat inside each isotonic block and outside the first and last block, linear between
two blocks (a "ramp"). For a bin inside one linear piece, sum_i p(s_i) = n_b * p(mean score
of the bin) exactly, so with the knots and the threshold among the edges the expected
TP, FP, FN and TN, hence accuracy, precision, recall and F1, are EXACT: equal to the
row-level CBPE with the same map, whatever the bin widths.

ROC AUC treats the rows of one bin as ties. Sort a bin's rows by score; p is
non-decreasing along them. The row-level expected Mann-Whitney count gives the pair (i
above j) p_i (1 - p_j); ties give it (p_i (1 - p_j) + p_j (1 - p_i)) / 2. The difference
is (p_i - p_j) / 2 <= dp_b / 2, where dp_b is the rise of p across the bin, for each of
n_b (n_b - 1) / 2 < n_b^2 / 2 pairs; pairs in different bins depend only on the bins'
sums, exact as above. Dividing by P N (expected positives times negatives):

    |AUC_bins - AUC_rows| <= sum_b 0.25 n_b^2 dp_b / (P N)
                           = sum_b 0.25 q_b^2 dp_b / (pi (1 - pi))

with q_b = n_b / n the share of rows in bin b and pi = P / n. Flat bins have dp_b = 0
(exact). A ramp with rise D split into k equal-width sub-bins has dp_b = D / k, and its
part of the bound is E(k) = 0.25 (D / k) sum_b q_b^2 / (pi (1 - pi)), falling at least as
1/k (as 1/k^2 when the rows spread evenly). The shares q_b are the reference's (its score
histogram, density taken flat inside each of its fine bins); without the histogram (old
baselines) a ramp holds at most the rows of its two neighbouring blocks (a ramp runs
between the mean scores of the last pooled group of one block and the first of the next,
so only those two groups have rows on it), spread evenly, and pi is the blocks' mean p.
Which bins need their sum (`summed_bins`). Inside one block's span, and beyond the outer
knots, the map and its block weights (the interval's d p / d p_j) are the same at every
score, so any score of the bin stands for its mean: those bins need only their count, which
Elasticsearch answers from its index without reading a row (a top-level `range` without
sub-aggregations). Only the other bins (ramps, and bins holding a knot of another block)
need the `sum` of their scores, read row by row.

Ramps are split greedily (the one with the largest E doubles its k) until sum E <= the
tolerance (1e-4 by default), every ramp reaches MAX_SPLIT or the ramps hold MAX_BINS. The
bound is on reference-shaped windows; a window that piles its rows onto one ramp can be off
by more, and the unit tests compare with the row-level estimate on shifted windows. The
identity map (p = s on [0, 1]) is one long ramp; the same rule applies.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from predwatch.analyzers import score_calibration as sc

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
AUC_TOLERANCE = 1e-4
MAX_SPLIT = 1024
MAX_BINS = 4096  # over all ramps: a request stays far under search.max_buckets (65,536)


def _ramps(cal: sc.Calibration) -> list[tuple[float, float, float, float]]:
    """(x_start, x_end, rise, reference rows on it or nan) of every rising linear piece."""
    x, y = cal.knots()
    rows = [b[3] for b in cal.blocks]
    owner = [
        j for j, (x0, x1, _, _) in enumerate(cal.blocks) for _ in ((x0,) if x1 == x0 else (x0, x1))
    ]
    out = []
    for i in range(len(x) - 1):
        rise = float(y[i + 1] - y[i])
        if rise > 0 and x[i + 1] > x[i]:
            a, b = owner[i], owner[i + 1]
            m = rows[a] + rows[b] if a != b else rows[a]
            out.append((float(x[i]), float(x[i + 1]), rise, m))
    return out


def _shares(
    ramp: tuple[float, float, float, float], k: int, ref: sc.BinnedLabels | None, total: float
) -> FloatArray:
    """Share of the reference rows in each of the ramp's k equal sub-bins."""
    a, b, _, m = ramp
    if ref is None:
        return np.full(k, m / total / k)
    # cumulative rows at the fine edges, linear inside each fine bin (flat density there)
    e = ref.edges
    inner = ref.n[1:-1]
    cum = np.concatenate(([0.0], np.cumsum(inner)))
    cuts = np.linspace(a, b, k + 1)
    f = np.interp(cuts, e, cum)
    q = np.diff(f)
    # the open end bins (scores beyond the grid) land on the first or last sub-bin
    if a <= e[0]:
        q[0] += ref.n[0]
    if b >= e[-1]:
        q[-1] += ref.n[-1]
    return np.asarray(q / total, dtype=np.float64)


def _bound(
    ramp: tuple[float, float, float, float], k: int, ref: sc.BinnedLabels | None, total: float,
    spread: float,
) -> float:  # fmt: skip
    q = _shares(ramp, k, ref, total)
    return 0.25 * (ramp[2] / k) * float((q * q).sum()) / spread


def auc_bound(cal: sc.Calibration, edges: FloatArray, reference: sc.BinnedLabels) -> float:
    """The bound of the module docstring for these edges, with the reference's rows placed
    at their fine bins' mean scores."""
    total = float(reference.n.sum())
    pi = float(reference.pos.sum()) / total
    idx = sc.bin_index(edges, reference.positions())
    q = np.bincount(idx, weights=reference.n, minlength=len(edges) + 1) / total
    dp = np.concatenate(([0.0], np.diff(cal(edges)), [0.0]))  # flat beyond the outer knots
    return float(0.25 * (q * q * dp).sum() / max(pi * (1.0 - pi), 1e-6))


def estimation_edges(
    cal: sc.Calibration,
    threshold: float | None,
    reference: sc.BinnedLabels | None = None,
    *,
    tolerance: float = AUC_TOLERANCE,
    fallback: sc.Grid | None = None,
) -> FloatArray:
    """Inner bin edges, ascending: the map's knots, the threshold (None: a multiclass
    one-vs-rest map, whose rows are split by the predicted label), and every ramp split into
    as many equal sub-bins as keep the ROC AUC bound under `tolerance` (module docstring).
    `reference`: the reference's fine score histogram with labels (the fit side); without
    it the blocks' rows stand in. A map without rows and no reference (the identity of a
    baseline that stored no edges) gets `fallback`'s fine grid: nothing bounds the error."""
    if threshold is not None and not math.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold}")
    x = cal.knots()[0]
    ramps = _ramps(cal)
    if reference is not None and reference.n.sum() > 0:
        total = float(reference.n.sum())
        pi = float(reference.pos.sum()) / total
    else:
        reference = None
        total = float(sum(b[3] for b in cal.blocks))
        if total <= 0:
            grid = fallback or sc.Grid()
            return grid.edges(threshold)
        pi = sum(b[2] * b[3] for b in cal.blocks) / total
    spread = max(pi * (1.0 - pi), 1e-6)
    k = [1] * len(ramps)
    err = [_bound(r, 1, reference, total, spread) for r in ramps]
    while ramps and sum(err) > tolerance:
        open_ = [i for i in range(len(ramps)) if k[i] < MAX_SPLIT]
        if not open_ or sum(k) >= MAX_BINS:
            break
        i = max(open_, key=lambda j: err[j])
        k[i] *= 2
        err[i] = _bound(ramps[i], k[i], reference, total, spread)
    cuts = [np.linspace(r[0], r[1], n + 1) for r, n in zip(ramps, k, strict=True)]
    every = np.concatenate([x, [] if threshold is None else [threshold], *cuts])
    return np.asarray(np.unique(every), dtype=np.float64)


def summed_bins(cal: sc.Calibration, edges: npt.ArrayLike) -> BoolArray:
    """Per bin of `edges` (len(edges) + 1 bins): whether its mean score changes the estimate.

    False for a bin inside one block's span [x_start, x_end] or beyond the outer knots, where
    the map and its block weights are constant, so `score_calibration.positions` may stand
    the bin's midpoint (the edge, for an open end bin) for its mean; True for every other bin.
    """
    e = np.asarray(edges, dtype=np.float64)
    lo = np.concatenate(([-np.inf], e))
    hi = np.concatenate((e, [np.inf]))
    starts = np.asarray([b[0] for b in cal.blocks])
    ends = np.asarray([b[1] for b in cal.blocks])
    j = np.searchsorted(starts, lo, side="right") - 1  # the last block starting at or below lo
    inside = (j >= 0) & (hi <= ends[np.clip(j, 0, None)])
    beyond = (hi <= starts[0]) | (lo >= ends[-1])
    return np.asarray(~(inside | beyond), dtype=np.bool_)
