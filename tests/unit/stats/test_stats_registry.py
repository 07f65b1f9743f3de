"""Tests for predwatch.analyzers.stats.registry (test descriptors and defaults per type)."""

from __future__ import annotations

import numpy as np

from predwatch.analyzers import stats
from predwatch.analyzers.stats import Summary


def _call(spec: stats.TestSpec) -> stats.TestResult:
    """Call a test the way its kind says a caller must."""
    if spec.kind == "binned":
        extra = {
            "edges": [0.0, 1.0],
            "reference_summary": Summary(60.0, 0.5, 1.0, -2.0, 3.0),
            "reference_sums": [-5.0, 15.0, 30.0],
            "current_sums": None,  # unknown: bin points instead
        }
        kwargs = {k: extra[k] for k in spec.extra_inputs}
        return spec.func([10.0, 30.0, 20.0], [20.0, 20.0, 20.0], **kwargs)
    if spec.kind == "categorical":
        return spec.func({"a": 10.0, "b": 5.0}, {"a": 4.0, "c": 6.0})
    if spec.kind == "summary":
        return spec.func(Summary(50.0, 0.0, 1.0), Summary(40.0, 0.4, 2.0))
    return spec.func(5.0, 100.0, 9.0, 120.0)


class TestRegistry:
    def test_every_spec_is_callable_by_kind(self) -> None:
        """Each descriptor's func accepts its kind's calling convention and reports its name."""
        for name, spec in stats.REGISTRY.items():
            result = _call(spec)
            assert spec.name == name == result.name
            assert result.threshold == spec.default_threshold == stats.DEFAULT_THRESHOLDS[name]
            assert spec.description and spec.kind in {
                "binned",
                "categorical",
                "summary",
                "proportion",
            }

    def test_default_tests_per_feature_type(self) -> None:
        """Defaults exist for every feature type and only name tests valid for that type."""
        assert stats.DEFAULT_TESTS["numeric"] == (
            "ks",
            "psi",
            "wasserstein",
            "t_test",
            "missing_rate",
            "out_of_range_rate",
        )
        assert stats.DEFAULT_TESTS["categorical"] == (
            "chi2",
            "psi",
            "js",
            "linf",
            "missing_rate",
            "oov_rate",
        )
        assert stats.DEFAULT_TESTS["text"] == ("oov_rate", "missing_rate")
        assert stats.DEFAULT_TESTS["prediction"] == ("ks", "psi", "wasserstein", "t_test")
        for feature_type, names in stats.DEFAULT_TESTS.items():
            assert all(feature_type in stats.REGISTRY[n].feature_types for n in names)

    def test_categorical_kind_accepts_bin_sequences(self) -> None:
        """Tests of kind 'categorical' also take bin count sequences (numeric features)."""
        for spec in stats.REGISTRY.values():
            if spec.kind == "categorical":
                assert spec.func(np.array([1.0, 2.0]), np.array([2.0, 1.0])).effect_size is not None
