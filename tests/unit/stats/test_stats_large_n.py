"""Large-sample sanity of the default tests and thresholds (1,000,000 vs 100,000 rows).

Counts are drawn with numpy's multinomial and summaries from the sampling
distributions of the mean and variance, so no raw rows are needed.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from predwatch.analyzers import stats

N_REF, N_CUR = 1_000_000, 100_000
SEEDS = range(20)
K = 10
EDGES = sps.norm.ppf(np.linspace(0.0, 1.0, K + 1)[1:-1])
CATS = {"a": 0.4, "b": 0.3, "c": 0.2, "d": 0.1}


def _summary(rs: np.random.RandomState, n: int, mean: float) -> stats.Summary:
    var = rs.chisquare(n - 1) / (n - 1)
    return stats.Summary(n, rs.normal(mean, 1.0 / np.sqrt(n)), var, -5.0, 5.0)


def _numeric_run(seed: int, shift: float, missing: float) -> list[stats.TestResult]:
    """Every binned, summary and rate test for one numeric feature N(0,1) vs N(shift,1)."""
    rs = np.random.RandomState(seed)
    p = np.diff(np.r_[0.0, sps.norm.cdf(EDGES), 1.0])
    q = np.diff(np.r_[0.0, sps.norm.cdf(EDGES - shift), 1.0])
    rb, cb = rs.multinomial(N_REF, p), rs.multinomial(N_CUR, q)
    s_ref, s_cur = _summary(rs, N_REF, 0.0), _summary(rs, N_CUR, shift)
    miss = (rs.binomial(N_REF, 0.02), N_REF, rs.binomial(N_CUR, missing), N_CUR)
    return [
        stats.ks(rb, cb),
        stats.psi(rb, cb),
        stats.js(rb, cb),
        stats.linf(rb, cb),
        stats.wasserstein(rb, cb, EDGES, s_ref),
        stats.kruskal2(rb, cb),
        stats.mann_whitney(rb, cb),
        stats.t_test(s_ref, s_cur),
        stats.anova2(s_ref, s_cur),
        stats.missing_rate(*miss),
    ]


def _categorical_run(seed: int, moved: float, oov: float) -> list[stats.TestResult]:
    """Every categorical and rate test; `moved` shifts share from 'a' to 'b'."""
    rs = np.random.RandomState(seed)
    p = np.array(list(CATS.values()))
    q = p + np.array([-moved, moved, 0.0, 0.0])
    ref = dict(zip(CATS, rs.multinomial(N_REF, p).astype(float), strict=True))
    cur = dict(zip(CATS, rs.multinomial(N_CUR, q).astype(float), strict=True))
    rates = [(rs.binomial(N_REF, 0.01), N_REF, rs.binomial(N_CUR, r), N_CUR) for r in (0.01, oov)]
    return [
        stats.chi2(ref, cur),
        stats.cramers_v(ref, cur),
        stats.psi(ref, cur),
        stats.js(ref, cur),
        stats.linf(ref, cur),
        stats.missing_rate(*rates[0]),
        stats.oov_rate(*rates[1]),
    ]


def _drifted(results: list[stats.TestResult]) -> dict[str, bool]:
    judged = stats.VerdictPolicy().apply(results)
    return {r.name: bool(r.drifted) for r in judged}


class TestNoFalseAlarms:
    @pytest.mark.parametrize("seed", SEEDS)
    def test_same_distribution_flags_nothing(self, seed: int) -> None:
        """With identical distributions no test of either family is flagged."""
        flags = _drifted(_numeric_run(seed, 0.0, 0.02) + _categorical_run(seed, 0.0, 0.01))
        assert not any(flags.values()), flags


class TestRealShiftsAreFlagged:
    @pytest.mark.parametrize("seed", SEEDS)
    def test_mean_shift_of_0_3_sd(self, seed: int) -> None:
        """A +0.3 sd shift is flagged by most tests, but not PSI (~0.09) nor by the
        eta/epsilon squared of anova/kruskal, which shrink with 10:1 sample sizes."""
        flags = _drifted(_numeric_run(seed, 0.3, 0.02))
        flagged = {n for n, f in flags.items() if f}
        assert flagged == {"ks", "js", "linf", "wasserstein", "t_test", "mann_whitney"}
        assert stats.feature_drifted(stats.VerdictPolicy().apply(_numeric_run(seed, 0.3, 0.02)))

    @pytest.mark.parametrize("seed", SEEDS)
    def test_category_share_moved_by_10_points(self, seed: int) -> None:
        """Moving 10 points of mass between categories is flagged by linf (and the feature)."""
        judged = stats.VerdictPolicy().apply(_categorical_run(seed, 0.10, 0.01))
        assert {r.name: r.drifted for r in judged}["linf"] is True
        assert stats.feature_drifted(judged)

    @pytest.mark.parametrize("seed", SEEDS)
    def test_rates_increase_flags_and_decrease_does_not(self, seed: int) -> None:
        """Missing rate 2% -> 8% and OOV 1% -> 5% are flagged; 2% -> 0.5% is not."""
        assert _drifted(_numeric_run(seed, 0.0, 0.08))["missing_rate"]
        assert _drifted(_categorical_run(seed, 0.0, 0.05))["oov_rate"]
        assert not _drifted(_numeric_run(seed, 0.0, 0.005))["missing_rate"]
