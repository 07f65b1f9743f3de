"""Training references drawn on the dashboard: quantiles of a binned profile, expected rates."""

from __future__ import annotations

import math

import pytest

from predwatch.baseline import NumericProfile
from predwatch.grafana import training
from tests.helpers.kibana_fixtures import demo_baseline, regression_baseline


def _profile(edges: tuple[float, ...], counts: tuple[float, ...], lo: float, hi: float):
    return NumericProfile(edges, counts, 0.0, 1.0, lo, hi, int(sum(counts)))


class TestQuantile:
    def test_linear_within_the_bin(self) -> None:
        """The median of 4 equal bins over [0, 4] with edges 1, 2, 3 is 2."""
        p = _profile((1.0, 2.0, 3.0), (10, 10, 10, 10), 0.0, 4.0)
        assert training.quantile(p, 0.5) == pytest.approx(2.0)
        assert training.quantile(p, 0.1) == pytest.approx(0.4)
        assert training.quantile(p, 0.9) == pytest.approx(3.6)

    def test_matches_numpy_on_uniform_data(self) -> None:
        """On uniform data binned at its quantiles the estimate is close to the raw quantile."""
        import numpy as np

        values = np.linspace(0.0, 10.0, 10001)
        edges = tuple(float(e) for e in np.quantile(values, [0.2, 0.4, 0.6, 0.8]))
        counts = tuple(float(c) for c in np.histogram(values, [0.0, *edges, 10.0])[0])
        p = _profile(edges, counts, 0.0, 10.0)
        for q in (0.1, 0.5, 0.9):
            assert training.quantile(p, q) == pytest.approx(np.quantile(values, q), abs=0.01)

    def test_empty_bins_are_skipped(self) -> None:
        """A quantile never lands in an empty bin."""
        p = _profile((1.0, 2.0), (0, 10, 0), 0.0, 3.0)
        assert 1.0 <= training.quantile(p, 0.01) <= 2.0

    def test_no_counts_is_nan(self) -> None:
        """An empty profile has no quantile (NaN, not a crash)."""
        assert math.isnan(training.quantile(_profile((1.0,), (0, 0), 0.0, 2.0), 0.5))


class TestReferences:
    def test_score_reference_of_a_classifier(self) -> None:
        """A baseline with a numeric score gives ordered quantiles and its mean."""
        ref = training.score_reference(demo_baseline())
        assert ref is not None
        qs = [ref.quantiles[q] for q in training.QUANTILES]
        assert qs == sorted(qs)

    def test_no_baseline_no_reference(self) -> None:
        """Without a baseline there is nothing to draw."""
        assert training.score_reference(None) is None

    def test_expected_oov_only_for_categoricals(self) -> None:
        """Numeric features have no vocabulary; categoricals expect 0 unless truncated."""
        b = regression_baseline()
        numeric = next(f for f in b.features if f.numeric is not None)
        assert training.expected_oov_rate(numeric) is None
        cats = [f for f in demo_baseline().features if f.categorical is not None]
        assert cats and all(training.expected_oov_rate(f) is not None for f in cats)
