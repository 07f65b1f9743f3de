"""Chi-square test of homogeneity on a 2 x C contingency table, and Cramer's V."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps

from ._types import (
    NOTE_INSUFFICIENT,
    Counts,
    FloatArray,
    TestResult,
    align_counts,
    guarded,
    undefined,
)
from .verdict import DEFAULT_THRESHOLDS


def _pearson(ref: FloatArray, cur: FloatArray) -> tuple[float, int, float]:
    """Pearson chi-square, degrees of freedom and grand total (no Yates correction)."""
    table = np.vstack([ref, cur])
    table = table[:, table.sum(axis=0) > 0]  # categories seen in neither sample
    total = float(table.sum())
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / total
    stat = float(np.sum((table - expected) ** 2 / expected))
    return stat, table.shape[1] - 1, total


def _degenerate_note(ref: FloatArray, cur: FloatArray) -> str:
    if ref.sum() == 0 or cur.sum() == 0:
        return NOTE_INSUFFICIENT
    if np.count_nonzero(ref + cur) < 2:
        return "single category"
    return ""


@guarded
def chi2(reference: Counts, current: Counts) -> TestResult:
    """Pearson chi-square homogeneity test; effect size is Cramer's V.

    Equals ``scipy.stats.chi2_contingency(table, correction=False)``. Categories
    absent from both samples are dropped; one seen in only one sample is kept.
    """
    ref, cur = align_counts(reference, current)
    n_ref, n_cur = float(ref.sum()), float(cur.sum())
    threshold = DEFAULT_THRESHOLDS["chi2"]
    note = _degenerate_note(ref, cur)
    if note:
        return undefined("chi2", "cramers_v", threshold, n_ref, n_cur, note)
    stat, dof, total = _pearson(ref, cur)
    p_value = float(sps.chi2.sf(stat, dof))
    v = math.sqrt(stat / total)  # min(rows - 1, cols - 1) == 1 for two rows
    return TestResult("chi2", stat, p_value, v, "cramers_v", threshold, n_ref, n_cur)


@guarded
def cramers_v(reference: Counts, current: Counts) -> TestResult:
    """Cramer's V of the 2 x C table (effect only, no p-value).

    Note that V depends on the ratio of the two sample sizes: the same change
    in frequencies gives a smaller V when one sample dwarfs the other.
    """
    ref, cur = align_counts(reference, current)
    n_ref, n_cur = float(ref.sum()), float(cur.sum())
    threshold = DEFAULT_THRESHOLDS["cramers_v"]
    note = _degenerate_note(ref, cur)
    if note:
        return undefined("cramers_v", "cramers_v", threshold, n_ref, n_cur, note)
    stat, _, total = _pearson(ref, cur)
    v = math.sqrt(stat / total)
    return TestResult("cramers_v", v, None, v, "cramers_v", threshold, n_ref, n_cur)
