"""Confidence intervals of the quality metrics and the regression verdict."""

from __future__ import annotations

import math

import numpy as np
import pytest

from predwatch.analyzers import quality_ci as ci

Z = 1.959963984540054


class TestZValue:
    def test_95(self) -> None:
        """95 % confidence is z = 1.96."""
        assert ci.z_value(0.95) == pytest.approx(Z)

    def test_out_of_range(self) -> None:
        """A confidence outside (0, 1) is refused."""
        with pytest.raises(ValueError):
            ci.z_value(1.0)


class TestWilson:
    def test_known_values(self) -> None:
        """Wilson's interval of 0/10 and 8/10 (published values)."""
        low, high = ci.wilson(0, 10, Z)
        assert low == 0.0
        assert high == pytest.approx(0.2775, abs=1e-4)
        low, high = ci.wilson(8, 10, Z)
        assert (low, high) == pytest.approx((0.4902, 0.9433), abs=1e-4)

    def test_empty(self) -> None:
        """No trials, no interval."""
        assert ci.wilson(0, 0, Z) is None

    def test_coverage(self) -> None:
        """About 95 % of the intervals of simulated proportions cover the true one."""
        rng = np.random.default_rng(1)
        p, n = 0.83, 200
        ks = rng.binomial(n, p, 4000)
        covered = 0
        for k in ks:
            interval = ci.wilson(int(k), n, Z)
            assert interval is not None
            covered += interval[0] <= p <= interval[1]
        assert 0.93 <= covered / ks.size <= 0.97


class TestF1Interval:
    def test_matches_simulated_spread(self) -> None:
        """The delta-method half-width is close to 1.96 sd of F1 over simulated samples."""
        rng = np.random.default_rng(3)
        probs = [0.2, 0.05, 0.08, 0.67]  # TP, FP, FN, TN
        n = 2000
        f1s = []
        for counts in rng.multinomial(n, probs, 3000):
            tp, fp, fn, _ = counts
            f1s.append(2 * tp / (2 * tp + fp + fn))
        tp, fp, fn, tn = (p * n for p in probs)
        low, high = ci.f1_interval(tp, fp, fn, tn, Z)  # type: ignore[misc]
        assert (high - low) / 2 == pytest.approx(Z * float(np.std(f1s)), rel=0.1)

    def test_undefined(self) -> None:
        """No positives at all, no interval."""
        assert ci.f1_interval(0, 0, 0, 10, Z) is None


class TestHanleyMcNeil:
    def test_formula(self) -> None:
        """The standard error of Hanley & McNeil (1982) for A = 0.8, 50 + 50 cases."""
        a, p, q = 0.8, 50, 50
        q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
        expected = math.sqrt((a * (1 - a) + (p - 1) * (q1 - a * a) + (q - 1) * (q2 - a * a)) / 2500)
        assert ci.hanley_mcneil_se(a, p, q) == pytest.approx(expected)
        assert ci.hanley_mcneil_se(a, 500, 500) < expected  # more cases, smaller error

    def test_one_class(self) -> None:
        """Without positives or negatives there is no standard error."""
        assert ci.hanley_mcneil_se(0.5, 0, 10) is None


class TestMeanIntervals:
    def test_mean_and_sqrt(self) -> None:
        """mean +- z sd/sqrt(n); the square-root interval never goes below zero."""
        low, high = ci.mean_interval(2.0, 4.0, 100, Z)  # type: ignore[misc]
        assert (low, high) == pytest.approx((2.0 - Z * 0.2, 2.0 + Z * 0.2))
        assert ci.sqrt_interval((-1.0, 4.0)) == (0.0, 2.0)
        assert ci.mean_interval(1.0, math.nan, 1, Z) is None

    def test_macro(self) -> None:
        """The macro interval uses the mean of the per-class variances over C^2."""
        low, high = ci.macro_interval(0.5, [(0.5, 100), (0.5, 100)], Z)  # type: ignore[misc]
        half = Z * math.sqrt((0.25 / 100 + 0.25 / 100) / 4)
        assert (low, high) == pytest.approx((0.5 - half, 0.5 + half))


class TestJudge:
    def test_higher_is_better(self) -> None:
        """Regressed when the value is below reference - tolerance and the loss is beyond
        chance; a loss within the tolerance, or within the noise, is not."""
        bad = ci.judge(0.80, (0.78, 0.82), True, 0.90, 0.02, 1000, 30)
        assert bad.regressed is True and bad.beyond
        assert bad.threshold == pytest.approx(0.88)
        assert ci.judge(0.89, (0.88, 0.90), True, 0.90, 0.02, 1000, 30).regressed is False
        noisy = ci.judge(0.85, (0.70, 1.0), True, 0.90, 0.02, 1000, 30)
        assert noisy.beyond and noisy.regressed is False

    def test_lower_is_better_is_relative(self) -> None:
        """For errors the tolerance is relative: MAE 10 -> regressed above 10.2."""
        assert ci.judge(11.0, (10.5, 11.5), False, 10.0, 0.02, 500, 30).regressed is True
        assert ci.judge(10.15, (10.0, 10.3), False, 10.0, 0.02, 500, 30).regressed is False

    def test_a_noisy_reference_is_not_taken_as_exact(self) -> None:
        """The same loss against a previous window as noisy as this one is not a regression,
        against an exact reference it is."""
        exact = ci.judge(0.85, (0.82, 0.88), True, ci.Reference(0.90), 0.02, 500, 30)
        noisy = ci.judge(0.85, (0.82, 0.88), True, ci.Reference(0.90, 0.03), 0.02, 500, 30)
        assert exact.regressed is True and noisy.regressed is False
        assert noisy.p_value is not None and exact.p_value is not None
        assert noisy.p_value > exact.p_value

    def test_settle_is_holm_over_the_run(self) -> None:
        """A loss at p ~ 0.002 and two at p ~ 0.03: alone each flags at 0.05; Holm over the
        run keeps the first (0.006 < 0.05) and not the others (2 x 0.03 > 0.05)."""
        one = ci.judge(0.85, (0.8157, 0.8843), True, 0.90, 0.02, 500, 30)
        assert one.p_value == pytest.approx(0.002, abs=0.001) and one.regressed
        weak = ci.judge(0.87, (0.8386, 0.9014), True, 0.90, 0.02, 500, 30)
        assert weak.p_value is not None and 0.025 < weak.p_value < 0.05
        settled = ci.settle([one, weak, weak], 0.05)
        assert [v.regressed for v in settled] == [True, False, False]
        assert ci.settle([ci.Verdict(None, None, None)], 0.05)[0].regressed is None

    def test_not_judged(self) -> None:
        """No reference, no interval or too few rows: not judged, and the note says why."""
        assert ci.judge(0.8, (0.7, 0.9), True, None, 0.02, 100, 30).regressed is None
        few = ci.judge(0.1, (0.0, 0.2), True, 0.9, 0.02, 10, 30)
        assert few.regressed is None
        assert "min count" in few.note
        assert ci.judge(0.1, None, True, 0.9, 0.02, 100, 30).regressed is None
