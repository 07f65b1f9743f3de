"""Mean comparisons from summary statistics: Welch's t test and one-way ANOVA."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import special  # not scipy.stats: its import costs ~1 s of CLI start-up

from ._types import NOTE_INSUFFICIENT, Summary, TestResult, guarded, undefined
from .verdict import DEFAULT_THRESHOLDS

NOTE_ZERO_VAR = "zero variance in both samples"


def _usable(s: Summary) -> bool:
    return s.n >= 2 and math.isfinite(s.mean) and math.isfinite(s.var)


@guarded
def t_test(reference: Summary, current: Summary) -> TestResult:
    """Welch's unequal-variance t test; effect size is |Cohen's d| (pooled sd).

    The statistic is positive when the current mean is larger; it equals
    ``scipy.stats.ttest_ind(current, reference, equal_var=False)``.
    """
    threshold = DEFAULT_THRESHOLDS["t_test"]
    n1, n2 = reference.n, current.n
    if not (_usable(reference) and _usable(current)):
        return undefined("t_test", "cohens_d", threshold, n1, n2, NOTE_INSUFFICIENT)
    a, b = reference.var / n1, current.var / n2
    if a + b == 0:
        return undefined("t_test", "cohens_d", threshold, n1, n2, NOTE_ZERO_VAR)
    diff = current.mean - reference.mean
    t = diff / math.sqrt(a + b)
    # Welch-Satterthwaite degrees of freedom, written with shares of the total
    # so that tiny variances cannot underflow to 0 / 0.
    wa, wb = a / (a + b), b / (a + b)
    df = 1.0 / (wa * wa / (n1 - 1) + wb * wb / (n2 - 1))
    p_value = float(2.0 * special.stdtr(df, -abs(t)))  # = 2 * scipy.stats.t.sf(|t|, df)
    pooled = ((n1 - 1) * reference.var + (n2 - 1) * current.var) / (n1 + n2 - 2)
    d = abs(diff) / math.sqrt(pooled) if pooled > 0 else math.inf  # inf: see guarded
    return TestResult("t_test", t, min(p_value, 1.0), d, "cohens_d", threshold, n1, n2)


@guarded
def anova(groups: Sequence[Summary]) -> TestResult:
    """One-way ANOVA F test from per-group n/mean/var; effect size is eta squared.

    Equals ``scipy.stats.f_oneway``. Empty groups are ignored; a group of one
    value contributes to the means but not to the within-group variance.
    n_reference is the first group's size, n_current the sum of the others.
    """
    threshold = DEFAULT_THRESHOLDS["anova"]
    n_first = groups[0].n if groups else 0.0
    n_rest = float(sum(g.n for g in groups[1:]))
    used = [
        g
        for g in groups
        if g.n > 0 and math.isfinite(g.mean) and (g.n <= 1 or math.isfinite(g.var))
    ]
    k = len(used)
    n = np.array([g.n for g in used])
    mean = np.array([g.mean for g in used])
    var = np.array([g.var if g.n > 1 else 0.0 for g in used])
    total = float(n.sum())
    if k < 2 or total - k < 1:
        return undefined("anova", "eta_squared", threshold, n_first, n_rest, NOTE_INSUFFICIENT)
    grand = float(n @ mean) / total
    ss_between = float(n @ (mean - grand) ** 2)
    ss_within = float((n - 1.0) @ var)
    if ss_within == 0:
        note = "zero variance within groups"
        return undefined("anova", "eta_squared", threshold, n_first, n_rest, note)
    # Multiplied out: a tiny ss_within / (total - k) could underflow to 0.
    f = ss_between * (total - k) / (ss_within * (k - 1))
    p_value = float(special.fdtrc(k - 1, total - k, f))  # = scipy.stats.f.sf
    eta2 = ss_between / (ss_between + ss_within)
    return TestResult("anova", f, p_value, eta2, "eta_squared", threshold, n_first, n_rest)


def anova2(reference: Summary, current: Summary) -> TestResult:
    """Two-group ANOVA (F equals the pooled-variance t squared); for the registry."""
    return anova([reference, current])
