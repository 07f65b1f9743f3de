"""Tests for predwatch.analyzers.stats.chi2 (chi-square homogeneity, Cohen's w, Cramer's V)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from predwatch.analyzers import stats

CATS = np.array(["a", "b", "c", "d", "e"])


def _counts(values: np.ndarray) -> dict[str, float]:
    keys, n = np.unique(values, return_counts=True)
    return {str(k): float(c) for k, c in zip(keys, n, strict=True)}


def _raw(seed: int, p_cur: list[float]) -> tuple[np.ndarray, np.ndarray]:
    rs = np.random.RandomState(seed)
    ref = rs.choice(CATS, size=3000, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    return ref, rs.choice(CATS, size=1200, p=p_cur)


def _scipy(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float, float]:
    """scipy's X², p-value and the bias-corrected Cohen's w sqrt((X² - dof) / n_eff)."""
    labels = np.r_[np.zeros(ref.size), np.ones(cur.size)]
    table = pd.crosstab(labels, np.r_[ref, cur]).to_numpy()
    res = sps.chi2_contingency(table, correction=False)
    n_eff = ref.size * cur.size / (ref.size + cur.size)
    return res.statistic, res.pvalue, math.sqrt(max(0.0, res.statistic - res.dof) / n_eff)


class TestChi2:
    @pytest.mark.parametrize("seed", [0, 1, 2])
    @pytest.mark.parametrize("p_cur", [[0.3, 0.25, 0.2, 0.15, 0.1], [0.2, 0.3, 0.2, 0.1, 0.2]])
    def test_matches_scipy_on_raw_rows(self, seed: int, p_cur: list[float]) -> None:
        """Statistic and p-value equal scipy's contingency test on the raw rows; w from them."""
        ref, cur = _raw(seed, p_cur)
        r = stats.chi2(_counts(ref), _counts(cur))
        chi, p, w = _scipy(ref, cur)
        assert (r.statistic, r.p_value, r.effect_size) == pytest.approx((chi, p, w), rel=1e-9)
        assert (r.n_reference, r.n_current, r.effect_name) == (3000, 1200, "cohens_w")

    def test_effect_does_not_depend_on_the_sample_sizes(self) -> None:
        """The same change gives the same w against a 500-row or a 1M-row reference
        (Cramer's V, the old effect, shrank to ~0.02x of its balanced value here)."""
        p, q = np.array([0.4, 0.3, 0.2, 0.1]), np.array([0.3, 0.4, 0.2, 0.1])
        balanced = stats.chi2(list(p * 1e5), list(q * 1e5)).effect_size
        unbalanced = stats.chi2(list(p * 1e8), list(q * 1e5)).effect_size
        small = stats.chi2(list(p * 1e8), list(q * 500)).effect_size
        expected = math.sqrt(float(np.sum((p - q) ** 2 / ((p + q) / 2))))
        assert balanced == pytest.approx(expected, rel=0.01)
        assert unbalanced == pytest.approx(math.sqrt(float(np.sum((p - q) ** 2 / p))), rel=0.01)
        # Noise-free proportions: the bias correction (dof / n_eff) shows at 500 rows only.
        assert small == pytest.approx(
            math.sqrt(float(np.sum((p - q) ** 2 / p)) - 3 / 500), rel=0.01
        )

    def test_effect_has_no_noise_floor(self) -> None:
        """With no change the plug-in w² averages dof / n_eff; the corrected one stays near 0."""
        rng = np.random.default_rng(3)
        p = np.full(40, 1 / 40)
        plug_in, corrected = [], []
        for _ in range(200):
            r = stats.chi2(list(rng.multinomial(500, p)), list(rng.multinomial(500, p)))
            assert r.statistic is not None and r.effect_size is not None
            plug_in.append(r.statistic / 250)
            corrected.append(r.effect_size**2)
        assert float(np.mean(plug_in)) == pytest.approx(39 / 250, rel=0.1)
        assert float(np.mean(corrected)) < 0.3 * float(np.mean(plug_in))

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
        ],
    )
    def test_degenerate_inputs_give_a_note(
        self, ref: dict[str, float], cur: dict[str, float], note: str
    ) -> None:
        """Empty samples return None values with a note."""
        for func in (stats.chi2, stats.cramers_v):
            r = func(ref, cur)
            assert (r.statistic, r.p_value, r.effect_size, r.note) == (None, None, None, note)

    @pytest.mark.parametrize(
        ("ref", "cur"), [({"a": 10.0}, {"a": 3.0}), ({"a": 10.0, "b": 0.0}, {"a": 3.0})]
    )
    def test_single_category_is_trivial(self, ref: dict[str, float], cur: dict[str, float]) -> None:
        """One category on both sides cannot differ: p = 1, trivial (kept out of the correction)."""
        for func in (stats.chi2, stats.cramers_v):
            r = func(ref, cur)
            assert (r.p_value, r.effect_size, r.trivial, r.note) == (
                1.0,
                0.0,
                True,
                "single category",
            )


class TestCramersV:
    def test_is_half_of_w_with_the_chi2_p_value(self) -> None:
        """cramers_v is V for two equal samples (w / 2) and carries the chi2 p-value."""
        ref, cur = _raw(7, [0.2, 0.3, 0.2, 0.1, 0.2])
        full, only = (
            stats.chi2(_counts(ref), _counts(cur)),
            stats.cramers_v(_counts(ref), _counts(cur)),
        )
        assert full.effect_size is not None
        assert only.effect_size == pytest.approx(full.effect_size / 2)
        assert only.p_value == full.p_value

    def test_bounds(self) -> None:
        """V is 0 for identical frequencies and 1 for disjoint categories."""
        assert stats.cramers_v({"a": 5, "b": 5}, {"a": 10, "b": 10}).effect_size == pytest.approx(
            0.0
        )
        big = stats.cramers_v({"a": 7e6}, {"b": 7e6}).effect_size
        assert big == pytest.approx(1.0, abs=1e-6)

    def test_does_not_shrink_with_unbalanced_samples(self) -> None:
        """The same frequency change gives the same V when one sample is 10x larger."""
        p, q = np.array([0.4, 0.3, 0.2, 0.1]), np.array([0.3, 0.4, 0.2, 0.1])
        balanced = stats.cramers_v(list(p * 1e5), list(q * 1e5)).effect_size
        unbalanced = stats.cramers_v(list(p * 1e6), list(q * 1e6)).effect_size
        assert balanced == pytest.approx(unbalanced, rel=0.01)
