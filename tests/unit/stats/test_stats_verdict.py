"""Tests for predwatch.analyzers.stats.verdict (VerdictPolicy and feature_drifted)."""

from __future__ import annotations

import dataclasses

import pytest

from predwatch.analyzers import stats
from predwatch.analyzers.stats import TestResult


def _result(
    name: str, p: float | None, effect: float | None, statistic: float | None = 1.0
) -> TestResult:
    return TestResult(name, statistic, p, effect, "e", 0.0, 100.0, 100.0)


class TestVerdictPolicy:
    def test_p_value_test_needs_significance_and_effect(self) -> None:
        """A test with a p-value drifts only if adjusted p < alpha and effect >= threshold."""
        policy = stats.VerdictPolicy()
        out = policy.apply(
            [_result("ks", 1e-9, 0.2), _result("ks", 1e-9, 0.05), _result("ks", 0.5, 0.3)]
        )
        assert [r.drifted for r in out] == [True, False, False]

    def test_fills_adjusted_p_values_over_the_whole_run(self) -> None:
        """p_value_adjusted is Holm over every counted result; results without one stay None."""
        results = [
            _result("ks", 0.01, 0.5),
            _result("t_test", 0.04, 0.5),
            _result("psi", None, 0.5),
        ]
        out = stats.VerdictPolicy().apply(results)
        assert [r.p_value_adjusted for r in out] == [0.02, 0.04, None]
        assert [r.drifted for r in out] == [True, True, False]

    def test_no_result_alarms_on_its_effect_alone(self) -> None:
        """A distance at its threshold drifts only with a significant p-value (it did alone)."""
        policy = stats.VerdictPolicy()
        for name in ("psi", "js", "linf", "wasserstein", "cramers_v"):
            threshold = stats.DEFAULT_THRESHOLDS[name]
            hit, noise, none, small = policy.apply(
                [
                    _result(name, 1e-6, threshold),
                    _result(name, 0.5, threshold * 3),
                    _result(name, None, threshold * 3),
                    _result(name, 1e-6, threshold * 0.9),
                ]
            )
            assert (hit.drifted, noise.drifted, none.drifted, small.drifted) == (
                True,
                False,
                False,
                False,
            )

    def test_trivial_results_stay_out_of_the_correction(self) -> None:
        """A rate of 0 on both sides (p = 1) stays out of the correction: it dilutes nothing."""
        trivial = stats.missing_rate(0, 1000, 0, 1000)
        assert trivial.trivial
        out = stats.VerdictPolicy().apply([_result("ks", 0.03, 0.5), trivial, trivial])
        assert out[0].p_value_adjusted == 0.03 and out[0].drifted
        assert out[1].p_value_adjusted is None and not out[1].drifted

    def test_minimum_detectable_effect_is_filled(self) -> None:
        """Each counted result gets the effect it detects at 80 % power at level alpha / m."""
        small, large = stats.VerdictPolicy().apply(
            [
                dataclasses.replace(_result("t_test", 0.5, 0.0), n_reference=50, n_current=50),
                dataclasses.replace(_result("t_test", 0.5, 0.0), n_reference=5e4, n_current=5e4),
            ]
        )
        # z(1 - 0.025 / 2) + z(0.8) = 2.241 + 0.842, times sqrt(2 / n).
        assert small.min_detectable_effect == pytest.approx(3.0830 * (2 / 50) ** 0.5, rel=1e-3)
        assert large.min_detectable_effect == pytest.approx(3.0830 * (2 / 5e4) ** 0.5, rel=1e-3)
        assert small.detectable is False and large.detectable is True

    def test_undefined_results_never_drift(self) -> None:
        """Results with None statistic or effect are judged not drifted."""
        out = stats.VerdictPolicy().apply([stats.ks([0.0], [1.0]), stats.psi({}, {"a": 1.0})])
        assert [r.drifted for r in out] == [False, False]

    def test_rates_only_drift_upwards(self) -> None:
        """A higher missing or OOV rate drifts; the same change downwards does not."""
        policy = stats.VerdictPolicy()
        up, down = policy.apply(
            [stats.missing_rate(10, 1000, 200, 1000), stats.oov_rate(200, 1000, 10, 1000)]
        )
        assert (up.drifted, down.drifted) == (True, False)

    def test_custom_thresholds_override_and_are_recorded(self) -> None:
        """A policy threshold replaces the result's and is written into the judged result."""
        policy = stats.VerdictPolicy(alpha=0.01, thresholds={"psi": 0.5})
        (r,) = policy.apply([_result("psi", 1e-9, 0.3)])
        assert (r.drifted, r.threshold) == (False, 0.5)
        (k,) = policy.apply([dataclasses.replace(_result("ks", 0.02, 0.5), threshold=0.1)])
        assert (k.drifted, k.threshold) == (False, 0.1)

    def test_policy_is_hashable(self) -> None:
        """Policies can be used as cache keys even though thresholds is a mapping."""
        assert hash(stats.VerdictPolicy()) == hash(stats.VerdictPolicy(thresholds={"ks": 0.2}))

    @pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1])
    def test_rejects_invalid_alpha(self, alpha: float) -> None:
        """alpha must lie strictly between 0 and 1."""
        with pytest.raises(ValueError, match="alpha"):
            stats.VerdictPolicy(alpha=alpha)

    def test_default_thresholds_cover_every_registered_test(self) -> None:
        """Every registered test has a default threshold, also recorded in its results."""
        assert set(stats.DEFAULT_THRESHOLDS) == set(stats.REGISTRY)
        assert (
            stats.chi2({"a": 1.0, "b": 2.0}, {"a": 2.0}).threshold
            == stats.DEFAULT_THRESHOLDS["chi2"]
        )


class TestFeatureDrifted:
    def test_any_drifted_result(self) -> None:
        """A feature drifted when at least one judged result drifted."""
        out = stats.VerdictPolicy().apply([_result("psi", 1e-9, 0.01), _result("linf", 1e-9, 0.3)])
        assert stats.feature_drifted(out) and not stats.feature_drifted(out[:1])
        assert not stats.feature_drifted([])

    def test_unjudged_results_raise(self) -> None:
        """Unjudged results raise instead of silently meaning 'no drift'."""
        with pytest.raises(ValueError, match=r"VerdictPolicy\.apply"):
            stats.feature_drifted([_result("psi", None, 0.5)])


class TestSharedPValues:
    def test_one_hypothesis_counts_once(self) -> None:
        """chi2, psi and js of one feature share X²'s p-value: one test in the correction."""
        ref, cur = {"a": 500.0, "b": 500.0}, {"a": 430.0, "b": 570.0}
        tests = [stats.chi2(ref, cur), stats.psi(ref, cur), stats.js(ref, cur)]
        assert len({t.p_value for t in tests}) == 1
        other = _result("ks", 0.5, 0.0)
        grouped = stats.VerdictPolicy().apply([*tests, other], ["f", "f", "f", "g"])
        flat = stats.VerdictPolicy().apply([*tests, other])
        p = tests[0].p_value
        assert p is not None
        assert grouped[0].p_value_adjusted == pytest.approx(min(1.0, 2 * p))  # m = 2, not 4
        assert flat[0].p_value_adjusted == pytest.approx(min(1.0, 4 * p))
        assert {t.p_value_adjusted for t in grouped[:3]} == {grouped[0].p_value_adjusted}

    def test_groups_must_match_results(self) -> None:
        """A group list of the wrong length is a caller bug."""
        with pytest.raises(ValueError, match="groups"):
            stats.VerdictPolicy().apply([_result("ks", 0.5, 0.0)], ["a", "b"])
