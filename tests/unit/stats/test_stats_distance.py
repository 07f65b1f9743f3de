"""Tests for predwatch.analyzers.stats.distance (PSI, Jensen-Shannon, L-inf, Wasserstein)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps
from scipy.spatial import distance as spd

from predwatch.analyzers import stats
from predwatch.analyzers.stats import Summary


def _psi(p: np.ndarray, q: np.ndarray) -> float:
    return float(np.sum((q - p) * np.log(q / p)))


class TestProbabilities:
    def test_aligns_mappings_and_normalizes(self) -> None:
        """Mappings align on the union of keys and each side sums to 1."""
        p, q, n_ref, n_cur = stats.probabilities({"a": 3.0, "b": 1.0}, {"b": 1.0, "c": 1.0})
        assert p.tolist() == [0.75, 0.25, 0.0] and q.tolist() == [0.0, 0.5, 0.5]
        assert (n_ref, n_cur) == (4.0, 2.0)

    def test_empty_side_gives_zero_vector(self) -> None:
        """An empty sample normalizes to zeros instead of dividing by zero."""
        p, q, _, n_cur = stats.probabilities([1.0, 3.0], [0.0, 0.0])
        assert q.tolist() == [0.0, 0.0] and n_cur == 0.0 and p.sum() == 1.0


class TestPsi:
    def test_hand_computed(self) -> None:
        """PSI equals sum((q - p) ln(q / p)) when no cell is empty; the effect drops the
        no-drift mean (cells - 1) / n_eff and the p-value is Pearson's X² on the same cells."""
        r = stats.psi([50.0, 30.0, 20.0], [40.0, 30.0, 30.0])
        expected = _psi(np.array([0.5, 0.3, 0.2]), np.array([0.4, 0.3, 0.3]))
        assert r.statistic == pytest.approx(expected, rel=1e-12)
        assert r.effect_size == pytest.approx(max(0.0, expected - 2 / 50), rel=1e-12)
        x2 = sps.chi2_contingency([[50, 30, 20], [40, 30, 30]], correction=False)
        assert r.p_value == pytest.approx(x2.pvalue, rel=1e-9)

    def test_symmetric_and_zero_for_identical(self) -> None:
        """PSI is symmetric and 0 for proportional counts."""
        a, b = {"x": 5.0, "y": 9.0}, {"x": 7.0, "y": 2.0}
        assert stats.psi(a, b).statistic == pytest.approx(stats.psi(b, a).statistic)
        assert stats.psi([1.0, 2.0], [10.0, 20.0]).statistic == pytest.approx(0.0)

    def test_unseen_category_uses_epsilon_floor(self) -> None:
        """A category new in current at 5% is finite, uses the floor, and clears 0.2."""
        r = stats.psi({"a": 100.0}, {"a": 95.0, "new": 5.0})
        eps = stats.PSI_EPSILON
        expected = _psi(np.array([1.0, eps]), np.array([0.95, 0.05]))
        assert r.statistic is not None and r.statistic > 0.2
        assert r.statistic == pytest.approx(expected)

    def test_many_rare_categories_do_not_inflate(self) -> None:
        """Thousands of categories empty on one side add almost nothing."""
        ref = {f"c{i}": 1.0 for i in range(5000)} | {"big": 1e6}
        cur = {"big": 1e5}
        r = stats.psi(ref, cur)
        assert r.statistic is not None and r.statistic < 0.05


class TestJs:
    @pytest.mark.parametrize("seed", [0, 1])
    def test_matches_scipy_jensenshannon(self, seed: int) -> None:
        """The distance equals scipy's jensenshannon(base=2), including empty cells."""
        rs = np.random.RandomState(seed)
        ref = rs.multinomial(1000, [0.5, 0.3, 0.2, 0.0])
        cur = rs.multinomial(400, [0.3, 0.3, 0.3, 0.1])
        r = stats.js(list(ref), list(cur))
        assert r.statistic == pytest.approx(spd.jensenshannon(ref, cur, base=2), rel=1e-9)

    def test_bounds(self) -> None:
        """JS distance is 0 for equal and 1 for disjoint distributions."""
        assert stats.js({"a": 1.0}, {"a": 4.0}).statistic == pytest.approx(0.0)
        assert stats.js({"a": 1.0}, {"b": 4.0}).statistic == pytest.approx(1.0)


class TestLinf:
    def test_max_frequency_difference(self) -> None:
        """L-inf is the largest absolute difference of normalized frequencies."""
        r = stats.linf({"a": 60.0, "b": 40.0}, {"a": 10.0, "b": 20.0, "c": 10.0})
        assert r.statistic == pytest.approx(0.35)

    def test_p_value_is_bonferroni_over_the_cells(self) -> None:
        """The p-value is (cells with >= 5 expected) x the two-sided normal tail of the
        largest standardized gap; cell c (about 3 expected in 40 rows) is left out."""
        r = stats.linf({"a": 60.0, "b": 40.0}, {"a": 10.0, "b": 20.0, "c": 10.0})
        zs = []
        for ref_k, cur_k in ((60, 10), (40, 20)):
            pooled = (ref_k + cur_k) / 140
            se = np.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 40))
            zs.append(abs(ref_k / 100 - cur_k / 40) / se)
        assert r.p_value == pytest.approx(min(1.0, 2 * 2 * sps.norm.sf(max(zs))), rel=1e-9)


class TestDistanceDegenerate:
    @pytest.mark.parametrize("func", [stats.psi, stats.js, stats.linf])
    def test_empty_sample_is_insufficient(self, func: object) -> None:
        """Either sample empty returns None values and 'insufficient data'."""
        assert callable(func)
        for ref, cur in (({}, {"a": 1.0}), ({"a": 1.0}, {}), ([0.0, 0.0], [1.0, 1.0])):
            r = func(ref, cur)
            assert (r.statistic, r.effect_size, r.note) == (None, None, "insufficient data")

    @pytest.mark.parametrize("func", [stats.psi, stats.js, stats.linf])
    def test_single_category(self, func: object) -> None:
        """A single shared category gives distance 0 and a note."""
        assert callable(func)
        r = func({"a": 3.0}, {"a": 5.0})
        assert r.statistic == pytest.approx(0.0) and r.note == "single category"


class TestWasserstein:
    def test_exact_for_values_at_inner_midpoints(self) -> None:
        """Discrete values sitting at inner bin midpoints give scipy's raw-row distance."""
        rs = np.random.RandomState(0)
        ref, cur = (
            rs.choice([1.0, 2.0, 3.0], 500),
            rs.choice([1.0, 2.0, 3.0], 300, p=[0.2, 0.3, 0.5]),
        )
        edges = [0.5, 1.5, 2.5, 3.5]
        rb = np.bincount(np.digitize(ref, edges), minlength=5)
        cb = np.bincount(np.digitize(cur, edges), minlength=5)
        r = stats.wasserstein(rb, cb, edges, Summary.from_values(ref))
        raw = sps.wasserstein_distance(ref, cur)
        assert r.statistic == pytest.approx(raw, rel=1e-9)
        # The effect drops the no-drift noise: a little below the plug-in distance.
        assert r.effect_size is not None
        assert 0.8 * raw / np.std(ref, ddof=1) < r.effect_size < raw / np.std(ref, ddof=1)

    @pytest.mark.parametrize(("shift", "scale"), [(0.3, 1.0), (0.0, 1.5), (-0.5, 0.8)])
    def test_close_to_raw_rows_for_normal_data(self, shift: float, scale: float) -> None:
        """With 20 quantile bins the normed distance is within 30% of the raw-row value."""
        rs = np.random.RandomState(1)
        ref, cur = rs.normal(0.0, 1.0, 20000), rs.normal(shift, scale, 5000)
        edges = np.quantile(ref, np.linspace(0.0, 1.0, 21)[1:-1])
        rb = np.bincount(np.digitize(ref, edges), minlength=20)
        cb = np.bincount(np.digitize(cur, edges), minlength=20)
        r = stats.wasserstein(rb, cb, edges, Summary.from_values(ref))
        raw = sps.wasserstein_distance(ref, cur) / np.std(ref, ddof=1)
        assert r.effect_size == pytest.approx(raw, rel=0.3)

    def test_outlier_in_reference_max_does_not_dominate(self) -> None:
        """An extreme reference max moves the last bin point at most one bin width out."""
        summary = Summary(100.0, 0.0, 1.0, -1.0, 1e9)
        r = stats.wasserstein([10.0, 80.0, 10.0], [10.0, 70.0, 20.0], [-0.5, 0.5], summary)
        # Points: -0.75, 0, 1.5 (capped) -> |dF| 0.1 over the last gap of 1.5.
        assert r.statistic == pytest.approx(0.15)

    def test_unknown_min_max_uses_outer_edges(self) -> None:
        """Without min/max the open bins sit on the outermost edges."""
        r = stats.wasserstein(
            [0.0, 10.0, 0.0], [0.0, 0.0, 10.0], [0.0, 2.0], Summary(10.0, 1.0, 1.0)
        )
        assert r.statistic == pytest.approx(1.0)

    def test_single_bin_and_identical(self) -> None:
        """One bin, or proportional counts, give a distance of 0."""
        s = Summary(10.0, 0.0, 1.0)
        assert stats.wasserstein([5.0], [3.0], [], s).effect_size == 0.0
        assert stats.wasserstein([1.0, 2.0], [2.0, 4.0], [0.0], s).effect_size == 0.0

    def test_zero_reference_variance(self) -> None:
        """A constant reference keeps the raw distance but has no normed effect."""
        r = stats.wasserstein([0.0, 5.0], [5.0, 0.0], [1.0], Summary(5.0, 2.0, 0.0, 2.0, 2.0))
        assert r.statistic is not None and r.effect_size is None and "standard deviation" in r.note

    def test_empty_sample_is_insufficient(self) -> None:
        """An empty current sample returns None values and 'insufficient data'."""
        r = stats.wasserstein([1.0, 2.0], [0.0, 0.0], [0.0], Summary(3.0, 0.0, 1.0))
        assert (r.statistic, r.effect_size, r.note) == (None, None, "insufficient data")

    @pytest.mark.parametrize("edges", [[0.0], [1.0, 0.0], [0.0, math.nan]])
    def test_bad_edges_raise(self, edges: list[float]) -> None:
        """Edges must be K-1, finite and sorted: anything else is a caller bug."""
        with pytest.raises(ValueError, match="edges"):
            stats.wasserstein([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], edges, Summary(3.0, 0.0, 1.0))


class TestNullCalibration:
    """Every distance's p-value holds its level under no drift (multinomial A/A, fixed seeds)."""

    @pytest.mark.parametrize(("cells", "n_ref", "n_cur"), [(10, 500, 500), (40, 50_000, 500)])
    def test_rejection_rate_at_most_alpha(self, cells: int, n_ref: int, n_cur: int) -> None:
        """Of 400 A/A draws at most the 99.9 % binomial bound of 5 % reject at p < 0.05."""
        rng = np.random.default_rng(cells)
        # Cells as the analyzer compares them: at least 5 values expected in the smaller sample.
        p = np.sort(rng.dirichlet(np.full(cells, 20.0)))[::-1]
        edges = np.arange(1.0, cells)
        summary = Summary(float(n_ref), float(np.sum(p * np.arange(cells))), 4.0)
        bound = sps.binom.ppf(0.999, 400, 0.05)
        rejections = {"psi": 0, "js": 0, "linf": 0, "wasserstein": 0}
        for _ in range(400):
            ref, cur = rng.multinomial(n_ref, p), rng.multinomial(n_cur, p)
            for r in (
                stats.psi(ref, cur),
                stats.js(ref, cur),
                stats.linf(ref, cur),
                stats.wasserstein(ref, cur, edges, summary),
            ):
                assert r.p_value is not None
                rejections[r.name] += r.p_value < 0.05
        assert all(v <= bound for v in rejections.values()), rejections

    def test_wasserstein_sees_a_shift(self) -> None:
        """A 0.3 sd shift at 2,000 rows gets a tiny p-value and an effect near 0.3."""
        rng = np.random.default_rng(5)
        ref, cur = rng.normal(0, 1, 50_000), rng.normal(0.3, 1, 2000)
        edges = np.quantile(ref, np.linspace(0, 1, 101)[1:-1])
        rb = np.bincount(np.digitize(ref, edges), minlength=100)
        cb = np.bincount(np.digitize(cur, edges), minlength=100)
        r = stats.wasserstein(rb, cb, edges, Summary.from_values(ref))
        assert r.p_value is not None and r.p_value < 1e-6
        assert r.effect_size == pytest.approx(0.3, abs=0.06)


class TestWassersteinTails:
    @pytest.mark.parametrize("sigma", [1.0, 1.5, 2.0])
    def test_bin_means_keep_heavy_tails(self, sigma: float) -> None:
        """With each sample's mean per bin, binned W1 is within 5 % of scipy's raw-row value on
        lognormal data; with bin midpoints (capped open tails) it fell to 0.46-0.91x."""
        rng = np.random.default_rng(int(sigma * 10))
        ref, cur = rng.lognormal(0, sigma, 50_000), rng.lognormal(0.3, sigma, 5000)
        edges = np.unique(np.quantile(ref, np.linspace(0, 1, 101)[1:-1]))
        k = edges.size + 1
        ri, ci = (
            np.searchsorted(edges, ref, side="right"),
            np.searchsorted(edges, cur, side="right"),
        )
        rb, cb = np.bincount(ri, minlength=k), np.bincount(ci, minlength=k)
        rs = np.bincount(ri, weights=ref, minlength=k)
        cs = np.bincount(ci, weights=cur, minlength=k)
        summary = Summary.from_values(ref)
        raw = sps.wasserstein_distance(ref, cur)
        with_means = stats.wasserstein(rb, cb, edges, summary, rs, cs).statistic
        midpoints = stats.wasserstein(rb, cb, edges, summary).statistic
        assert with_means == pytest.approx(raw, rel=0.05)
        assert midpoints is not None and midpoints < 0.95 * raw
        # Sums on one side only (an old baseline): both sides use the bin points.
        assert stats.wasserstein(rb, cb, edges, summary, None, cs).statistic == midpoints
