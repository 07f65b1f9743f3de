"""Tests for predwatch.analyzers.stats.multiple (Benjamini-Hochberg)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from predwatch.analyzers import stats


def _reference_bh(p: list[float]) -> list[float]:
    """Textbook definition: adj(i) = min over j with p_j >= p_i of p_j * m / rank_j."""
    m = len(p)
    ranks = {
        i: 1 + sum(q < p[i] for q in p) + sum(p[j] == p[i] for j in range(i)) for i in range(m)
    }
    return [min(1.0, min(p[j] * m / ranks[j] for j in range(m) if p[j] >= p[i])) for i in range(m)]


class TestBenjaminiHochberg:
    def test_hand_computed(self) -> None:
        """Known example: 0.01, 0.04, 0.03, 0.20 -> 0.04, 0.0533, 0.0533, 0.20."""
        adj = stats.benjamini_hochberg([0.01, 0.04, 0.03, 0.20])
        assert adj == pytest.approx([0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.20])

    @pytest.mark.parametrize("seed", range(5))
    def test_matches_reference_implementation(self, seed: int) -> None:
        """Random p-values (with ties) match the textbook definition."""
        rs = np.random.RandomState(seed)
        p = [float(x) for x in np.round(rs.uniform(0, 0.2, 30) ** 2, 3)]
        assert stats.benjamini_hochberg(p) == pytest.approx(_reference_bh(p), rel=1e-12)

    def test_none_stays_none_and_is_not_counted(self) -> None:
        """None entries keep their place and do not enlarge m."""
        adj = stats.benjamini_hochberg([None, 0.01, None, 0.04])
        assert adj[0] is None and adj[2] is None
        assert adj[1:4:2] == pytest.approx([0.02, 0.04])

    def test_monotone_and_clipped(self) -> None:
        """Adjusted values keep the raw order and never exceed 1."""
        p = [0.9, 0.5, 0.99, 0.7, 0.95]
        adj = stats.benjamini_hochberg(p)
        assert all(a is not None and a <= 1.0 for a in adj)
        in_raw_order = [adj[i] for i in np.argsort(p)]
        assert in_raw_order == sorted(in_raw_order)

    def test_empty_inputs(self) -> None:
        """No p-values, or only None, are returned unchanged."""
        assert stats.benjamini_hochberg([]) == []
        assert stats.benjamini_hochberg([None]) == [None]

    @pytest.mark.parametrize("bad", [math.nan, -0.1, 1.5])
    def test_invalid_p_values_raise(self, bad: float) -> None:
        """NaN or out-of-range p-values are caller bugs."""
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            stats.benjamini_hochberg([0.1, bad])
