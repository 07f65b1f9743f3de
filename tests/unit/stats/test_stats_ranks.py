"""Tests for predwatch.analyzers.stats.ranks (Kruskal-Wallis and Mann-Whitney on bins)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from predwatch.analyzers import stats


def _binned_groups(
    seed: int, k: int, shifts: list[float]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Raw normal samples, their bin indices and bin counts over reference quantile edges."""
    rs = np.random.RandomState(seed)
    raw = [rs.normal(s, 1.0, n) for s, n in zip(shifts, [900, 600, 400], strict=False)]
    edges = np.quantile(raw[0], np.linspace(0.0, 1.0, k + 1)[1:-1])
    idx = [np.digitize(x, edges) for x in raw]
    return idx, [np.bincount(i, minlength=k) for i in idx]


class TestKruskal:
    @pytest.mark.parametrize(("seed", "k"), [(0, 5), (1, 12), (2, 30)])
    @pytest.mark.parametrize("shifts", [[0.0, 0.0, 0.0], [0.0, 0.2, -0.1]])
    def test_matches_scipy_on_bin_indices(self, seed: int, k: int, shifts: list[float]) -> None:
        """Tie-corrected H and p equal scipy.stats.kruskal on the raw bin indices."""
        idx, counts = _binned_groups(seed, k, shifts)
        r, raw = stats.kruskal(counts), sps.kruskal(*idx)
        assert (r.statistic, r.p_value) == pytest.approx((raw.statistic, raw.pvalue), rel=1e-9)
        assert r.effect_size == pytest.approx(raw.statistic / (sum(map(len, idx)) - 1), rel=1e-9)

    def test_two_sample_convenience(self) -> None:
        """kruskal2 equals kruskal on the two groups and reports their sizes."""
        _, counts = _binned_groups(3, 8, [0.0, 0.3])
        r = stats.kruskal2(counts[0], counts[1])
        assert r == stats.kruskal(counts[:2]) and (r.n_reference, r.n_current) == (900, 600)

    @pytest.mark.parametrize(
        ("groups", "note"),
        [
            ([], "insufficient data"),
            ([[3.0, 4.0]], "insufficient data"),
            ([[3.0, 4.0], [0.0, 0.0]], "insufficient data"),
            ([[0.0, 4.0, 0.0], [0.0, 2.0, 0.0]], "all mass in one bin"),
            ([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]], "insufficient data"),
        ],
    )
    def test_degenerate_inputs_give_a_note(self, groups: list[list[float]], note: str) -> None:
        """Fewer than two non-empty groups or a single occupied bin return a note."""
        r = stats.kruskal(groups)
        assert (r.statistic, r.p_value, r.effect_size, r.note) == (None, None, None, note)

    def test_rejects_groups_over_different_bins(self) -> None:
        """Groups with different numbers of bins are a caller bug."""
        with pytest.raises(ValueError, match="same bins"):
            stats.kruskal([[1.0, 2.0], [1.0]])


class TestMannWhitney:
    @pytest.mark.parametrize(("seed", "k"), [(0, 4), (1, 10), (2, 25)])
    @pytest.mark.parametrize("shift", [0.0, 0.15, -0.3])
    def test_matches_scipy_on_bin_indices(self, seed: int, k: int, shift: float) -> None:
        """U (of current) and p equal scipy's asymptotic two-sided test with continuity."""
        idx, counts = _binned_groups(seed, k, [0.0, shift])
        r = stats.mann_whitney(counts[0], counts[1])
        raw = sps.mannwhitneyu(
            idx[1], idx[0], method="asymptotic", use_continuity=True, alternative="two-sided"
        )
        assert (r.statistic, r.p_value) == pytest.approx((raw.statistic, raw.pvalue), rel=1e-9)

    def test_rank_biserial_effect(self) -> None:
        """Complete separation gives |r| = 1; identical counts give r = 0."""
        assert stats.mann_whitney([5.0, 0.0], [0.0, 3.0]).effect_size == pytest.approx(1.0)
        assert stats.mann_whitney([2.0, 2.0], [2.0, 2.0]).effect_size == pytest.approx(0.0)

    @pytest.mark.parametrize(
        ("ref", "cur", "note"),
        [
            ([0.0, 0.0], [1.0, 2.0], "insufficient data"),
            ([1.0, 2.0], [0.0, 0.0], "insufficient data"),
            ([0.0, 7.0], [0.0, 3.0], "all mass in one bin"),
        ],
    )
    def test_degenerate_inputs_give_a_note(
        self, ref: list[float], cur: list[float], note: str
    ) -> None:
        """Empty samples and a single occupied bin return None values with a note."""
        r = stats.mann_whitney(ref, cur)
        assert (r.statistic, r.p_value, r.effect_size, r.note) == (None, None, None, note)

    def test_one_row_each(self) -> None:
        """n=1 in each sample (different bins) gives a valid p-value of 1."""
        r = stats.mann_whitney([1.0, 0.0], [0.0, 1.0])
        assert r.p_value == 1.0
