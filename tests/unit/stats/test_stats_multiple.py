"""Tests for predwatch.analyzers.stats.multiple (Holm's step-down correction)."""

from __future__ import annotations

import numpy as np
import pytest

from predwatch.analyzers import stats


def _holm_rejects(p: list[float], alpha: float) -> list[bool]:
    """Textbook Holm: walk the sorted p-values, reject while p_(i) <= alpha / (m - i + 1)."""
    m = len(p)
    rejected = [False] * m
    for i, j in enumerate(sorted(range(m), key=lambda k: p[k])):
        if p[j] > alpha / (m - i):
            break
        rejected[j] = True
    return rejected


class TestHolm:
    def test_hand_computed(self) -> None:
        """Known example: 0.01, 0.04, 0.03, 0.20 -> 0.04, 0.09, 0.09, 0.20."""
        adj = stats.holm([0.01, 0.04, 0.03, 0.20])
        assert adj == pytest.approx([0.04, 0.09, 0.09, 0.20])

    @pytest.mark.parametrize("seed", range(5))
    def test_rejections_match_the_textbook_procedure(self, seed: int) -> None:
        """adjusted < alpha rejects exactly what the step-down procedure rejects (ties too)."""
        rs = np.random.RandomState(seed)
        p = [float(x) for x in np.round(rs.uniform(0, 0.2, 30) ** 2, 3)]
        adj = stats.holm(p)
        for alpha in (0.01, 0.05, 0.1):
            got = [a is not None and a <= alpha for a in adj]
            assert got == _holm_rejects(p, alpha)

    def test_none_stays_none_and_is_not_counted(self) -> None:
        """None entries keep their place and do not enlarge m."""
        adj = stats.holm([None, 0.01, None, 0.04])
        assert adj[0] is None and adj[2] is None
        assert adj[1:4:2] == pytest.approx([0.02, 0.04])

    def test_monotone_and_clipped(self) -> None:
        """Adjusted values keep the raw order and never exceed 1."""
        p = [0.9, 0.5, 0.99, 0.7, 0.95]
        adj = stats.holm(p)
        assert all(a is not None and a <= 1.0 for a in adj)
        in_raw_order = [adj[i] for i in np.argsort(p)]
        assert in_raw_order == sorted(in_raw_order)

    def test_one_strong_result_does_not_lower_the_bar_for_others(self) -> None:
        """Unlike a false discovery rate, many tiny p-values leave p = 0.01 of 100 unflagged."""
        adj = stats.holm([1e-20] * 50 + [0.01] + [0.5] * 49)
        assert adj[50] is not None and adj[50] > 0.05

    def test_empty_inputs(self) -> None:
        """No p-values, or only None, are returned unchanged."""
        assert stats.holm([]) == []
        assert stats.holm([None, None]) == [None, None]

    @pytest.mark.parametrize("bad", [float("nan"), -0.1, 1.5])
    def test_invalid_p_values_raise(self, bad: float) -> None:
        """NaN or values outside [0, 1] are a caller bug."""
        with pytest.raises(ValueError, match="p-values"):
            stats.holm([0.1, bad])
