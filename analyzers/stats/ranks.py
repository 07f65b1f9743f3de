"""Rank tests on binned counts: Kruskal-Wallis and Mann-Whitney U.

All values in a bin are tied, so each bin contributes its mid rank; the
results equal scipy's tests run on the bin indices of the raw rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import special  # not scipy.stats: its import costs ~1 s of CLI start-up

from ._types import (
    NOTE_INSUFFICIENT,
    NOTE_NUMERIC,
    Bins,
    FloatArray,
    TestResult,
    align_counts,
    as_counts,
    guarded,
    undefined,
)
from .verdict import DEFAULT_THRESHOLDS

NOTE_ONE_BIN = "all mass in one bin"


def _mid_ranks(totals: FloatArray) -> FloatArray:
    """Mid rank of each bin given the pooled count per bin."""
    below = np.cumsum(totals) - totals
    return below + (totals + 1.0) / 2.0


def _tie_factor(totals: FloatArray, n: float) -> float:
    """1 - sum(t^3 - t) / (n^3 - n), computed on shares t/n so huge counts cannot overflow."""
    shares = totals / n
    return (1.0 - float(np.sum(shares * shares * shares))) / (1.0 - 1.0 / (n * n))


@guarded
def kruskal(groups_bins: Sequence[Bins]) -> TestResult:
    """Tie-corrected Kruskal-Wallis H over groups binned alike; effect is epsilon squared.

    Empty groups are ignored. n_reference is the first group's size and
    n_current the sum of the others.
    """
    threshold = DEFAULT_THRESHOLDS["kruskal"]
    counts = [as_counts(g, f"group {i}") for i, g in enumerate(groups_bins)]
    if len({c.size for c in counts}) > 1:
        raise ValueError("all groups must be counted over the same bins")
    sizes = [float(c.sum()) for c in counts]
    n_first, n_rest = (sizes[0], float(sum(sizes[1:]))) if sizes else (0.0, 0.0)
    used = np.array([c for c in counts if c.sum() > 0])
    if used.shape[0] < 2 or used.sum() <= 1:
        return undefined(
            "kruskal", "epsilon_squared", threshold, n_first, n_rest, NOTE_INSUFFICIENT
        )
    totals = used.sum(axis=0)
    n = float(totals.sum())
    tie_factor = _tie_factor(totals, n)
    if tie_factor <= 0:
        return undefined("kruskal", "epsilon_squared", threshold, n_first, n_rest, NOTE_ONE_BIN)
    group_n = used.sum(axis=1)
    mean_rank = used @ _mid_ranks(totals) / group_n
    # Centered form: avoids cancellation of the textbook sum(R^2/n) - 3(N+1).
    h = 12.0 / (n * (n + 1.0)) * float(np.sum(group_n * (mean_rank - (n + 1.0) / 2.0) ** 2))
    h /= tie_factor
    p_value = float(special.chdtrc(used.shape[0] - 1, h))  # = scipy.stats.chi2.sf
    eps2 = h / (n - 1.0)
    return TestResult("kruskal", h, p_value, eps2, "epsilon_squared", threshold, n_first, n_rest)


def kruskal2(reference_bins: Bins, current_bins: Bins) -> TestResult:
    """Two-sample Kruskal-Wallis (reference, current)."""
    return kruskal([reference_bins, current_bins])


@guarded
def mann_whitney(reference_bins: Bins, current_bins: Bins) -> TestResult:
    """Two-sided Mann-Whitney U, normal approximation with tie and continuity correction.

    The statistic is U of the current sample and equals
    ``scipy.stats.mannwhitneyu(current, reference, method="asymptotic")``;
    effect size is |rank-biserial correlation| = |2U / (n1 n2) - 1|.
    """
    threshold = DEFAULT_THRESHOLDS["mann_whitney"]
    ref, cur = align_counts(reference_bins, current_bins)
    n_ref, n_cur = float(ref.sum()), float(cur.sum())
    if n_ref == 0 or n_cur == 0 or n_ref + n_cur <= 1:
        return undefined(
            "mann_whitney", "rank_biserial", threshold, n_ref, n_cur, NOTE_INSUFFICIENT
        )
    totals = ref + cur
    n = n_ref + n_cur
    # (n + 1) - sum(t^3 - t) / (n (n - 1)) in scipy's notation.
    spread = (n + 1.0) * _tie_factor(totals, n)
    if spread <= 0:
        return undefined("mann_whitney", "rank_biserial", threshold, n_ref, n_cur, NOTE_ONE_BIN)
    u_cur = float(cur @ _mid_ranks(totals)) - n_cur * (n_cur + 1.0) / 2.0
    u_max = max(u_cur, n_cur * n_ref - u_cur)
    sd = math.sqrt(n_cur * n_ref / 12.0 * spread)
    if sd == 0:  # only with subnormal counts
        return undefined("mann_whitney", "rank_biserial", threshold, n_ref, n_cur, NOTE_NUMERIC)
    z = (u_max - n_cur * n_ref / 2.0 - 0.5) / sd
    p_value = min(1.0, 2.0 * float(special.ndtr(-z)))
    r = abs(2.0 * u_cur / (n_cur * n_ref) - 1.0)
    return TestResult("mann_whitney", u_cur, p_value, r, "rank_biserial", threshold, n_ref, n_cur)
