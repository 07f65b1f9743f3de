"""Rate comparisons (missing, out-of-vocabulary and out-of-range values).

Only an increase of these rates is an alarm (fewer missing or unseen values is not drift),
so their p-values are one-sided: P(Z >= z) under no change. Two serving windows are
compared with the two-proportion z test. The out-of-range share against the training
sample itself needs its own null, see ``out_of_range_rate``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from ._types import NOTE_INSUFFICIENT, NOTE_NUMERIC, FloatArray, TestResult, guarded, undefined
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


# Terms of the beta-binomial tail summed per numpy call (bounded memory at any window size).
_CHUNK = 65_536


def _betabinom_sf(k: float, m: float, a: float, b: float) -> float:
    """P(K >= k) for K ~ BetaBinomial(m, a, b), summed from the log pmf (scipy.special only).

    Below the mean the complement of the short lower sum is taken; above it the tail
    terms decrease, and the sum stops once they no longer change it.
    """
    k, m = math.ceil(k), math.floor(m)
    if k <= 0:
        return 1.0
    if k > m:
        return 0.0
    const = float(special.gammaln(m + 1) - special.betaln(a, b))

    def pmf(lo: int, hi: int) -> FloatArray:
        j = np.arange(lo, hi, dtype=np.float64)
        log: FloatArray = const - special.gammaln(j + 1) - special.gammaln(m - j + 1)
        out: FloatArray = np.exp(log + special.betaln(j + a, m - j + b))
        return out

    if k <= m * a / (a + b):
        below = 0.0
        for lo in range(0, k, _CHUNK):
            below += float(pmf(lo, min(k, lo + _CHUNK)).sum())
        return min(1.0, max(0.0, 1.0 - below))
    total = 0.0
    for lo in range(k, m + 1, _CHUNK):
        terms = pmf(lo, min(m + 1, lo + _CHUNK))
        total += float(terms.sum())
        if terms[-1] <= total * 1e-17:
            break
    return min(1.0, total)


def quantile_exceedance(above: float, n: float, m: float, q: float) -> float:
    """P(K >= above): of `n` new values, how many lie beyond the `q`-quantile of `m` earlier
    values of the same distribution (the p-value of "the upper tail grew").

    The earlier sample's q-quantile lies at or above its r-th smallest value,
    r = floor(q (m - 1)) + 1 (numpy's and Elasticsearch's percentiles interpolate between
    neighbouring values, at or above this one). The share of the distribution beyond the
    r-th of m values is Beta(m - r + 1, r), shared by every new value, so the count beyond
    it among n new values is BetaBinomial(n, m - r + 1, r) for a continuous variable: the
    earlier sample's own noise is in the null (a p95 of 20 values is nearly their maximum).
    A threshold above that value, or ties at it, only make values beyond it rarer, so the
    p-value is conservative.
    """
    if m < 1 or n < 1:
        return 1.0
    r = min(math.floor(q * (math.floor(m) - 1)) + 1, math.floor(m))
    return _betabinom_sf(above, n, math.floor(m) - r + 1.0, float(r))


@guarded
def out_of_range_rate(
    ref_out: float,
    ref_total: float,
    cur_out: float,
    cur_total: float,
    range_sample: bool = False,
) -> TestResult:
    """Test for an increase of the share of values outside the training [min, max].

    Against another serving window (both counted against the same training range) this is
    the one-sided two-proportion z test of ``missing_rate``. Against the training sample
    itself (``range_sample``: the reference is the ``ref_total`` values that set min and
    max), the reference share is 0 by construction and would flag any serving value beyond
    the extremes. The honest null is what a new sample from the same distribution shows:
    each value falls outside the extremes of n training values with probability
    2 / (n + 1), and the count of such values among m serving values is exactly
    BetaBinomial(m, 2, n - 1) for a continuous column (the share beyond the extremes is
    Beta(2, n - 1) distributed, shared by the whole window). Ties at the extremes only
    make values outside rarer, so the p-value P(K >= k) is exact or conservative. The
    effect is |Cohen's h| between the current share and 2 / (n + 1); the statistic is the
    standardised excess ``(k - m p0) / sd``.
    """
    name = "out_of_range_rate"
    if not range_sample:
        return two_proportions(name, ref_out, ref_total, cur_out, cur_total, increase_only=True)
    _check(cur_out, cur_total, f"{name} current")
    threshold = DEFAULT_THRESHOLDS[name]
    if ref_total < 2 or cur_total == 0:
        note = f"{NOTE_INSUFFICIENT}: the range needs 2 training values and 1 serving value"
        return undefined(name, "cohens_h", threshold, ref_total, cur_total, note)
    n, m = ref_total, cur_total
    p0 = 2.0 / (n + 1.0)
    a, b = 2.0, n - 1.0
    var = m * a * b * (a + b + m) / ((a + b) ** 2 * (a + b + 1.0))
    z = (cur_out - m * p0) / math.sqrt(var)
    p_value = _betabinom_sf(cur_out, m, a, b)
    h = abs(2.0 * math.asin(math.sqrt(cur_out / m)) - 2.0 * math.asin(math.sqrt(p0)))
    return TestResult(name, z, p_value, h, "cohens_h", threshold, n, m)
