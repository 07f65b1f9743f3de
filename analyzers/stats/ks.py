"""Two-sample Kolmogorov-Smirnov test on binned counts."""

from __future__ import annotations

import numpy as np

from ._types import NOTE_INSUFFICIENT, Bins, TestResult, align_counts, guarded, undefined
from .verdict import DEFAULT_THRESHOLDS


@guarded
def ks(reference_bins: Bins, current_bins: Bins) -> TestResult:
    """KS test with the empirical CDFs compared only at the K-1 inner bin edges.

    D is a lower bound of the raw-data statistic (off by at most the largest bin
    mass). The p-value is Smirnov's asymptotic law with n = n1*n2/(n1+n2), as
    ``scipy.stats.ks_2samp(method="asymp")`` computes it.
    """
    ref, cur = align_counts(reference_bins, current_bins)
    n_ref, n_cur = float(ref.sum()), float(cur.sum())
    threshold = DEFAULT_THRESHOLDS["ks"]
    if n_ref == 0 or n_cur == 0:
        return undefined("ks", "ks_d", threshold, n_ref, n_cur, NOTE_INSUFFICIENT)
    # CDFs at the inner edges: the last bin always closes at 1 for both samples.
    gap = np.cumsum(cur)[:-1] / n_cur - np.cumsum(ref)[:-1] / n_ref
    d = float(np.max(np.abs(gap))) if gap.size else 0.0
    # n1*n2/(n1+n2) written without the product (no overflow); beyond 1e18 the
    # finite-n law equals the limiting one and scipy cannot take infinity.
    en = min(1e18, max(1.0, float(np.round(1.0 / (1.0 / n_ref + 1.0 / n_cur)))))
    # scipy.special has no two-sided finite-n Kolmogorov law: import scipy.stats (about 1 s)
    # only when a KS test runs, not with the package
    from scipy import stats as sps

    p_value = float(np.clip(sps.kstwo.sf(d, en), 0.0, 1.0))
    single = np.count_nonzero(ref + cur) == 1
    note = "all mass in one bin" if single else ""
    return TestResult("ks", d, p_value, d, "ks_d", threshold, n_ref, n_cur, note, trivial=single)
