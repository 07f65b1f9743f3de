"""Run-level false alarms of `analyze --segment-by` stay at most alpha with many segments.

Simulated A/A runs (`calibration_sim`: heavy tails, categoricals of 5 to 20,000 values with
unseen values, missing values) with 20 segments of Zipf-distributed volume plus (other):
every segment's window and its reference are drawn from the same population, and the
segment sizes from the same mix. A run alarms when anything drifts: an overall feature, the
predictions, a segment's feature or predictions, a segment (vanished) or the segment mix.
Fixed seeds: deterministic. The count must stay under the 99.9 % binomial bound of a 5 %
rate; the rates of 1,000 runs (`benchmarks/sim_segment_aa.py`) and their 95 %
Clopper-Pearson intervals are in docs/segments.md.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from predwatch.analyzers.aggregates import WindowAggregates
from tests.helpers import calibration_sim as sim

RUNS = 100
BOUND = int(sps.binom.ppf(0.999, RUNS, 0.05))  # 11 of 100
SPEC = sim.segment_spec()


def _count(runs: list[list[sim.Alarm]]) -> tuple[int, list[str]]:
    causes = [f"{a.where} {a.feature}:{a.test}" for alarms in runs for a in alarms]
    return sum(bool(r) for r in runs), causes


@pytest.mark.slow
class TestSegmentedAAFalseAlarms:
    def test_drift_mode(self) -> None:
        """Of 100 A/A runs with 20 segments (2,000 to 20,000 rows a window), at most the
        99.9 % binomial bound of 5 % flag anything."""
        runs = sim.segmented_drift_runs(20_000, RUNS // 2, 1)
        runs += sim.segmented_drift_runs(2_000, RUNS // 2, 2)
        alarms, causes = _count(runs)
        assert alarms <= BOUND, causes

    def test_skew_mode(self) -> None:
        """Skew mode, per-segment training profiles (predictions included): the same bound."""
        alarms, causes = _count(sim.segmented_skew_runs(10_000, RUNS, 3))
        assert alarms <= BOUND, causes

    def test_same_harness_sees_a_segment_shift(self) -> None:
        """Not vacuous: a 0.5 sd shift of num_normal in one segment of 2,000 rows is named,
        and no other segment is."""
        pop, rng = sim.population(), np.random.default_rng(9)
        shares = sim.segment_shares()
        base = sim.baseline_from(pop, rng, 50_000)
        cur = sim.segmented_window(pop, base, rng, 20_000, SPEC, shares)
        ref = sim.segmented_window(pop, base, rng, 20_000, SPEC, shares)
        shifted = sim.window(sim.population(shift=0.5), base, rng, 2_000)
        segs = dict(cur.segments)
        segs[(SPEC.field, "r3")] = shifted
        ref_segs = dict(ref.segments)
        ref_segs[(SPEC.field, "r3")] = sim.window(pop, base, rng, 2_000)
        cur = WindowAggregates(None, cur.total, cur.features, cur.prediction, segments=segs)
        ref = WindowAggregates(None, ref.total, ref.features, ref.prediction, segments=ref_segs)
        assert {a.where for a in sim.segmented_alarms(base, cur, ref, SPEC)} == {"region=r3"}
