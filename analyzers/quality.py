"""Prediction quality on joined (prediction, outcome) rows, accumulated page by page.

Pure: no I/O. Memory is O(classes^2 + classes x AUC_BINS) for classifiers and O(1) for
regressors, never O(rows), so a window of any size is evaluated in bounded memory.

Classifiers: a confusion matrix (accuracy, precision, recall, F1: the positive class's for two
classes, macro averages for more, as scikit-learn's `average="binary"` / `"macro"`), the
running mean of the per-row log loss (the actual class's probability clipped to
[eps, 1 - eps], as scikit-learn), and per class a histogram of that class's score among rows
of the class and among the others, on AUC_BINS equal bins of [0, 1] (scores outside are put
in the end bins). ROC AUC comes from the binned ROC, counting two rows in the same bin as a
tie; it differs from the exact AUC only through (positive, negative) pairs sharing a bin, so

    |AUC_binned - AUC_exact| <= 0.5 * sum_b pos_b * neg_b / (P * N)

which is reported with it (`roc_auc_bin_error`; for macro AUC the mean of the classes').
Regressors: running moments (Chan's parallel Welford) of |error|, error^2 and the actual
value: MAE, RMSE and R2 (1 - SSE / SST; 1.0 or 0.0 for a constant target, as scikit-learn).
Label delay: a log-scale histogram (20 bins per decade from 1 s to 1e9 s) with each bin's
sum; a percentile is the mean of the bin holding the nearest-rank value, so it lies within
12.2 % (one bin) of the exact nearest-rank percentile (within 1 s below one second).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from predwatch.analyzers import quality_ci as ci

AUC_BINS = 1000
EPS = float(np.finfo(np.float64).eps)
DELAY_BINS_PER_DECADE = 20
DELAY_DECADES = 9  # 1 s .. 1e9 s (about 31 years)
DELAY_PERCENTILES = (50.0, 90.0, 99.0)
POSITIVE_NAMES = ("1", "true", "yes")


@dataclass(frozen=True)
class Metric:
    """One quality metric of one window (and one model version)."""

    name: str
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    higher_is_better: bool = True
    note: str = ""

    @property
    def interval(self) -> ci.Interval | None:
        if self.ci_low is None or self.ci_high is None:
            return None
        return self.ci_low, self.ci_high


def _metric(
    name: str,
    value: float | None,
    interval: ci.Interval | None,
    n: int,
    higher: bool = True,
    note: str = "",
) -> Metric:
    low, high = interval if interval is not None else (None, None)
    return Metric(name, value, low, high, n, higher, note)


@dataclass
class Moments:
    """Count, mean and sum of squared deviations, merged batch by batch (Chan et al.)."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, values: np.ndarray) -> None:
        if values.size:
            mean = float(values.mean())
            self.merge(Moments(int(values.size), mean, float(((values - mean) ** 2).sum())))

    def merge(self, other: Moments) -> None:
        k, b_mean, b_m2 = other.n, other.mean, other.m2
        if k == 0:
            return
        n = self.n + k
        delta = b_mean - self.mean
        self.mean += delta * k / n
        self.m2 += b_m2 + delta * delta * self.n * k / n
        self.n = n

    @property
    def var(self) -> float:
        """Sample variance (ddof=1); nan below two values."""
        return self.m2 / (self.n - 1) if self.n > 1 else math.nan


def default_positive(classes: Sequence[str]) -> str | None:
    """The positive class of a binary problem: "1", "true" or "yes" if present, else the
    greater of the two labels (scikit-learn's convention); None unless 1-2 classes."""
    if not 0 < len(classes) <= 2:
        return None
    for name in POSITIVE_NAMES:
        if name in classes:
            return name
    return sorted(classes)[-1] if len(classes) == 2 else None


def _bin(score: float, bins: int) -> int:
    if not score > 0.0:  # also NaN
        return 0
    return min(int(score * bins), bins - 1)


@dataclass
class ClassificationAccumulator:
    """Confusion matrix, log-loss moments and per-class score histograms."""

    bins: int = AUC_BINS
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    log_loss: Moments = field(default_factory=Moments)
    unpredicted: int = 0  # rows with an outcome but neither a label nor scores
    scored: int = 0  # rows with class probabilities
    _pos: dict[str, np.ndarray] = field(default_factory=dict)
    _neg: dict[str, np.ndarray] = field(default_factory=dict)
    _seen: Counter[str] = field(default_factory=Counter)  # scored rows carrying each class

    def add(
        self,
        actual: Sequence[str],
        predicted: Sequence[str | None],
        proba: Sequence[Mapping[str, float] | None],
    ) -> None:
        """Add rows: actual class, predicted class (None: argmax of proba), probabilities."""
        losses: list[float] = []
        for a, p, pr in zip(actual, predicted, proba, strict=True):
            if p is None and pr:
                p = max(pr.items(), key=lambda kv: (kv[1], kv[0]))[0]
            if p is None:
                self.unpredicted += 1
                continue
            self.confusion[(a, p)] += 1
            if not pr:
                continue
            self.scored += 1
            pa = min(max(float(pr.get(a, 0.0)), EPS), 1.0 - EPS)
            losses.append(-math.log(pa))
            for c, s in pr.items():
                if c not in self._pos:
                    self._pos[c] = np.zeros(self.bins)
                    self._neg[c] = np.zeros(self.bins)
                hist = self._pos[c] if c == a else self._neg[c]
                hist[_bin(float(s), self.bins)] += 1.0
                self._seen[c] += 1
        self.log_loss.add(np.asarray(losses, dtype=np.float64))

    def merge(self, other: ClassificationAccumulator) -> None:
        """Add another accumulator's rows (same bins)."""
        self.confusion.update(other.confusion)
        self.log_loss.merge(other.log_loss)
        self.unpredicted += other.unpredicted
        self.scored += other.scored
        self._seen.update(other._seen)
        for c in other._pos:
            if c not in self._pos:
                self._pos[c] = np.zeros(self.bins)
                self._neg[c] = np.zeros(self.bins)
            self._pos[c] += other._pos[c]
            self._neg[c] += other._neg[c]

    @property
    def n(self) -> int:
        return sum(self.confusion.values())

    def classes(self) -> list[str]:
        names = {a for a, _ in self.confusion} | {p for _, p in self.confusion} | set(self._pos)
        return sorted(names)

    def metrics(self, z: float, positive: str | None = None) -> list[Metric]:
        """accuracy, precision, recall, f1, roc_auc (+ roc_auc_bin_error), log_loss."""
        n = self.n
        if n == 0:
            return []
        observed = sorted({a for a, _ in self.confusion} | {p for _, p in self.confusion})
        correct = sum(v for (a, p), v in self.confusion.items() if a == p)
        out = [_metric("accuracy", correct / n, ci.wilson(correct, n, z), n)]
        pos = positive or default_positive(self.classes())
        binary = pos is not None and len(set(observed) | {pos}) <= 2
        if binary:
            assert pos is not None
            out += self._binary(pos, z)
        else:
            out += self._macro(observed, z)
        out += self._auc(pos if binary else None, z)
        if self.log_loss.n:
            ll = self.log_loss
            note = "" if ll.n == n else f"on the {ll.n} of {n} rows with class probabilities"
            out.append(
                _metric(
                    "log_loss",
                    ll.mean,
                    ci.mean_interval(ll.mean, ll.var, ll.n, z),
                    ll.n,
                    False,
                    note,
                )
            )
        return out

    def _counts(self, c: str) -> tuple[int, int, int]:
        tp = self.confusion.get((c, c), 0)
        fp = sum(v for (a, p), v in self.confusion.items() if p == c and a != c)
        fn = sum(v for (a, p), v in self.confusion.items() if a == c and p != c)
        return tp, fp, fn

    def _binary(self, pos: str, z: float) -> list[Metric]:
        n = self.n
        tp, fp, fn = self._counts(pos)
        note = f"positive class {pos!r}"
        f1_den = 2 * tp + fp + fn
        return [
            _metric("precision", tp / (tp + fp) if tp + fp else 0.0, ci.wilson(tp, tp + fp, z),
                    n, note=note),
            _metric("recall", tp / (tp + fn) if tp + fn else 0.0, ci.wilson(tp, tp + fn, z),
                    n, note=note),
            _metric("f1", 2 * tp / f1_den if f1_den else 0.0,
                    ci.f1_interval(tp, fp, fn, n - tp - fp - fn, z), n, note=note),
        ]  # fmt: skip

    def _macro(self, classes: list[str], z: float) -> list[Metric]:
        n = self.n
        prec: list[tuple[float, float]] = []
        rec: list[tuple[float, float]] = []
        f1s: list[tuple[float, float]] = []
        for c in classes:
            tp, fp, fn = self._counts(c)
            prec.append((tp / (tp + fp) if tp + fp else 0.0, tp + fp))
            rec.append((tp / (tp + fn) if tp + fn else 0.0, tp + fn))
            d = 2 * tp + fp + fn
            f1s.append((2 * tp / d if d else 0.0, tp + (fp + fn) / 2))
        note = f"macro average over {len(classes)} classes"
        out = []
        for name, parts in (("precision", prec), ("recall", rec), ("f1", f1s)):
            value = sum(p for p, _ in parts) / len(parts)
            out.append(_metric(name, value, ci.macro_interval(value, parts, z), n, note=note))
        return out

    def _class_auc(self, c: str) -> tuple[float, float, float, float] | None:
        """(auc, bound, n_pos, n_neg) of class c against the rest, None if undefined."""
        pos, neg = self._pos.get(c), self._neg.get(c)
        if pos is None or neg is None or self._seen[c] != self.scored:
            return None
        p, q = float(pos.sum()), float(neg.sum())
        if p == 0 or q == 0:
            return None
        below = np.concatenate(([0.0], np.cumsum(neg)[:-1]))
        auc = float((pos * (below + 0.5 * neg)).sum()) / (p * q)
        bound = 0.5 * float((pos * neg).sum()) / (p * q)
        return auc, bound, p, q

    def _auc(self, pos: str | None, z: float) -> list[Metric]:
        if not self.scored:
            return []
        classes = [pos] if pos is not None else sorted(self._pos)
        parts = [self._class_auc(c) for c in classes]
        if any(p is None for p in parts) or not parts:
            note = "undefined: a class never or always observed, or scores missing for a class"
            return [_metric("roc_auc", None, None, self.scored, note=note)]
        done = [p for p in parts if p is not None]
        auc = sum(p[0] for p in done) / len(done)
        bound = sum(p[1] for p in done) / len(done)
        ses = [ci.hanley_mcneil_se(a, p, q) for a, _, p, q in done]
        se = math.sqrt(sum(s * s for s in ses if s is not None)) / len(done)
        note = f"positive class {pos!r}" if pos is not None else f"one-vs-rest macro ({len(done)})"
        if self.scored != self.n:
            note += f"; on the {self.scored} of {self.n} rows with class probabilities"
        return [
            _metric("roc_auc", auc, ci.se_interval(auc, se, z), self.scored, note=note),
            _metric("roc_auc_bin_error", bound, None, self.scored, False),
        ]


@dataclass
class RegressionAccumulator:
    """Moments of |error|, error^2 and the actual value."""

    abs_error: Moments = field(default_factory=Moments)
    sq_error: Moments = field(default_factory=Moments)
    actual: Moments = field(default_factory=Moments)

    def add(self, actual: Sequence[float], predicted: Sequence[float]) -> None:
        y = np.asarray(actual, dtype=np.float64)
        yhat = np.asarray(predicted, dtype=np.float64)
        ok = np.isfinite(y) & np.isfinite(yhat)
        y, yhat = y[ok], yhat[ok]
        e = y - yhat
        self.abs_error.add(np.abs(e))
        self.sq_error.add(e * e)
        self.actual.add(y)

    def merge(self, other: RegressionAccumulator) -> None:
        self.abs_error.merge(other.abs_error)
        self.sq_error.merge(other.sq_error)
        self.actual.merge(other.actual)

    @property
    def n(self) -> int:
        return self.actual.n

    def metrics(self, z: float) -> list[Metric]:
        n = self.n
        if n == 0:
            return []
        ae, se = self.abs_error, self.sq_error
        sse = se.mean * n
        sst = self.actual.m2
        r2 = (1.0 if sse == 0 else 0.0) if sst == 0 else 1.0 - sse / sst
        mse_ci = ci.mean_interval(se.mean, se.var, n, z)
        return [
            _metric("mae", ae.mean, ci.mean_interval(ae.mean, ae.var, n, z), n, False),
            _metric("rmse", math.sqrt(se.mean), ci.sqrt_interval(mse_ci), n, False),
            _metric("r2", r2, None, n, True, "no interval: reported, not judged"),
        ]


def _delay_edges() -> np.ndarray:
    k = np.arange(DELAY_DECADES * DELAY_BINS_PER_DECADE + 1)
    return np.asarray(10.0 ** (k / DELAY_BINS_PER_DECADE), dtype=np.float64)


DELAY_EDGES = _delay_edges()  # bin 0: < 1 s; bin i: [edge i-1, edge i); last: >= 1e9 s


@dataclass
class DelayHistogram:
    """Time from prediction to outcome, in seconds, on a fixed log-scale histogram."""

    counts: np.ndarray = field(default_factory=lambda: np.zeros(len(DELAY_EDGES) + 1))
    sums: np.ndarray = field(default_factory=lambda: np.zeros(len(DELAY_EDGES) + 1))
    negative: int = 0  # outcomes stamped before their prediction (clock skew)
    total: float = 0.0
    min: float = math.inf
    max: float = -math.inf

    def add(self, seconds: Sequence[float] | np.ndarray) -> None:
        d = np.asarray(seconds, dtype=np.float64)
        d = d[np.isfinite(d)]
        if d.size == 0:
            return
        self.negative += int((d < 0).sum())
        idx = np.searchsorted(DELAY_EDGES, d, side="right")
        np.add.at(self.counts, idx, 1.0)
        np.add.at(self.sums, idx, d)
        self.total += float(d.sum())
        self.min = min(self.min, float(d.min()))
        self.max = max(self.max, float(d.max()))

    def merge(self, other: DelayHistogram) -> None:
        self.counts += other.counts
        self.sums += other.sums
        self.negative += other.negative
        self.total += other.total
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def percentile(self, q: float) -> float | None:
        """The mean of the bin holding the nearest-rank q-th percentile (q in 0..100)."""
        n = self.n
        if n == 0:
            return None
        rank = max(1, math.ceil(q / 100.0 * n))
        i = int(np.searchsorted(np.cumsum(self.counts), rank, side="left"))
        return float(self.sums[i] / self.counts[i])

    def metrics(self) -> list[Metric]:
        n = self.n
        if n == 0:
            return []
        out = [
            _metric(f"label_delay.p{q:g}_s", self.percentile(q), None, n, False)
            for q in DELAY_PERCENTILES
        ]
        note = (
            f"{self.negative} outcome(s) stamped before their prediction" if self.negative else ""
        )
        out.append(_metric("label_delay.mean_s", self.total / n, None, n, False, note))
        out.append(_metric("label_delay.max_s", self.max, None, n, False))
        return out
