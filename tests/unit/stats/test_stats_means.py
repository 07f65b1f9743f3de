"""Tests for predwatch.analyzers.stats.means (Welch t test and one-way ANOVA)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from predwatch.analyzers import stats
from predwatch.analyzers.stats import Summary


class TestTTest:
    @pytest.mark.parametrize(
        ("shift", "scale", "seed"), [(0.0, 1.0, 0), (0.2, 2.0, 1), (1.0, 0.5, 2)]
    )
    def test_matches_scipy_welch_on_raw_rows(self, shift: float, scale: float, seed: int) -> None:
        """t and p equal scipy's Welch test (current vs reference) to 1e-9."""
        rs = np.random.RandomState(seed)
        ref, cur = rs.normal(5.0, 1.0, 800), rs.normal(5.0 + shift, scale, 300)
        r = stats.t_test(Summary.from_values(ref), Summary.from_values(cur))
        raw = sps.ttest_ind(cur, ref, equal_var=False)
        assert (r.statistic, r.p_value) == pytest.approx((raw.statistic, raw.pvalue), rel=1e-9)

    def test_cohens_d_uses_pooled_sd(self) -> None:
        """The effect size is |mean difference| / pooled sample sd."""
        ref, cur = Summary(10.0, 0.0, 4.0), Summary(30.0, -1.0, 1.0)
        pooled = math.sqrt((9 * 4.0 + 29 * 1.0) / 38)
        assert stats.t_test(ref, cur).effect_size == pytest.approx(1.0 / pooled, rel=1e-12)

    def test_statistic_sign_follows_current(self) -> None:
        """A larger current mean gives a positive statistic."""
        r = stats.t_test(Summary(50.0, 0.0, 1.0), Summary(50.0, 0.5, 1.0))
        assert r.statistic is not None and r.statistic > 0

    @pytest.mark.parametrize(
        ("ref", "cur", "note"),
        [
            (Summary(0.0, math.nan, math.nan), Summary(10.0, 1.0, 1.0), "insufficient data"),
            (Summary(10.0, 1.0, 1.0), Summary(0.0, math.nan, math.nan), "insufficient data"),
            (Summary(1.0, 1.0, math.nan), Summary(10.0, 1.0, 1.0), "insufficient data"),
            (Summary(10.0, 1.0, 0.0), Summary(10.0, 1.0, 0.0), "zero variance in both samples"),
            (Summary(10.0, 1.0, 0.0), Summary(10.0, 2.0, 0.0), "zero variance in both samples"),
        ],
    )
    def test_degenerate_inputs_give_a_note(self, ref: Summary, cur: Summary, note: str) -> None:
        """Empty samples, n=1 and zero variance return None values with a note."""
        r = stats.t_test(ref, cur)
        assert (r.statistic, r.p_value, r.effect_size, r.note) == (None, None, None, note)

    def test_zero_variance_on_one_side(self) -> None:
        """A constant sample against a varying one is still a valid Welch test."""
        r = stats.t_test(Summary(10.0, 1.0, 0.0), Summary(20.0, 1.5, 1.0))
        assert r.p_value is not None and 0.0 < r.p_value < 1.0


class TestAnova:
    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_matches_scipy_f_oneway_on_raw_rows(self, seed: int) -> None:
        """F and p equal scipy.stats.f_oneway to 1e-9; eta squared is SSB/SST."""
        rs = np.random.RandomState(seed)
        groups = [rs.normal(m, s, n) for m, s, n in [(0, 1, 120), (0.3, 1.5, 80), (0.1, 0.7, 60)]]
        r = stats.anova([Summary.from_values(g) for g in groups])
        raw = sps.f_oneway(*groups)
        assert (r.statistic, r.p_value) == pytest.approx((raw.statistic, raw.pvalue), rel=1e-9)
        pooled = np.concatenate(groups)
        ssb = sum(g.size * (g.mean() - pooled.mean()) ** 2 for g in groups)
        sst = ((pooled - pooled.mean()) ** 2).sum()
        assert r.effect_size == pytest.approx(ssb / sst, rel=1e-9)
        assert (r.n_reference, r.n_current) == (120, 140)

    def test_two_groups_equal_student_t_squared(self) -> None:
        """anova2 on two groups gives F = t^2 of the pooled-variance t test."""
        rs = np.random.RandomState(3)
        a, b = rs.normal(0, 1, 40), rs.normal(0.5, 1, 50)
        r = stats.anova2(Summary.from_values(a), Summary.from_values(b))
        assert r.statistic == pytest.approx(sps.ttest_ind(a, b).statistic ** 2, rel=1e-9)

    def test_groups_of_one_value_and_empty_groups(self) -> None:
        """A single-value group counts toward the means; empty groups are ignored."""
        groups = [np.array([1.0, 2.0, 3.0]), np.array([5.0]), np.array([2.0, 4.0])]
        summaries = [Summary.from_values(g) for g in groups] + [Summary.from_values([])]
        r = stats.anova(summaries)
        assert r.statistic == pytest.approx(sps.f_oneway(*groups).statistic, rel=1e-9)

    @pytest.mark.parametrize(
        ("groups", "note"),
        [
            ([], "insufficient data"),
            ([Summary(10.0, 1.0, 1.0)], "insufficient data"),
            ([Summary(10.0, 1.0, 1.0), Summary(0.0, math.nan, math.nan)], "insufficient data"),
            ([Summary(1.0, 1.0, math.nan), Summary(1.0, 2.0, math.nan)], "insufficient data"),
            ([Summary(5.0, 1.0, 0.0), Summary(5.0, 2.0, 0.0)], "zero variance within groups"),
        ],
    )
    def test_degenerate_inputs_give_a_note(self, groups: list[Summary], note: str) -> None:
        """Too few groups or values and zero within-group variance return a note."""
        r = stats.anova(groups)
        assert (r.statistic, r.p_value, r.effect_size, r.note) == (None, None, None, note)
