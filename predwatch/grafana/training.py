"""What the baseline says training looked like, in the units the dashboard plots: quantiles
of the prediction score and the expected per-feature rates. Pure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from predwatch.baseline import Baseline, FeatureProfile, NumericProfile

QUANTILES = (0.1, 0.5, 0.9)


def quantile(profile: NumericProfile, q: float) -> float:
    """The `q`-quantile of a binned profile, linear within the bin that holds it.

    The outer bins end at the training min and max. Prometheus' `histogram_quantile`
    interpolates the same way inside the score histogram's buckets, whose bounds are these
    edges, so serving and training quantiles are measured alike.
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} is not within [0, 1]")
    total = sum(profile.counts)
    if total <= 0:
        return math.nan
    bounds = [profile.min, *profile.edges, profile.max]
    target = q * total
    seen = 0.0
    for i, c in enumerate(profile.counts):
        if c > 0 and seen + c >= target:
            lo, hi = bounds[i], max(bounds[i + 1], bounds[i])
            return lo + (hi - lo) * (target - seen) / c
        seen += c
    return profile.max


@dataclass(frozen=True)
class ScoreReference:
    """Training quantiles and mean of the prediction score."""

    quantiles: dict[float, float]
    mean: float


def score_reference(baseline: Baseline | None) -> ScoreReference | None:
    """The score's training quantiles (QUANTILES) and mean, or None without a numeric score."""
    pred = baseline.prediction if baseline else None
    if pred is None or pred.value is None or pred.value.n <= 0:
        return None
    value = pred.value
    qs = {q: quantile(value, q) for q in QUANTILES}
    if not all(math.isfinite(v) for v in qs.values()) or not math.isfinite(value.mean):
        return None
    return ScoreReference(qs, value.mean)


def expected_oov_rate(feature: FeatureProfile) -> float | None:
    """Share of unseen values expected with no drift (None: the feature has no vocabulary).

    A truncated vocabulary makes some OOV normal (at most the `other` share), as the default
    alert rules assume.
    """
    cat = feature.categorical
    if cat is None:
        return None
    return cat.other / cat.n if cat.vocabulary_truncated and cat.n else 0.0
