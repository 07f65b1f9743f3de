"""Rate comparisons (missing values, out-of-vocabulary values): two-proportion z test.

Only an increase of these rates is an alarm (fewer missing or unseen values is not drift),
so their p-values are one-sided: P(Z >= z) under no change.
"""

from __future__ import annotations

import math

from scipy import special

from ._types import NOTE_INSUFFICIENT, NOTE_NUMERIC, TestResult, guarded, undefined
from .verdict import DEFAULT_THRESHOLDS


def _check(hits: float, total: float, label: str) -> None:
    if not (math.isfinite(hits) and math.isfinite(total)):
        raise ValueError(f"{label}: counts must be finite")
    if hits < 0 or total < 0 or hits > total:
        raise ValueError(f"{label}: need 0 <= count <= total, got {hits!r} of {total!r}")


@guarded
def two_proportions(
    name: str,
    ref_hits: float,
    ref_total: float,
    cur_hits: float,
    cur_total: float,
    *,
    increase_only: bool = False,
) -> TestResult:
    """Pooled two-proportion z test; effect size is |Cohen's h|.

    The statistic is positive when the current rate is higher. z squared equals
    the chi-square of the 2 x 2 table without Yates' correction. With
    ``increase_only`` the p-value is one-sided (current rate higher).
    """
    _check(ref_hits, ref_total, f"{name} reference")
    _check(cur_hits, cur_total, f"{name} current")
    threshold = DEFAULT_THRESHOLDS[name]
    if ref_total == 0 or cur_total == 0:
        return undefined(name, "cohens_h", threshold, ref_total, cur_total, NOTE_INSUFFICIENT)
    p1, p2 = ref_hits / ref_total, cur_hits / cur_total
    pooled = (ref_hits + cur_hits) / (ref_total + cur_total)
    h = abs(2.0 * math.asin(math.sqrt(p2)) - 2.0 * math.asin(math.sqrt(p1)))
    if pooled in (0.0, 1.0):
        # Both rates are 0 (or both 1): nothing changed and z is 0/0.
        note = f"rate is {pooled:g} in both samples"
        return TestResult(
            name, 0.0, 1.0, h, "cohens_h", threshold, ref_total, cur_total, note, trivial=True
        )
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / ref_total + 1.0 / cur_total))
    if not 0.0 < se < math.inf:  # only with subnormal counts
        return undefined(name, "cohens_h", threshold, ref_total, cur_total, NOTE_NUMERIC)
    z = (p2 - p1) / se
    if increase_only:
        p_value = float(special.ndtr(-z))
    else:
        p_value = min(1.0, 2.0 * float(special.ndtr(-abs(z))))
    return TestResult(name, z, p_value, h, "cohens_h", threshold, ref_total, cur_total)


def missing_rate(
    ref_missing: float, ref_total: float, cur_missing: float, cur_total: float
) -> TestResult:
    """Test for an increase of the share of missing values (``*_total`` counts all rows)."""
    return two_proportions(
        "missing_rate", ref_missing, ref_total, cur_missing, cur_total, increase_only=True
    )


def oov_rate(ref_oov: float, ref_total: float, cur_oov: float, cur_total: float) -> TestResult:
    """Test for an increase of the share of values outside the reference vocabulary."""
    return two_proportions("oov_rate", ref_oov, ref_total, cur_oov, cur_total, increase_only=True)
