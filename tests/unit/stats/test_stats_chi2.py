"""Tests for predwatch.analyzers.stats.chi2 (chi-square homogeneity and Cramer's V)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from predwatch.analyzers import stats
from scipy import stats as sps

CATS = np.array(["a", "b", "c", "d", "e"])


def _counts(values: np.ndarray) -> dict[str, float]:
    keys, n = np.unique(values, return_counts=True)
    return {str(k): float(c) for k, c in zip(keys, n, strict=True)}


def _raw(seed: int, p_cur: list[float]) -> tuple[np.ndarray, np.ndarray]:
    rs = np.random.RandomState(seed)
    ref = rs.choice(CATS, size=3000, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    return ref, rs.choice(CATS, size=1200, p=p_cur)


def _scipy(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float, float]:
    labels = np.r_[np.zeros(ref.size), np.ones(cur.size)]
    table = pd.crosstab(labels, np.r_[ref, cur]).to_numpy()
    res = sps.chi2_contingency(table, correction=False)
    return res.statistic, res.pvalue, math.sqrt(res.statistic / table.sum())


class TestChi2:
    @pytest.mark.parametrize("seed", [0, 1, 2])
    @pytest.mark.parametrize("p_cur", [[0.3, 0.25, 0.2, 0.15, 0.1], [0.2, 0.3, 0.2, 0.1, 0.2]])
    def test_matches_scipy_on_raw_rows(self, seed: int, p_cur: list[float]) -> None:
        """Statistic, p-value and Cramer's V equal scipy's contingency test on the raw rows."""
        ref, cur = _raw(seed, p_cur)
        r = stats.chi2(_counts(ref), _counts(cur))
        chi, p, v = _scipy(ref, cur)
        assert (r.statistic, r.p_value, r.effect_size) == pytest.approx((chi, p, v), rel=1e-9)
        assert (r.n_reference, r.n_current, r.effect_name) == (3000, 1200, "cramers_v")

    def test_unseen_category_in_reference(self) -> None:
        """A category only the current sample has is kept and raises the statistic."""
        r = stats.chi2({"a": 50.0, "b": 50.0}, {"a": 40.0, "b": 40.0, "new": 20.0})
        table = np.array([[50, 50, 0], [40, 40, 20]])
        assert r.statistic == pytest.approx(sps.chi2_contingency(table).statistic, rel=1e-12)

    def test_categories_empty_on_both_sides_are_dropped(self) -> None:
        """Zero-count categories do not change the statistic or the degrees of freedom."""
        base = stats.chi2({"a": 30.0, "b": 10.0}, {"a": 20.0, "b": 20.0})
        padded = stats.chi2({"a": 30.0, "b": 10.0, "z": 0.0}, {"a": 20.0, "b": 20.0, "z": 0.0})
        assert padded == base

    def test_accepts_bin_sequences(self) -> None:
        """Bin count sequences work like category mappings."""
        assert stats.chi2([30.0, 10.0], [20.0, 20.0]) == stats.chi2(
            {"a": 30, "b": 10}, {"a": 20, "b": 20}
        )

    @pytest.mark.parametrize(
        ("ref", "cur", "note"),
        [
            ({"a": 10.0}, {}, "insufficient data"),
            ({}, {"a": 10.0}, "insufficient data"),
            ({"a": 10.0}, {"a": 0.0}, "insufficient data"),
            ({"a": 10.0}, {"a": 3.0}, "single category"),
            ({"a": 10.0, "b": 0.0}, {"a": 3.0}, "single category"),
        ],
    )
    def test_degenerate_inputs_give_a_note(
        self, ref: dict[str, float], cur: dict[str, float], note: str
    ) -> None:
        """Empty samples and a single category return None values with a note."""
        for func in (stats.chi2, stats.cramers_v):
            r = func(ref, cur)
            assert (r.statistic, r.p_value, r.effect_size, r.note) == (None, None, None, note)


class TestCramersV:
    def test_equals_chi2_effect_without_p_value(self) -> None:
        """cramers_v reports the chi2 effect size and no p-value."""
        ref, cur = _raw(7, [0.2, 0.3, 0.2, 0.1, 0.2])
        full, only = (
            stats.chi2(_counts(ref), _counts(cur)),
            stats.cramers_v(_counts(ref), _counts(cur)),
        )
        assert only.effect_size == full.effect_size and only.p_value is None

    def test_bounds(self) -> None:
        """V is 0 for identical frequencies and 1 for disjoint categories."""
        assert stats.cramers_v({"a": 5, "b": 5}, {"a": 10, "b": 10}).effect_size == pytest.approx(
            0.0
        )
        assert stats.cramers_v({"a": 5}, {"b": 7}).effect_size == pytest.approx(1.0)

    def test_shrinks_with_unbalanced_samples(self) -> None:
        """The same frequency change gives a smaller V when one sample is 10x larger."""
        p, q = np.array([0.4, 0.3, 0.2, 0.1]), np.array([0.3, 0.4, 0.2, 0.1])
        balanced = stats.cramers_v(list(p * 1e5), list(q * 1e5)).effect_size
        unbalanced = stats.cramers_v(list(p * 1e6), list(q * 1e5)).effect_size
        assert balanced is not None and unbalanced is not None
        assert unbalanced < 0.6 * balanced
