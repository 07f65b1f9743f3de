"""No false alarms at scale: 1,000,000 served rows x 50 features without drift, 20 seeds.

Indexing 20 x 1M documents in CI is not feasible, so the aggregation results are simulated:
a baseline is profiled from a 100,000-row training sample drawn from known distributions
(100 quantile bins, as the builder makes them), and each window's aggregates are what
Elasticsearch would return for 1M rows of the same distributions — bin and category counts
drawn with numpy's multinomial, missing and OOV counts with the binomial, means and
variances from their sampling distributions. They go through the same pure code path as a
real run (`compare.baseline_reference` -> `compare.compare` -> `compare.judge`).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from predwatch import schema
from predwatch.analyzers import compare as c
from predwatch.analyzers.aggregates import (
    CategoricalAggs,
    FeatureAggs,
    NumericAggs,
    PredictionAggs,
    TextAggs,
    WindowAggregates,
)
from predwatch.analyzers.stats import Summary, VerdictPolicy
from predwatch.baseline import (
    Baseline,
    CategoricalProfile,
    FeatureProfile,
    NumericProfile,
    PredictionProfile,
    TextProfile,
    Tokenizer,
)
from tests.helpers.calibration_sim import _numeric_profile, _zipf

N_TRAIN = 100_000
N_CUR = 1_000_000
SEEDS = range(20)
T = schema.FeatureType
NUMERIC = [
    sps.norm(0, 1),
    sps.lognorm(0.8),
    sps.expon(),
    sps.uniform(0, 10),
    sps.gamma(2.0),
    sps.t(5),
    sps.beta(2, 5),
    sps.norm(100, 15),
    sps.weibull_min(1.5),
    sps.logistic(),
]  # 3 of each -> 30 numeric features
CATEGORIES = [3, 5, 10, 50, 200, 2000]  # Zipf-like; 15 categorical features
MISSING = [0.0, 0.01, 0.05]
OOV_RATES = [0.001, 0.01, 0.05, 0.02, 0.005]  # 5 text features


def _numeric_window(
    rng: np.random.Generator,
    dist: sps.rv_continuous,
    p: NumericProfile,
    missing: float,
    shift: float = 0.0,
) -> NumericAggs:
    n = rng.binomial(N_CUR, 1.0 - missing)
    cdf = dist.cdf(np.asarray(p.edges) - shift)
    probs = np.diff(np.r_[0.0, cdf, 1.0])
    bins = rng.multinomial(n, probs / probs.sum())
    mean, var, _, kurt = (float(v) for v in dist.stats(moments="mvsk"))
    s_mean = rng.normal(mean + shift, math.sqrt(var / n))
    s_var = max(1e-12, rng.normal(var, var * math.sqrt((kurt + 2.0) / n)))
    summary = Summary(float(n), s_mean, s_var, float(dist.ppf(1e-7)), float(dist.ppf(1 - 1e-7)))
    return NumericAggs(tuple(map(float, bins)), summary, float(N_CUR), float(N_CUR - n))


def simulate(seed: int, *, shift: bool = False) -> tuple[Baseline, WindowAggregates]:
    """A baseline from training rows and a 1M-row serving window of the same distributions
    (with `shift`, feature num0 moves by 0.25 sd and cat0's top category loses 15 points)."""
    rng = np.random.default_rng(seed)
    features: list[FeatureProfile] = []
    window: dict[str, FeatureAggs] = {}
    for i in range(30):
        dist, m = NUMERIC[i % len(NUMERIC)], MISSING[i % 3]
        x = dist.rvs(size=N_TRAIN, random_state=rng)
        miss = int(rng.binomial(N_TRAIN, m))
        prof = _numeric_profile(x[miss:])
        name = f"num{i}"
        features.append(FeatureProfile(name, T.NUMERIC, N_TRAIN, miss, numeric=prof))
        moved = 0.25 * float(dist.std()) if shift and i == 0 else 0.0
        window[name] = _numeric_window(rng, dist, prof, m, moved)
    for i in range(15):
        k, m = CATEGORIES[i % len(CATEGORIES)], MISSING[i % 3]
        p = _zipf(k)
        miss = int(rng.binomial(N_TRAIN, m))
        train = rng.multinomial(N_TRAIN - miss, p)
        seen = {f"v{j}" for j in range(k) if train[j] > 0}
        order = sorted(range(k), key=lambda j: -train[j])
        top = {f"v{j}": int(train[j]) for j in order[:1000] if train[j] > 0}
        prof = CategoricalProfile(
            top, int(train.sum()) - sum(top.values()), frozenset(seen), int(train.sum())
        )
        name = f"cat{i}"
        features.append(FeatureProfile(name, T.CATEGORICAL, N_TRAIN, miss, categorical=prof))
        if shift and i == 0:
            p = p.copy()
            p[0] -= 0.15
            p[-1] += 0.15
        n = rng.binomial(N_CUR, 1.0 - m)
        cur = rng.multinomial(n, p)
        cur_top = {v: float(cur[int(v[1:])]) for v in top}
        unseen = float(sum(cur[j] for j in range(k) if f"v{j}" not in seen))
        other = float(n) - sum(cur_top.values()) - unseen
        window[name] = CategoricalAggs(cur_top, other, unseen, float(N_CUR), float(N_CUR - n))
    for i, rate in enumerate(OOV_RATES):
        expected = rng.binomial(100_000, rate) / 100_000  # measured on a held-out split
        length = _numeric_profile(rng.poisson(12, 5000).astype(float))
        prof_t = TextProfile(Tokenizer(), {"w": 1}, expected, length, N_TRAIN)
        name = f"text{i}"
        features.append(FeatureProfile(name, T.TEXT, N_TRAIN, 0, text=prof_t))
        tokens = float(rng.poisson(12 * N_CUR))
        window[name] = TextAggs(
            float(N_CUR),
            0.0,
            tokens,
            float(rng.binomial(int(tokens), rate)),
            Summary(float(N_CUR), 12.0, 12.0),
        )
    score = sps.beta(2, 3)
    value = _numeric_profile(score.rvs(size=N_TRAIN, random_state=rng))
    baseline = Baseline(
        "sim",
        "1",
        None,
        None,
        "2026-01-01T00:00:00Z",
        N_TRAIN,
        tuple(features),
        PredictionProfile("regression", value=value),
    )
    pred = PredictionAggs(_numeric_window(rng, score, value, 0.0), None)
    return baseline, WindowAggregates(None, float(N_CUR), window, pred)


def _flagged(seed: int, *, shift: bool = False) -> set[str]:
    baseline, current = simulate(seed, shift=shift)
    comp = c.compare(baseline, current, c.baseline_reference(baseline))
    judged = c.judge(comp, VerdictPolicy())
    return {f.feature for f in (*judged.features, *judged.predictions) if f.drifted}


@pytest.mark.slow
class TestNoFalseAlarms:
    def test_one_million_rows_fifty_features(self) -> None:
        """Without drift, at least 19 of 20 seeds flag nothing (50 features + predictions)."""
        flagged = {seed: _flagged(seed) for seed in SEEDS}
        clean = sum(1 for f in flagged.values() if not f)
        assert clean >= 19, {s: f for s, f in flagged.items() if f}

    @pytest.mark.parametrize("seed", [0, 1])
    def test_the_same_harness_sees_real_shifts(self, seed: int) -> None:
        """The simulation is not vacuous: a 0.25 sd mean shift and 15 points of category
        mass moved are flagged, and nothing else."""
        assert _flagged(seed, shift=True) == {"num0", "cat0"}
