"""A/A: windows drawn like the reference are not flagged by estimated_quality more than alpha.

Each simulated baseline fits the map on 20,000 labelled reference rows (5 folds, as
`baseline build --target-column`), stores the bins and the reference's realized metrics;
each window draws its scores from the same distribution, and is estimated and judged as
`quality --estimate` does (`quality_estimate.judge`, 95 % intervals, min count 30). A run is
flagged when any of the five estimates dropped (exit 1). 10 baselines x 20 windows per
window size and tolerance, fixed seeds: deterministic. The count must stay under the 99.9 %
binomial bound of a 5 % rate; the observed rates and their 95 % Clopper-Pearson intervals
are in docs/estimated-performance.md.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from predwatch.analyzers import estimate as est
from predwatch.analyzers import quality_ci as ci
from predwatch.analyzers import quality_estimate as qe
from predwatch.analyzers import score_calibration as sc
from predwatch.analyzers.estimate_edges import estimation_edges

BASELINES = 10
WINDOWS = 20
RUNS = BASELINES * WINDOWS
ALPHA = 0.05
BOUND = int(sps.binom.ppf(0.999, RUNS, ALPHA))  # 20 of 200
Z = ci.z_value(1 - ALPHA)


def _truth(s: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-4.0 * (s - 0.6))))


def _baseline(seed: int) -> qe.Estimation:
    rng = np.random.default_rng(seed)
    s = rng.beta(2.0, 3.0, 20_000)
    y = rng.random(len(s)) < _truth(s)
    fold = rng.integers(0, sc.FOLDS, len(s))
    folds = []
    for f in range(sc.FOLDS):
        b = sc.BinnedLabels(sc.Grid().edges(0.5))
        b.add(s[fold == f], y[fold == f])
        folds.append(b)
    fitted = sc.fit(folds)
    every = folds[0].merged(folds[1:])
    edges = estimation_edges(fitted.calibration, 0.5, every)
    realized = est.realized_binary(every, 0.5)
    return qe.Estimation(fitted.calibration, edges, 0.5, "1", "prediction.value", realized, "m@1")


def _flagged(e: qe.Estimation, rng: np.random.Generator, n: int, tolerance: float) -> bool:
    s = rng.beta(2.0, 3.0, n)
    k = len(e.edges) + 1
    idx = sc.bin_index(e.edges, s)
    counts = np.bincount(idx, minlength=k)
    sums = np.bincount(idx, weights=s, minlength=k)
    assert e.calibration is not None
    ests = est.binary(e.calibration, e.edges, counts, sums=sums, threshold=0.5, z=Z)
    groups = qe.judge({"*": ests}, {}, e, tolerance=tolerance, min_count=30)
    return bool(qe.regressed(groups))


@pytest.fixture(scope="module")
def baselines() -> list[qe.Estimation]:
    return [_baseline(100 + i) for i in range(BASELINES)]


@pytest.mark.parametrize("n", [300, 2_000, 20_000])
@pytest.mark.parametrize("tolerance", [0.02, 0.0])
def test_reference_like_windows_are_rarely_flagged(
    baselines: list[qe.Estimation], n: int, tolerance: float
) -> None:
    """At the default tolerance and at none, A/A windows of 300 to 20,000 predictions are
    flagged in at most the 99.9 % binomial bound of alpha = 5 % of 200 runs."""
    rng = np.random.default_rng(n + int(tolerance * 1000))
    flagged = sum(_flagged(e, rng, n, tolerance) for e in baselines for _ in range(WINDOWS))
    assert flagged <= BOUND, f"{flagged}/{RUNS} A/A runs flagged (bound {BOUND})"


def test_a_real_drop_is_flagged(baselines: list[qe.Estimation]) -> None:
    """The same judge does flag windows whose scores moved to where the model is unsure
    (the A/A test is not passing because nothing can ever be flagged)."""
    rng = np.random.default_rng(7)
    flagged = 0
    for e in baselines:
        s = rng.beta(12.0, 12.0, 2_000)  # piled around 0.5: accuracy falls
        k = len(e.edges) + 1
        idx = sc.bin_index(e.edges, s)
        assert e.calibration is not None
        ests = est.binary(
            e.calibration,
            e.edges,
            np.bincount(idx, minlength=k),
            sums=np.bincount(idx, weights=s, minlength=k),
            threshold=0.5,
            z=Z,
        )
        groups = qe.judge({"*": ests}, {}, e, tolerance=0.02, min_count=30)
        flagged += "estimated.accuracy@*" in qe.regressed(groups)
    assert flagged == BASELINES
