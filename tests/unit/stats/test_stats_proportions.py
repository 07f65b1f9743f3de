"""Tests for predwatch.analyzers.stats.proportions (missing and out-of-vocabulary rates)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from predwatch.analyzers import stats


class TestMissingRate:
    @pytest.mark.parametrize(
        ("x1", "n1", "x2", "n2"), [(30, 1000, 45, 800), (5, 200, 1, 300), (0, 50, 4, 60)]
    )
    def test_z_squared_equals_scipy_chi2_on_raw_rows(
        self, x1: int, n1: int, x2: int, n2: int
    ) -> None:
        """z^2 equals the uncorrected chi-square of the 2x2 table of raw missing flags; the
        one-sided p-value (only an increase alarms) is half of it in the direction of z."""
        ref = np.r_[np.ones(x1), np.zeros(n1 - x1)]
        cur = np.r_[np.ones(x2), np.zeros(n2 - x2)]
        table = [[ref.sum(), ref.size - ref.sum()], [cur.sum(), cur.size - cur.sum()]]
        raw = sps.chi2_contingency(table, correction=False)
        r = stats.missing_rate(x1, n1, x2, n2)
        assert r.statistic is not None
        one_sided = raw.pvalue / 2 if r.statistic > 0 else 1 - raw.pvalue / 2
        assert (r.statistic**2, r.p_value) == pytest.approx((raw.statistic, one_sided), rel=1e-9)

    def test_sign_and_cohens_h(self) -> None:
        """A higher current rate gives z > 0; h = |2 asin sqrt p2 - 2 asin sqrt p1|."""
        r = stats.missing_rate(10, 100, 30, 100)
        h = abs(2 * math.asin(math.sqrt(0.3)) - 2 * math.asin(math.sqrt(0.1)))
        assert r.statistic is not None and r.statistic > 0
        assert r.effect_size == pytest.approx(h) and r.effect_name == "cohens_h"
        down = stats.missing_rate(30, 100, 10, 100)
        assert (
            down.statistic is not None and down.statistic < 0 and down.effect_size == r.effect_size
        )

    @pytest.mark.parametrize(
        ("x", "note"), [(0.0, "rate is 0 in both samples"), (1.0, "rate is 1 in both samples")]
    )
    def test_equal_extreme_rates_mean_no_drift(self, x: float, note: str) -> None:
        """Both rates 0 (or both 1) is no change: z = 0, p = 1, h = 0, with a note."""
        r = stats.missing_rate(100 * x, 100, 50 * x, 50)
        assert (r.statistic, r.p_value, r.effect_size, r.note) == (0.0, 1.0, 0.0, note)

    @pytest.mark.parametrize(("n1", "n2"), [(0, 10), (10, 0), (0, 0)])
    def test_empty_totals_are_insufficient(self, n1: int, n2: int) -> None:
        """A zero total on either side returns None values and 'insufficient data'."""
        r = stats.missing_rate(0, n1, 0, n2)
        assert (r.statistic, r.p_value, r.note) == (None, None, "insufficient data")

    @pytest.mark.parametrize("args", [(-1, 10, 0, 10), (11, 10, 0, 10), (0, 10, 0, -5)])
    def test_invalid_counts_raise(self, args: tuple[int, int, int, int]) -> None:
        """Negative counts or more hits than rows are caller bugs."""
        with pytest.raises(ValueError, match="count <= total"):
            stats.missing_rate(*args)


class TestOovRate:
    def test_same_test_under_its_own_name(self) -> None:
        """oov_rate is the same two-proportion test, named 'oov_rate'."""
        a, b = stats.oov_rate(3, 100, 9, 120), stats.missing_rate(3, 100, 9, 120)
        assert a.name == "oov_rate" and (a.statistic, a.p_value) == (b.statistic, b.p_value)
