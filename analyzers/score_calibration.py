"""Calibration of a classifier's scores into probabilities, fitted on binned reference rows.

Pure: numpy only, no I/O. Memory is O(bins), never O(rows): the reference is read in chunks
into a fine histogram (`BinnedLabels`: rows, positives and score sum per bin), and the map
is fitted on those counts.

- Bins: `Grid` - `bins` equal bins between `low` and `high` (0 and 1 for probabilities),
  plus the decision threshold as one more edge (so the predicted class is constant within a
  bin) and two open end bins for scores outside. Bin i holds scores in [e[i-1], e[i]); the
  same intervals as an Elasticsearch `range` aggregation on these edges.
- Isotonic map: pool-adjacent-violators on the non-empty bins (x = the bin's mean score,
  y = its share of positives, weight = its rows), neighbouring bins first pooled to at least
  sqrt(reference rows) each (`fit_isotonic` says why). The result is a list of blocks
  (x_start, x_end, probability, rows); between blocks it is linear, outside it is flat:
  scikit-learn's `IsotonicRegression(out_of_bounds="clip")` fitted on the same rows with
  their scores rounded to the pooled means (min_rows=1: to the bin means).
- Which map: isotonic, or the identity when the scores are probabilities already and the
  identity has the lower out-of-fold Brier score (as NannyML skips calibration when it does
  not help). Out-of-fold: the map applied to a fold is fitted on the other folds only.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

DEFAULT_BINS = 1000
FOLDS = 5
ISOTONIC = "isotonic"
IDENTITY = "identity"
METHODS = (ISOTONIC, IDENTITY)


@dataclass(frozen=True)
class Grid:
    """Fine equal bins on [low, high] plus the threshold as an edge, open at both ends."""

    low: float = 0.0
    high: float = 1.0
    bins: int = DEFAULT_BINS

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ValueError(f"grid: need finite low < high, got {self.low}, {self.high}")
        if self.bins < 1:
            raise ValueError(f"grid: bins must be at least 1, got {self.bins}")

    def edges(self, threshold: float | None = None) -> FloatArray:
        """Inner edges, ascending: bin 0 is (-inf, e[0]), bin len(e) is [e[-1], inf)."""
        e = np.linspace(self.low, self.high, self.bins + 1)
        if threshold is not None and math.isfinite(threshold):
            e = np.union1d(e, [threshold])
        return np.asarray(e, dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "bins": self.bins}


def bin_index(edges: FloatArray, scores: npt.ArrayLike) -> npt.NDArray[np.intp]:
    """The bin of each score (see `Grid.edges`); NaN scores are the caller's to drop."""
    return np.searchsorted(edges, np.asarray(scores, dtype=np.float64), side="right")


def positions(
    edges: FloatArray, sums: FloatArray | None = None, counts: FloatArray | None = None
) -> FloatArray:
    """One representative score per bin: its mean where known, else the midpoint (the
    edge itself for the two open end bins). A NaN sum is unknown (a bin whose sum was not
    asked for: `estimate_edges.summed_bins`)."""
    e = np.asarray(edges, dtype=np.float64)
    mid = np.concatenate(([e[0]], (e[:-1] + e[1:]) / 2.0, [e[-1]]))
    if sums is None or counts is None:
        return mid
    c = np.asarray(counts, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.asarray(sums, dtype=np.float64) / c
    return np.where((c > 0) & np.isfinite(mean), mean, mid)


@dataclass
class BinnedLabels:
    """Reference rows on the bins of `edges`: rows, positives and the sum of scores per bin."""

    edges: FloatArray
    n: FloatArray = field(init=False)
    pos: FloatArray = field(init=False)
    sums: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        k = len(self.edges) + 1
        self.n = np.zeros(k)
        self.pos = np.zeros(k)
        self.sums = np.zeros(k)

    def add(self, scores: npt.ArrayLike, positive: npt.ArrayLike) -> None:
        """Add rows: the score and whether the row is of the positive class."""
        s = np.asarray(scores, dtype=np.float64)
        y = np.asarray(positive, dtype=np.float64)
        ok = np.isfinite(s)
        s, y = s[ok], y[ok]
        idx = bin_index(self.edges, s)
        k = len(self.n)
        self.n += np.bincount(idx, minlength=k)
        self.pos += np.bincount(idx, weights=y, minlength=k)
        self.sums += np.bincount(idx, weights=s, minlength=k)

    def merged(self, others: Sequence[BinnedLabels]) -> BinnedLabels:
        out = BinnedLabels(self.edges)
        for b in (self, *others):
            out.n += b.n
            out.pos += b.pos
            out.sums += b.sums
        return out

    @property
    def rows(self) -> int:
        return int(self.n.sum())

    def positions(self) -> FloatArray:
        return positions(self.edges, self.sums, self.n)


@dataclass(frozen=True)
class Calibration:
    """A monotone map score -> P(positive): blocks (x_start, x_end, probability, rows)."""

    blocks: tuple[tuple[float, float, float, float], ...]
    method: str = ISOTONIC
    rows: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"calibration: method must be one of {METHODS}, got {self.method!r}")
        if not self.blocks:
            raise ValueError("calibration: no blocks")
        prev_x, prev_p = -math.inf, -math.inf
        for i, (x0, x1, p, m) in enumerate(self.blocks):
            if not all(math.isfinite(v) for v in (x0, x1, p, m)):
                raise ValueError(f"calibration: blocks[{i}] has a non-finite number")
            if not (prev_x < x0 <= x1) or p < prev_p or not 0.0 <= p <= 1.0 or m < 0:
                raise ValueError(
                    f"calibration: blocks[{i}] must continue the ascending x and "
                    f"non-decreasing probabilities in [0, 1], got {[x0, x1, p, m]}"
                )
            prev_x, prev_p = x1, p

    @functools.cached_property
    def _knots(self) -> tuple[FloatArray, FloatArray, npt.NDArray[np.intp]]:
        """The knots' scores and probabilities, and the block each belongs to (computed
        once per map: every window's estimate reads them; read-only)."""
        xs: list[float] = []
        ys: list[float] = []
        owner: list[int] = []
        for j, (x0, x1, p, _) in enumerate(self.blocks):
            xs.append(x0)
            ys.append(p)
            owner.append(j)
            if x1 > x0:
                xs.append(x1)
                ys.append(p)
                owner.append(j)
        out = (np.asarray(xs), np.asarray(ys), np.asarray(owner, dtype=np.intp))
        for a in out:
            a.setflags(write=False)
        return out

    @functools.cached_property
    def block_variance(self) -> FloatArray:
        """var(p_j) of each block's fitted value, p_j (1 - p_j) / rows_j (0 for a block
        without rows, e.g. the identity map's); computed once per map, read-only."""
        m = np.asarray([b[3] for b in self.blocks], dtype=np.float64)
        pj = np.asarray([b[2] for b in self.blocks], dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(m > 0, pj * (1.0 - pj) / m, 0.0)
        out.setflags(write=False)
        return out

    def knots(self) -> tuple[FloatArray, FloatArray]:
        x, y, _ = self._knots
        return x, y

    def __call__(self, scores: npt.ArrayLike) -> FloatArray:
        """Calibrated probabilities of these scores."""
        x, y = self.knots()
        return np.asarray(np.interp(np.asarray(scores, dtype=np.float64), x, y))

    def block_weights(self, scores: npt.ArrayLike) -> FloatArray:
        """d p(score) / d p_j for every score (rows) and block j (columns): how each
        calibrated probability moves with each block's fitted value (for the interval)."""
        s = np.asarray(scores, dtype=np.float64)
        x, _, owner = self._knots
        w = np.zeros((len(s), len(self.blocks)))
        i = np.searchsorted(x, s, side="right")  # knot i-1 <= s < knot i
        lo = np.clip(i - 1, 0, len(x) - 1)
        hi = np.clip(i, 0, len(x) - 1)
        span = x[hi] - x[lo]
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(span > 0, (s - x[lo]) / span, 0.0)
        rows = np.arange(len(s))
        np.add.at(w, (rows, owner[lo]), 1.0 - t)
        np.add.at(w, (rows, owner[hi]), t)
        return w

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "rows": self.rows,
            "blocks": [[float(v) for v in b] for b in self.blocks],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        """Read `to_dict`'s output; ValueError names what is wrong."""
        blocks = data.get("blocks")
        if not isinstance(blocks, list) or not all(
            isinstance(b, list) and len(b) == 4 and all(_is_number(v) for v in b) for b in blocks
        ):
            raise ValueError("calibration: blocks must be a list of [x_start, x_end, p, rows]")
        rows = data.get("rows", 0)
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
            raise ValueError(f"calibration: rows must be a whole number >= 0, got {rows!r}")
        return cls(
            tuple((float(a), float(b), float(c), float(d)) for a, b, c, d in blocks),
            str(data.get("method", ISOTONIC)),
            rows,
        )


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


IDENTITY_MAP = Calibration(((0.0, 0.0, 0.0, 0.0), (1.0, 1.0, 1.0, 0.0)), IDENTITY)


def pav(y: FloatArray, w: FloatArray) -> list[tuple[int, int, float, float]]:
    """Weighted pool-adjacent-violators: blocks (first, last, value, weight), ascending."""
    blocks: list[list[float]] = []  # first, last, weighted sum, weight
    for i, (yi, wi) in enumerate(zip(y, w, strict=True)):
        blocks.append([i, i, yi * wi, wi])
        while len(blocks) > 1 and blocks[-2][2] / blocks[-2][3] >= blocks[-1][2] / blocks[-1][3]:
            last = blocks.pop()
            blocks[-1][1] = last[1]
            blocks[-1][2] += last[2]
            blocks[-1][3] += last[3]
    return [(int(a), int(b), s / m, m) for a, b, s, m in blocks]


def pool_small(
    x: FloatArray, y: FloatArray, w: FloatArray, min_rows: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Merge consecutive points until each holds >= min_rows (a short last group joins the
    one before): weighted means of x and y, summed weights."""
    gx: list[float] = []
    gy: list[float] = []
    gw: list[float] = []
    sx = sy = sw = 0.0
    for xi, yi, wi in zip(x, y, w, strict=True):
        sx, sy, sw = sx + xi * wi, sy + yi * wi, sw + wi
        if sw >= min_rows:
            gx.append(sx / sw)
            gy.append(sy / sw)
            gw.append(sw)
            sx = sy = sw = 0.0
    if sw > 0:
        if gw:
            m = gw.pop()
            sx, sy, sw = sx + gx.pop() * m, sy + gy.pop() * m, sw + m
        gx.append(sx / sw)
        gy.append(sy / sw)
        gw.append(sw)
    return np.asarray(gx), np.asarray(gy), np.asarray(gw)


def fit_isotonic(ref: BinnedLabels, min_rows: float | None = None) -> Calibration:
    """The isotonic map of the reference's bins (see the module docstring).

    Before pool-adjacent-violators, neighbouring bins are pooled until each holds at least
    `min_rows` rows (default sqrt(rows)): plain isotonic regression keeps every noise step
    that happens to be monotone, which spreads the probabilities apart and makes the
    estimated accuracy and ROC AUC optimistic (by about one standard error with 5,000
    reference rows and a shifted window; pooled: no measurable bias, see the unit tests).
    """
    used = ref.n > 0
    if not used.any():
        raise ValueError("calibration: no reference rows with a score")
    x = ref.positions()[used]
    y = ref.pos[used] / ref.n[used]
    w = ref.n[used]
    least = math.sqrt(ref.rows) if min_rows is None else min_rows
    x, y, w = pool_small(x, y, w, max(least, 1.0))
    blocks = tuple(
        (float(x[a]), float(x[b]), min(max(v, 0.0), 1.0), float(m)) for a, b, v, m in pav(y, w)
    )
    return Calibration(blocks, ISOTONIC, ref.rows)


def brier(cal: Calibration, fold: BinnedLabels) -> float:
    """Brier score of the map on a fold's bins (each bin's rows at its mean score)."""
    p = cal(fold.positions())
    n, k = fold.n, fold.pos
    total = float((k * (1.0 - p) ** 2 + (n - k) * p**2).sum())
    return total / max(float(n.sum()), 1.0)


@dataclass(frozen=True)
class Fitted:
    """The chosen map, and the out-of-fold maps and Brier scores behind the choice."""

    calibration: Calibration
    out_of_fold: tuple[Calibration, ...]  # map applied to fold i, fitted without it
    brier_isotonic: float
    brier_identity: float | None  # None when the scores are not all in [0, 1]


def fit(folds: Sequence[BinnedLabels]) -> Fitted:
    """Fit on all folds; choose isotonic or identity by their out-of-fold Brier score."""
    if not folds:
        raise ValueError("calibration: no folds")
    everything = folds[0].merged(folds[1:])
    full = fit_isotonic(everything)
    usable = [i for i, f in enumerate(folds) if f.rows and any(g.rows for g in folds if g is not f)]
    oof: list[Calibration] = []
    iso_loss = id_loss = 0.0
    for i, f in enumerate(folds):
        rest = [g for j, g in enumerate(folds) if j != i]
        if i not in usable:
            oof.append(full)
            continue
        cal = fit_isotonic(rest[0].merged(rest[1:]))
        oof.append(cal)
        iso_loss += brier(cal, f) * f.rows
        id_loss += brier(IDENTITY_MAP, f) * f.rows
    rows = max(sum(folds[i].rows for i in usable), 1)
    iso_loss /= rows
    id_loss /= rows
    pos = everything.positions()[everything.n > 0]
    probabilities = bool(pos.size) and float(pos.min()) >= 0.0 and float(pos.max()) <= 1.0
    if probabilities and usable and id_loss <= iso_loss:
        chosen = Calibration(IDENTITY_MAP.blocks, IDENTITY, everything.rows)
        return Fitted(chosen, tuple(chosen for _ in folds), iso_loss, id_loss)
    return Fitted(full, tuple(oof), iso_loss, id_loss if probabilities else None)
