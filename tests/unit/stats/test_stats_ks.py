"""Tests for predwatch.analyzers.stats.ks (Kolmogorov-Smirnov on binned counts)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from predwatch.analyzers import stats


def _bin(ref: np.ndarray, cur: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    edges = np.quantile(ref, np.linspace(0.0, 1.0, k + 1)[1:-1])
    return (
        np.bincount(np.digitize(ref, edges), minlength=k),
        np.bincount(np.digitize(cur, edges), minlength=k),
    )


class TestKs:
    @pytest.mark.parametrize("k", [10, 20, 50])
    @pytest.mark.parametrize(("shift", "seed"), [(0.0, 0), (0.0, 1), (0.3, 2), (0.3, 3)])
    def test_close_to_scipy_on_raw_rows(self, k: int, shift: float, seed: int) -> None:
        """Binned D is within 1/K of scipy's raw-row D, with the same verdict at 0.05."""
        rs = np.random.RandomState(seed)
        ref, cur = rs.normal(0.0, 1.0, 2000), rs.normal(shift, 1.0, 1500)
        r = stats.ks(*_bin(ref, cur, k))
        raw = sps.ks_2samp(ref, cur, method="asymp")
        assert r.statistic is not None and r.p_value is not None
        assert abs(r.statistic - raw.statistic) <= 1.0 / k
        assert (r.p_value < 0.05) == (raw.pvalue < 0.05) == (shift > 0)
        assert r.effect_size == r.statistic

    def test_exact_when_bins_hold_single_values(self) -> None:
        """With one integer value per bin, D and p equal scipy's asymptotic test exactly."""
        rs = np.random.RandomState(4)
        ref, cur = rs.binomial(12, 0.5, 900), rs.binomial(12, 0.55, 700)
        edges = np.arange(0.5, 12.0)
        rb = np.bincount(np.digitize(ref, edges), minlength=13)
        cb = np.bincount(np.digitize(cur, edges), minlength=13)
        r, raw = stats.ks(rb, cb), sps.ks_2samp(ref, cur, method="asymp")
        assert (r.statistic, r.p_value) == pytest.approx((raw.statistic, raw.pvalue), rel=1e-9)

    def test_identical_distributions(self) -> None:
        """Proportional counts give D = 0 and p = 1."""
        r = stats.ks([10.0, 20.0, 30.0], [1.0, 2.0, 3.0])
        assert (r.statistic, r.p_value) == (0.0, 1.0)

    @pytest.mark.parametrize(("ref", "cur"), [([0.0, 0.0], [1.0, 2.0]), ([3.0, 1.0], [0.0, 0.0])])
    def test_empty_sample_is_insufficient(self, ref: list[float], cur: list[float]) -> None:
        """An empty sample returns None values and the note 'insufficient data'."""
        r = stats.ks(ref, cur)
        assert (r.statistic, r.p_value, r.effect_size, r.note) == (
            None,
            None,
            None,
            "insufficient data",
        )

    def test_all_mass_in_one_bin(self) -> None:
        """All values in one bin is valid: D = 0, p = 1, with an explanatory note."""
        r = stats.ks([0.0, 5.0, 0.0], [0.0, 2.0, 0.0])
        assert (r.statistic, r.p_value, r.note) == (0.0, 1.0, "all mass in one bin")

    def test_single_bin_and_single_rows(self) -> None:
        """One bin (no edges) and one row per sample do not raise."""
        assert stats.ks([4.0], [2.0]).statistic == 0.0
        r = stats.ks([1.0, 0.0], [0.0, 1.0])
        assert r.statistic == 1.0 and r.p_value is not None and 0.0 <= r.p_value <= 1.0
