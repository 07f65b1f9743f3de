"""Per-segment profiles of training data (`baseline build --segment-by FIELD`).

Two more passes over the data once the baseline is built: the first counts rows per value of
FIELD, the second profiles the top `segments` values (and "(other)", every other row) on the
baseline's own bin edges, frequency tables and vocabularies, so serving segments fold onto
the same cells. Every part the baseline judges is profiled: numeric and categorical
features, text features (missing values, and the tokens of the held-out split outside the
vocabulary: the segment's own no-drift OOV rate, measured as the baseline measures its own)
and the predictions (value bins, label counts). Memory: the distinct values of FIELD, plus
segments x (bins + top values + 5 numbers per text feature) per feature.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from predwatch.analyzers.profile_stats import holdout_mask
from predwatch.analyzers.segments import OTHER_SEGMENT
from predwatch.baseline import (
    Baseline,
    BaselineError,
    CategoricalProfile,
    FeatureProfile,
    NumericProfile,
    PredictionProfile,
    SegmentProfile,
    SegmentProfiles,
    TextProfile,
    category_key,
)
from predwatch.baseline_segments import text_profile

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


@dataclass
class _Text:
    """Documents, missing values, and the held-out split's tokens in and out of the
    baseline's vocabulary (the vocabulary comes from the other rows, so this is the OOV rate
    of unseen data with no drift, as the baseline's own expected_oov_rate)."""

    docs: int = 0
    missing: int = 0
    heldout_docs: int = 0
    tokens: int = 0
    oov_tokens: int = 0

    def add(self, s: pd.Series, held: np.ndarray, like: TextProfile) -> None:
        # The missing rule of the baseline's TextAccumulator: None/NaN and "".
        missing = s.isna().to_numpy() | (s.astype(object) == "").to_numpy()
        self.missing += int(missing.sum())
        self.docs += int((~missing).sum())
        for text in s[~missing & held].tolist():
            toks = like.tokenizer.tokens(str(text))
            self.heldout_docs += 1
            self.tokens += len(toks)
            self.oov_tokens += sum(1 for tok in toks if tok not in like.vocabulary)

    def profile(self, like: TextProfile) -> TextProfile:
        return text_profile(like, self.docs, self.heldout_docs, self.tokens, self.oov_tokens)


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
    *,
    predictions: Mapping[str, Any] | None = None,
    holdout: float = 0.1,
    seed: int = 0,
) -> tuple[SegmentProfiles, ...]:
    """The top `segments` values of each field profiled, plus (other); `frames` gives a
    fresh pass over the data each call. `predictions`: the column of the prediction's
    "value" and/or "label"; `holdout` and `seed`: the baseline's held-out split (text)."""
    if not 1 <= segments <= MAX_SEGMENTS:
        raise BaselineError(f"--segments must lie between 1 and {MAX_SEGMENTS}, got {segments}")
    split = _Split(dict(predictions or {}), holdout, seed)
    out = []
    for name in fields:
        values = _top_values(frames(), name, segments)
        out.append(SegmentProfiles(name, _profile(frames(), baseline, name, values, split)))
    return tuple(out)


@dataclass(frozen=True)
class _Split:
    """Where the prediction columns are, and the baseline's held-out split."""

    predictions: dict[str, Any]  # "value" / "label" -> column label
    holdout: float
    seed: int


def _profile(
    frames: Iterable[pd.DataFrame],
    baseline: Baseline,
    name: str,
    values: tuple[str, ...],
    split: _Split,
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
    texts = {fp.name: {k: _Text() for k in keys} for fp in baseline.features if fp.text}
    pred = baseline.prediction
    value_col = split.predictions.get("value") if pred and pred.value else None
    label_col = split.predictions.get("label") if pred and pred.label else None
    pv = {k: _Numeric(len(pred.value.edges) + 1) for k in keys} if pred and pred.value else {}
    pl = {k: _Categorical() for k in keys}
    rows = dict.fromkeys(keys, 0)
    index = {v: i for i, v in enumerate(values)}
    first_row = 0
    for frame in frames:
        seg = np.asarray([index.get(k, len(values)) for k in _keys(frame[name])])
        held = holdout_mask(first_row, len(frame), split.holdout, split.seed)
        first_row += len(frame)
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
                elif fp.text is not None:
                    texts[fp.name][k].add(part[fp.name], held[mask], fp.text)
            if pred and pred.value and value_col in part.columns:
                x = pd.to_numeric(part[value_col], errors="coerce").to_numpy(dtype=float)
                pv[k].add(x, np.asarray(pred.value.edges))
            if pred and pred.label and label_col in part.columns:
                pl[k].add(_keys(part[label_col]), pred.label.frequencies)
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
            elif fp.text is not None and texts[fp.name][k].tokens > 0:
                # Without held-out tokens the segment's OOV rate is unknown: not stored,
                # and reported as not in the baseline for this segment.
                tacc = texts[fp.name][k]
                tprof = tacc.profile(fp.text)
                features.append(FeatureProfile(fp.name, fp.type, rows[k], tacc.missing, text=tprof))
        prediction = None
        if pred is not None and (value_col or label_col):
            prediction = PredictionProfile(
                pred.kind,
                pv[k].profile(pred.value.edges) if pred.value and value_col else None,
                pl[k].profile(pred.label) if pred.label and label_col else None,
                pred.classes,
            )
        out.append(SegmentProfile(k, rows[k], tuple(features), prediction))
    return tuple(out)
