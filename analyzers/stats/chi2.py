"""Chi-square test of homogeneity on a 2 x C contingency table; Cohen's w and Cramer's V.

Effects are sample-size free. Pearson's X² of a 2 x C table equals
``n_eff * sum((p - q)² / m)`` with ``n_eff = n1*n2/(n1+n2)`` and ``m`` the pooled
proportions, so ``X² / n_eff`` is Cohen's w² of the change (against the pooled
proportions), whatever the two sample sizes. Under no drift ``E[X²] = C - 1``: the
plug-in w² is biased up by ``(C - 1) / n_eff``, which is subtracted (and the result
floored at 0). Cramer's V, ``sqrt(X² / (n1 + n2))``, shrinks when one sample dwarfs the
other (about 0.1x its balanced value for a 500-row window against a 50k-row baseline),
so it is reported here for two equal samples: ``V = w / 2``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

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


def pearson(ref: FloatArray, cur: FloatArray) -> tuple[float, int, float]:
    """Pearson X², degrees of freedom and n_eff (no Yates correction).

    Categories seen in neither sample are dropped; both samples must be non-empty.
    """
    table = np.vstack([ref, cur])
    table = table[:, table.sum(axis=0) > 0]
    total = float(table.sum())
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / total
    stat = float(np.sum((table - expected) ** 2 / expected))
    n_ref, n_cur = float(ref.sum()), float(cur.sum())
    n_eff = 1.0 / (1.0 / n_ref + 1.0 / n_cur)
    return stat, table.shape[1] - 1, n_eff


def chi2_pvalue(stat: float, dof: int) -> float:
    """Upper tail of the chi-square law (1.0 for no degrees of freedom)."""
    return float(special.chdtrc(dof, stat)) if dof > 0 else 1.0


def corrected_w(stat: float, dof: int, n_eff: float) -> float:
    """Cohen's w with the no-drift bias (dof / n_eff) of its plug-in square removed."""
    return math.sqrt(max(0.0, stat - dof) / n_eff)


def degenerate_note(ref: FloatArray, cur: FloatArray) -> str:
    if ref.sum() == 0 or cur.sum() == 0:
        return NOTE_INSUFFICIENT
    if np.count_nonzero(ref + cur) < 2:
        return "single category"
    return ""


@guarded
def chi2(reference: Counts, current: Counts) -> TestResult:
    """Pearson chi-square homogeneity test; effect size is Cohen's w (bias-corrected).

    The statistic and p-value equal ``scipy.stats.chi2_contingency(table,
    correction=False)``. Categories absent from both samples are dropped; one seen in
    only one sample is kept.
    """
    ref, cur = align_counts(reference, current)
    n_ref, n_cur = float(ref.sum()), float(cur.sum())
    threshold = DEFAULT_THRESHOLDS["chi2"]
    note = degenerate_note(ref, cur)
    if note == NOTE_INSUFFICIENT:
        return undefined("chi2", "cohens_w", threshold, n_ref, n_cur, note)
    if note:  # one category: nothing can differ
        return TestResult(
            "chi2", 0.0, 1.0, 0.0, "cohens_w", threshold, n_ref, n_cur, note, trivial=True
        )
    stat, dof, n_eff = pearson(ref, cur)
    return TestResult(
        "chi2",
        stat,
        chi2_pvalue(stat, dof),
        corrected_w(stat, dof, n_eff),
        "cohens_w",
        threshold,
        n_ref,
        n_cur,
        dof=float(dof),
    )


@guarded
def cramers_v(reference: Counts, current: Counts) -> TestResult:
    """Cramer's V of the change for two equal samples (w / 2, bias-corrected).

    The p-value is the chi-square test's: the effect alone never decides.
    """
    ref, cur = align_counts(reference, current)
    n_ref, n_cur = float(ref.sum()), float(cur.sum())
    threshold = DEFAULT_THRESHOLDS["cramers_v"]
    note = degenerate_note(ref, cur)
    if note == NOTE_INSUFFICIENT:
        return undefined("cramers_v", "cramers_v", threshold, n_ref, n_cur, note)
    if note:
        return TestResult(
            "cramers_v", 0.0, 1.0, 0.0, "cramers_v", threshold, n_ref, n_cur, note, trivial=True
        )
    stat, dof, n_eff = pearson(ref, cur)
    v = corrected_w(stat, dof, n_eff) / 2.0
    return TestResult(
        "cramers_v",
        v,
        chi2_pvalue(stat, dof),
        v,
        "cramers_v",
        threshold,
        n_ref,
        n_cur,
        dof=float(dof),
    )
