"""The share of values outside the training [min, max] is a judged test (out_of_range_rate).

Against the baseline the reference share is 0 by construction (min and max come from the
training values), so the null is the share a new sample of the same distribution shows:
BetaBinomial(m, 2, n - 1) values beyond the extremes of n training values. A/A simulations
below draw a fresh training sample and a fresh window per run (fixed seeds: deterministic).
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats as sps

from predwatch.analyzers import compare as c
from predwatch.analyzers import job, queries
from predwatch.analyzers.aggregates import NumericAggs, Window
from predwatch.analyzers.report import Report
from predwatch.analyzers.stats import Summary, VerdictPolicy, out_of_range_rate
from predwatch.analyzers.stats.proportions import _betabinom_sf, two_proportions
from tests.helpers import analyze_samples as smp

RUNS = 2000
ALPHA = 0.05
BOUND = int(sps.binom.ppf(0.999, RUNS, ALPHA))  # 999th permille of a 5 % rate: 129 of 2000


def _exact_sf(k: int, m: int, n: int) -> Fraction:
    """P(K >= k), K ~ BetaBinomial(m, 2, n - 1), in exact rational arithmetic."""

    def beta(a: int, b: int) -> Fraction:  # B(a, b) for positive integers
        return Fraction(math.factorial(a - 1) * math.factorial(b - 1), math.factorial(a + b - 1))

    norm = beta(2, n - 1)
    return sum(
        (math.comb(m, j) * beta(j + 2, m - j + n - 1) / norm for j in range(k, m + 1)),
        Fraction(0),
    )


def _outside(rng: np.random.Generator, draw: str, n: int, m: int) -> float:
    """Values of a fresh m-row window outside the range of a fresh n-row training sample."""

    def sample(size: int) -> np.ndarray:
        if draw == "normal":
            return rng.normal(size=size)
        if draw == "lognormal":
            return rng.lognormal(0.0, 2.0, size=size)
        return rng.poisson(3.0, size=size).astype(float)  # ties at the extremes

    train, serve = sample(n), sample(m)
    return float(np.sum((serve < train.min()) | (serve > train.max())))


class TestBetaBinomialTail:
    @pytest.mark.parametrize(("k", "m", "n"), [(0, 20, 5), (1, 20, 5), (3, 30, 10), (12, 40, 8)])
    def test_matches_exact_rational_sum(self, k: int, m: int, n: int) -> None:
        """The tail summed from log-gamma terms equals the exact rational sum."""
        assert _betabinom_sf(k, m, 2.0, n - 1.0) == pytest.approx(float(_exact_sf(k, m, n)))

    def test_far_tail_beyond_scipys_precision(self) -> None:
        """A share of 40 % against 100 training values: Beta(2, 99) puts about 40.6 * 0.6**99
        of its mass there, and the sum finds it (1 - cdf would round it to 0)."""
        expected = 0.6**99 * (1 + 99 * 0.4)  # P(Beta(2, 99) > 0.4): the window's share
        assert _betabinom_sf(400_000, 1_000_000, 2.0, 99.0) == pytest.approx(expected, rel=0.05)


@pytest.mark.slow
class TestFalseAlarms:
    @pytest.mark.parametrize("draw", ["normal", "lognormal", "poisson"])
    @pytest.mark.parametrize(("n", "m"), [(50, 200), (500, 20_000), (5000, 2000)])
    def test_aa_rejections_at_most_alpha(self, draw: str, n: int, m: int) -> None:
        """Of 2,000 no-drift runs (new training sample and window each time), at most the
        99.9 % binomial bound of 5 % reach p < 0.05 before any correction or threshold."""
        rng = np.random.default_rng(n + m + len(draw))
        hits = sum(
            out_of_range_rate(0.0, float(n), _outside(rng, draw, n, m), float(m), True).p_value
            < ALPHA
            for _ in range(RUNS)
        )
        assert hits <= BOUND

    def test_a_zero_reference_share_would_alarm(self) -> None:
        """The naive null (the baseline's share of 0, two-proportion z) rejects most A/A runs:
        the reason the baseline's own share is not the reference."""
        rng = np.random.default_rng(3)
        naive = sum(
            two_proportions(
                "out_of_range_rate",
                0.0,
                500.0,
                _outside(rng, "normal", 500, 20_000),
                20_000.0,
                increase_only=True,
            ).p_value
            < ALPHA
            for _ in range(200)
        )
        assert naive > 4 * ALPHA * 200  # 27 % of the runs with this seed

    def test_judged_runs_stay_quiet_on_small_training_samples(self) -> None:
        """With 50 training values and 20,000 served (the expected share outside is 4 %, and
        one window sees far more by chance), judged runs flag at most alpha of the time."""
        rng = np.random.default_rng(11)
        policy = VerdictPolicy()
        flagged = sum(
            bool(
                policy.apply(
                    [out_of_range_rate(0.0, 50.0, _outside(rng, "normal", 50, 20_000), 2e4, True)]
                )[0].drifted
            )
            for _ in range(RUNS)
        )
        assert flagged <= BOUND


def _numeric(out: float, n: float = 1000.0) -> NumericAggs:
    return NumericAggs((n / 4,) * 4, Summary(n, 38.0, 100.0), n, 0.0, out_of_range=out)


def _report_with_age_outside(share: float) -> Report:
    """The canned run of test_analyze_report with `share` of age's values outside the range."""
    b = smp.baseline()
    window = Window(smp.START, smp.END)
    reqs = queries.plan(b, window)
    resp = [smp.feature_response(), smp.prediction_response()]
    current = queries.parse(b, window, reqs, resp).aggregates
    age = current.features["age"]
    assert isinstance(age, NumericAggs)
    age = dataclasses.replace(age, out_of_range=round(share * age.n))
    current = dataclasses.replace(current, features={**current.features, "age": age})
    cfg = job.AnalyzeConfig(model="m1", window=window)
    return job.build_report(b, cfg, current, c.baseline_reference(b), current, smp.END)


class TestInTheRun:
    def test_forty_percent_outside_is_a_finding(self) -> None:
        """A window with 39.6 % of its values outside the training range drifts on
        out_of_range_rate, and the report's JSON, findings and drift documents say so."""
        report = _report_with_age_outside(0.396)
        age_result = next(f for f in report.comparison.features if f.feature == "age")
        test = next(t for t in age_result.tests if t.name == "out_of_range_rate")
        assert test.drifted and test.effect_size is not None and test.effect_size > 1.0
        assert "drift in feature 'age'" in report.findings
        feat = next(f for f in report.to_dict()["features"] if f["feature"] == "age")
        assert feat["rates"]["out_of_range_reference"] == pytest.approx(2 / 1001)
        assert "out_of_range_rate" in [t["name"] for t in feat["tests"] if t["drifted"]]
        stored = [d for d in job.documents(report) if d.get("test") == "out_of_range_rate"]
        assert [d["drifted"] for d in stored] == [True]

    def test_expected_share_is_not_a_finding(self) -> None:
        """The same run with 0.2 % outside (what 1,000 training values leave) flags nothing
        on age."""
        report = _report_with_age_outside(0.002)
        assert "age" not in report.drifted_features

    def test_between_windows_it_is_the_two_proportion_test(self) -> None:
        """Drift mode: both windows are counted against the same training range, so the
        previous window's share is the reference (the one-sided z test)."""
        b = smp.baseline()
        profile = next(f.numeric for f in b.features if f.numeric is not None)
        res = c.compare_numeric(
            "age", "numeric", profile, _numeric(30.0), _numeric(30.0), ("out_of_range_rate",), 100
        )
        (test,) = res.tests
        assert test.p_value == pytest.approx(0.5)
        assert res.rates["out_of_range_reference"] == pytest.approx(0.03)

    def test_predictions_show_no_range_share(self) -> None:
        """Prediction values are not counted against a range, so no share is shown for them
        (a row of "0 %" would claim a check that never ran)."""
        report = _report_with_age_outside(0.0)
        (pred,) = [f for f in report.comparison.predictions if f.feature == "prediction.value"]
        assert not any(k.startswith("out_of_range") for k in pred.rates)
        assert "out_of_range_rate" not in [t.name for t in pred.tests]
