"""Per-segment profiles of training data (`baseline build --segment-by FIELD`).

Two more passes over the data once the baseline is built: the first counts rows per value of
FIELD, the second profiles the top `segments` values (and "(other)", every other row) on the
baseline's own bin edges and frequency table, so serving segments fold onto the same cells.
Numeric and categorical features are profiled; text features and the predictions are not.
Memory: the distinct values of FIELD, plus segments x (bins + top values) per feature.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from predwatch.analyzers.segments import OTHER_SEGMENT
from predwatch.baseline import (
    Baseline,
    BaselineError,
    CategoricalProfile,
    FeatureProfile,
    NumericProfile,
    SegmentProfile,
    SegmentProfiles,
    category_key,
)

DEFAULT_SEGMENTS = 20
MAX_SEGMENTS = 100


def _keys(s: pd.Series) -> np.ndarray:
    """The segment value of every row (category_key; None for missing)."""
    return np.asarray([category_key(v) for v in s.tolist()], dtype=object)


@dataclass
class _Numeric:
    bins: int
    counts: np.ndarray = field(init=False)
    n: int = 0
    total: float = 0.0
    squares: float = 0.0
    low: float = np.inf
    high: float = -np.inf
    missing: int = 0

    def __post_init__(self) -> None:
        self.counts = np.zeros(self.bins)

    def add(self, x: np.ndarray, edges: np.ndarray) -> None:
        ok = x[np.isfinite(x)]
        self.missing += int(x.size - ok.size)
        if not ok.size:
            return
        # [e(i-1), e(i)): the bins of the range aggregation on the baseline's edges.
        self.counts += np.bincount(np.searchsorted(edges, ok, side="right"), minlength=self.bins)
        self.n += int(ok.size)
        self.total += float(ok.sum())
        self.squares += float(np.square(ok).sum())
        self.low, self.high = min(self.low, float(ok.min())), max(self.high, float(ok.max()))

    def profile(self, edges: tuple[float, ...]) -> NumericProfile:
        n = self.n
        mean = self.total / n if n else float("nan")
        var = max(0.0, (self.squares - n * mean * mean) / (n - 1)) if n > 1 else float("nan")
        low, high = (self.low, self.high) if n else (float("nan"), float("nan"))
        return NumericProfile(edges, tuple(map(float, self.counts)), mean, var, low, high, n)


@dataclass
class _Categorical:
    top: dict[str, int] = field(default_factory=dict)
    other: int = 0
    missing: int = 0

    def add(self, keys: np.ndarray, table: dict[str, int]) -> None:
        for k in keys.tolist():
            if k is None:
                self.missing += 1
            elif k in table:
                self.top[k] = self.top.get(k, 0) + 1
            else:
                self.other += 1

    def profile(self, like: CategoricalProfile) -> CategoricalProfile:
        n = sum(self.top.values()) + self.other
        return CategoricalProfile(dict(self.top), self.other, like.vocabulary, n, True)


def _top_values(frames: Iterable[pd.DataFrame], field_name: str, segments: int) -> tuple[str, ...]:
    counts: dict[str, int] = {}
    for frame in frames:
        if field_name not in frame.columns:
            raise BaselineError(f"--segment-by {field_name}: the data has no column {field_name!r}")
        keys, n = np.unique(
            np.asarray([k for k in _keys(frame[field_name]) if k is not None], dtype=str),
            return_counts=True,
        )
        for k, c in zip(keys.tolist(), n.tolist(), strict=True):
            counts[k] = counts.get(k, 0) + int(c)
    ranked = sorted(counts, key=lambda k: (-counts[k], k))
    return tuple(ranked[:segments])


def segment_profiles(
    frames: Callable[[], Iterator[pd.DataFrame]],
    baseline: Baseline,
    fields: Sequence[str],
    segments: int = DEFAULT_SEGMENTS,
) -> tuple[SegmentProfiles, ...]:
    """The top `segments` values of each field profiled, plus (other); `frames` gives a
    fresh pass over the data each call."""
    if not 1 <= segments <= MAX_SEGMENTS:
        raise BaselineError(f"--segments must lie between 1 and {MAX_SEGMENTS}, got {segments}")
    out = []
    for name in fields:
        values = _top_values(frames(), name, segments)
        out.append(SegmentProfiles(name, _profile(frames(), baseline, name, values)))
    return tuple(out)


def _profile(
    frames: Iterable[pd.DataFrame], baseline: Baseline, name: str, values: tuple[str, ...]
) -> tuple[SegmentProfile, ...]:
    keys = (*values, OTHER_SEGMENT)
    nums = {
        fp.name: {k: _Numeric(len(fp.numeric.edges) + 1) for k in keys}
        for fp in baseline.features
        if fp.numeric is not None
    }
    cats = {
        fp.name: {k: _Categorical() for k in keys}
        for fp in baseline.features
        if fp.categorical is not None
    }
    rows = dict.fromkeys(keys, 0)
    index = {v: i for i, v in enumerate(values)}
    for frame in frames:
        seg = np.asarray([index.get(k, len(values)) for k in _keys(frame[name])])
        for i, k in enumerate(keys):
            mask = seg == i
            rows[k] += int(mask.sum())
            if not mask.any():
                continue
            part = frame.loc[mask]
            for fp in baseline.features:
                if fp.name not in part.columns:
                    continue
                if fp.numeric is not None:
                    x = pd.to_numeric(part[fp.name], errors="coerce").to_numpy(dtype=float)
                    nums[fp.name][k].add(x, np.asarray(fp.numeric.edges))
                elif fp.categorical is not None:
                    cats[fp.name][k].add(_keys(part[fp.name]), fp.categorical.frequencies)
    out = []
    for k in keys:
        features = []
        for fp in baseline.features:
            if fp.numeric is not None:
                acc = nums[fp.name][k]
                prof = acc.profile(fp.numeric.edges)
                features.append(
                    FeatureProfile(fp.name, fp.type, rows[k], acc.missing, numeric=prof)
                )
            elif fp.categorical is not None:
                cacc = cats[fp.name][k]
                cprof = cacc.profile(fp.categorical)
                features.append(
                    FeatureProfile(fp.name, fp.type, rows[k], cacc.missing, categorical=cprof)
                )
        out.append(SegmentProfile(k, rows[k], tuple(features)))
    return tuple(out)
