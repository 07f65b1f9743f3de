"""Tests for the input value objects and count validation of predwatch.analyzers.stats."""

from __future__ import annotations

import math

import numpy as np
import pytest

from predwatch.analyzers import stats
from predwatch.analyzers.stats._types import align_counts, as_counts


class TestSummary:
    def test_from_values_matches_numpy(self) -> None:
        """from_values stores n, mean, sample variance (ddof=1), min and max."""
        x = np.random.RandomState(0).normal(3.0, 2.0, size=500)
        s = stats.Summary.from_values(x)
        expected = (500.0, x.mean(), np.var(x, ddof=1), x.min(), x.max())
        assert s == stats.Summary(*map(float, expected))

    def test_from_extended_stats(self) -> None:
        """An Elasticsearch extended_stats result maps onto the summary fields."""
        d = {"count": 4, "avg": 2.5, "min": 1.0, "max": 4.0, "variance_sampling": 1.6667}
        assert stats.Summary.from_extended_stats(d) == stats.Summary(4.0, 2.5, 1.6667, 1.0, 4.0)

    def test_from_extended_stats_empty(self) -> None:
        """An empty aggregation (count 0, nulls) gives n=0 with NaN mean and variance."""
        d = {"count": 0, "avg": None, "min": None, "max": None, "variance_sampling": None}
        s = stats.Summary.from_extended_stats(d)
        assert s.n == 0 and math.isnan(s.mean) and math.isnan(s.var) and s.min is None

    def test_from_extended_stats_population_variance_fallback(self) -> None:
        """Without variance_sampling the population variance is rescaled by n/(n-1)."""
        s = stats.Summary.from_extended_stats({"count": 4, "avg": 1.0, "variance": 1.5})
        assert s.var == pytest.approx(2.0)

    def test_rounding_negative_variance_is_clamped(self) -> None:
        """A slightly negative variance (E[x^2] - E[x]^2 rounding) becomes 0."""
        d = {"count": 3, "avg": 0.1, "min": 0.1, "max": 0.1, "variance_sampling": -1e-18}
        assert stats.Summary.from_extended_stats(d).var == 0.0

    def test_single_value_has_undefined_variance(self) -> None:
        """A variance reported for a single value is ignored (NaN)."""
        s = stats.Summary.from_extended_stats({"count": 1, "avg": 5.0, "variance_sampling": 0.0})
        assert math.isnan(s.var) and math.isnan(stats.Summary.from_values([5.0]).var)

    def test_rejects_negative_n_and_variance(self) -> None:
        """Negative counts or variances are caller bugs and raise ValueError."""
        with pytest.raises(ValueError, match="n must be"):
            stats.Summary(-1.0, 0.0, 1.0)
        with pytest.raises(ValueError, match="var must be"):
            stats.Summary(3.0, 0.0, -1.0)


class TestCounts:
    @pytest.mark.parametrize("bad", [[1.0, -1.0], [1.0, math.nan], [math.inf]])
    def test_invalid_counts_raise(self, bad: list[float]) -> None:
        """Negative, NaN and infinite counts raise a clear ValueError."""
        with pytest.raises(ValueError, match="counts must be"):
            as_counts(bad, "reference")

    def test_mappings_align_on_union_of_keys(self) -> None:
        """Category mappings are aligned on the sorted union of their keys."""
        ref, cur = align_counts({"a": 1.0, "b": 2.0}, {"c": 3.0, "a": 4.0})
        assert ref.tolist() == [1.0, 2.0, 0.0] and cur.tolist() == [4.0, 0.0, 3.0]

    def test_mismatched_inputs_raise(self) -> None:
        """Bin sequences of different length, or a mapping with a sequence, raise."""
        with pytest.raises(ValueError, match="differ in length"):
            align_counts([1.0, 2.0], [1.0])
        with pytest.raises(ValueError, match="both be mappings"):
            align_counts({"a": 1.0}, [1.0])

    def test_every_test_rejects_nan_counts(self) -> None:
        """Public tests reject NaN counts instead of returning garbage."""
        with pytest.raises(ValueError, match="finite"):
            stats.ks([1.0, math.nan], [1.0, 1.0])
        with pytest.raises(ValueError, match="finite"):
            stats.missing_rate(math.nan, 10.0, 1.0, 10.0)
        with pytest.raises(ValueError, match="count <= total"):
            stats.oov_rate(11.0, 10.0, 1.0, 10.0)


class TestResultType:
    def test_verdict_fields_default_to_none(self) -> None:
        """A fresh result has no adjusted p-value and no drift decision yet."""
        r = stats.TestResult("ks", 0.1, 0.5, 0.1, "ks_d", 0.1, 10.0, 10.0)
        assert r.p_value_adjusted is None and r.drifted is None and r.note == ""

    def test_public_all_is_sorted(self) -> None:
        """The package re-exports a sorted __all__ whose names all exist."""
        assert stats.__all__ == sorted(stats.__all__)
        assert all(hasattr(stats, name) for name in stats.__all__)
