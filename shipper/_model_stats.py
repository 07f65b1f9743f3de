"""Model statistics for Prometheus, counted by the worker one batch at a time.

Per model version: predictions, their latency and score histograms, predicted label
counts, and per exported feature the missing, unseen (OOV) and out-of-range counts and,
for text, the words and unseen words the annotator wrote into each document (`_enrich`).
The caller's thread never touches this: the encoder hands over one `Observation` per
prediction document it built (`DocBuilder` collects them while metrics are on) and `add`
counts a whole batch under one lock.

Cardinality is bounded by `Limits`: at most `max_versions` versions (later ones count
as version "_other"), labels in the baseline's classes (others: "_other") or, without
classes, the first `max_labels` labels, and only the exported features.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from predwatch import schema as s
from predwatch.baseline import Baseline

OTHER = "_other"
# Upper bounds (ms) of the prediction latency histogram; +Inf is implied.
LATENCY_BUCKETS_MS = (
    1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0,
)  # fmt: skip
# Score buckets when the baseline has no prediction profile: probabilities in tenths.
DEFAULT_SCORE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
# At most this many score buckets (+Inf included): a baseline's 100 quantile bins are
# thinned to its ventiles (each bucket about 5% of the training predictions).
MAX_SCORE_BUCKETS = 20

# (version, latency_ms, prediction value, prediction label, monitor object) of one
# prediction document; the numbers finite or None.
Observation = tuple[str, "float | None", "float | None", "str | None", "Mapping[str, Any] | None"]


@dataclass(frozen=True)
class Feature:
    """An exported feature and which of its counts exist (OOV: categorical; range: numeric;
    token counts: text)."""

    name: str
    oov: bool
    out_of_range: bool
    text: bool = False


@dataclass(frozen=True)
class Limits:
    """What the model statistics export, and how many series at most."""

    features: tuple[Feature, ...] = ()
    max_versions: int = 10
    max_labels: int = 50
    score_bounds: tuple[float, ...] = DEFAULT_SCORE_BUCKETS
    # Share of the baseline's training predictions at or below each bound (empty: unknown).
    score_shares: tuple[float, ...] = ()
    classes: tuple[str, ...] = ()


def limits_for(
    baseline: Baseline | None,
    features: Sequence[str] | None,
    max_features: int,
    max_versions: int,
    max_labels: int,
) -> Limits:
    """The limits of one shipper: features of its baseline (all, or those named, at most
    `max_features` in baseline order) and score buckets at the baseline's quantile edges."""
    exported: list[Feature] = []
    bounds: tuple[float, ...] = DEFAULT_SCORE_BUCKETS
    shares: tuple[float, ...] = ()
    classes: tuple[str, ...] = ()
    if baseline is not None:
        wanted = None if features is None else set(features)
        for f in baseline.features:
            if wanted is None or f.name in wanted:
                exported.append(
                    Feature(
                        f.name,
                        oov=f.type is s.FeatureType.CATEGORICAL,
                        out_of_range=f.type is s.FeatureType.NUMERIC,
                        text=f.type is s.FeatureType.TEXT,
                    )
                )
        p = baseline.prediction
        if p is not None and p.value is not None:
            bounds, shares = score_buckets(p.value.edges, p.value.counts) or (bounds, ())
        classes = baseline.classes
    return Limits(
        features=tuple(exported[:max_features]),
        max_versions=max_versions,
        max_labels=max_labels,
        score_bounds=bounds,
        score_shares=shares,
        classes=classes,
    )


def score_buckets(
    edges: Sequence[float], counts: Sequence[float], most: int = MAX_SCORE_BUCKETS
) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """(bounds, training share at or below each) from a baseline's quantile bins: every
    inner edge, or with more than `most` bins the edges nearest the k/most quantiles.
    None when the profile has no edges or no counts."""
    total = float(sum(counts))
    if not edges or total <= 0:
        return None
    shares = [c / total for c in accumulate(counts)][: len(edges)]
    chosen = list(range(len(edges)))
    if len(edges) + 1 > most:
        chosen = []
        for k in range(1, most):
            i = min(range(len(edges)), key=lambda j: abs(shares[j] - k / most))
            if not chosen or i > chosen[-1]:
                chosen.append(i)
    return tuple(float(edges[i]) for i in chosen), tuple(shares[i] for i in chosen)


class Histogram:
    """Counts per bucket (non-cumulative; the last is +Inf), their number and sum."""

    __slots__ = ("buckets", "count", "sum")

    def __init__(self, n_bounds: int) -> None:
        self.count = 0
        self.sum = 0.0
        self.buckets = [0] * (n_bounds + 1)

    def observe(self, bounds: tuple[float, ...], x: float) -> None:
        self.count += 1
        self.sum += x
        self.buckets[bisect_left(bounds, x)] += 1  # x equal to a bound is in it (`le`)

    def copy(self) -> Histogram:
        out = Histogram(len(self.buckets) - 1)
        out.count, out.sum, out.buckets = self.count, self.sum, list(self.buckets)
        return out


class VersionStats:
    """The counts of one model version."""

    __slots__ = (
        "count",
        "labels",
        "latency",
        "missing",
        "oov",
        "oov_tokens",
        "out_of_range",
        "score",
        "tokens",
    )

    def __init__(self, limits: Limits) -> None:
        n = len(limits.features)
        self.count = 0
        self.latency = Histogram(len(LATENCY_BUCKETS_MS))
        self.score = Histogram(len(limits.score_bounds))
        self.labels: dict[str, int] = {}
        self.missing = [0] * n
        self.oov = [0] * n
        self.out_of_range = [0] * n
        self.tokens = [0] * n  # text features: words, and words not in the vocabulary
        self.oov_tokens = [0] * n

    def copy(self) -> VersionStats:
        out = VersionStats.__new__(VersionStats)
        out.count = self.count
        out.latency, out.score = self.latency.copy(), self.score.copy()
        out.labels = dict(self.labels)
        out.missing, out.oov = list(self.missing), list(self.oov)
        out.out_of_range = list(self.out_of_range)
        out.tokens, out.oov_tokens = list(self.tokens), list(self.oov_tokens)
        return out


_MISSING = s.MISSING.split(".", 1)[1]
_OOV = s.OOV.split(".", 1)[1]
_OUT_OF_RANGE = s.OUT_OF_RANGE.split(".", 1)[1]
_TEXT = s.TEXT.split(".", 1)[1]


class ModelStats:
    """Per-version counts of one shipper (only while metrics are enabled)."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.lock = threading.Lock()
        fs = self.limits.features
        self._all = {f.name: i for i, f in enumerate(fs)}
        self._oov = {f.name: i for i, f in enumerate(fs) if f.oov}
        self._range = {f.name: i for i, f in enumerate(fs) if f.out_of_range}
        self._text = tuple(
            (i, f"{f.name}.{s.TEXT_TOKENS}", f"{f.name}.{s.TEXT_OOV_TOKENS}")
            for i, f in enumerate(fs)
            if f.text
        )
        self.versions: dict[str, VersionStats] = {}

    def add(self, batch: Sequence[Observation]) -> None:
        """Count the observations of one batch."""
        if not batch:
            return
        lim = self.limits
        features = lim.features
        with self.lock:
            for version, ms, value, label, monitor in batch:
                vs = self._version(version)
                vs.count += 1
                if ms is not None:
                    vs.latency.observe(LATENCY_BUCKETS_MS, ms)
                if value is not None:
                    vs.score.observe(lim.score_bounds, value)
                if label is not None:
                    key = self._label(vs, label)
                    vs.labels[key] = vs.labels.get(key, 0) + 1
                if monitor is not None and features:
                    _count_flags(vs.missing, monitor.get(_MISSING), self._all)
                    _count_flags(vs.oov, monitor.get(_OOV), self._oov)
                    _count_flags(vs.out_of_range, monitor.get(_OUT_OF_RANGE), self._range)
                    if self._text:
                        self._count_tokens(vs, monitor.get(_TEXT))

    def _count_tokens(self, vs: VersionStats, text: Mapping[str, Any] | None) -> None:
        if not text:
            return
        for i, tokens, oov in self._text:
            vs.tokens[i] += text.get(tokens) or 0
            vs.oov_tokens[i] += text.get(oov) or 0

    def _version(self, version: str) -> VersionStats:
        vs = self.versions.get(version)
        if vs is None:
            if len(self.versions) >= self.limits.max_versions and version != OTHER:
                return self._version(OTHER)
            vs = self.versions[version] = VersionStats(self.limits)
        return vs

    def _label(self, vs: VersionStats, label: str) -> str:
        classes = self.limits.classes
        if classes:
            return label if label in classes else OTHER
        if label in vs.labels or len(vs.labels) < self.limits.max_labels:
            return label
        return OTHER

    def snapshot(self) -> dict[str, VersionStats]:
        with self.lock:
            return {v: c.copy() for v, c in self.versions.items()}


def _count_flags(counts: list[int], flags: Mapping[str, int] | None, at: Mapping[str, int]) -> None:
    """Add the set flags of one document to `counts` (position of a feature: `at`)."""
    # Most documents flag nothing: one C-level scan decides, per group.
    if flags and any(flags.values()):
        for name, v in flags.items():
            if v:
                i = at.get(name)
                if i is not None:
                    counts[i] += 1
