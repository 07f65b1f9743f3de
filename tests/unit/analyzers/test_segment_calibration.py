"""Run-level false alarms of `analyze --segment-by` stay at most alpha with many segments.

Simulated A/A runs (`calibration_sim`: heavy tails, categoricals of 5 to 20,000 values with
unseen values, missing values) with 20 segments of Zipf-distributed volume plus (other):
every segment's window and its reference are drawn from the same population, and the
segment sizes from the same mix. A run alarms when anything drifts: an overall feature, the
predictions, a segment's feature, a segment (vanished) or the segment mix. Fixed seeds:
deterministic. The count must stay under the 99.9 % binomial bound of a 5 % rate; the
observed rates and their 95 % Clopper-Pearson intervals are in docs/segments.md.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from predwatch.analyzers import compare as c
from predwatch.analyzers import segment_compare as sc
from predwatch.analyzers.aggregates import WindowAggregates
from predwatch.analyzers.segments import SegmentSpec
from predwatch.analyzers.stats import VerdictPolicy
from predwatch.baseline import Baseline
from tests.helpers import calibration_sim as sim

SEGMENTS = 20
RUNS = 100
BOUND = int(sps.binom.ppf(0.999, RUNS, 0.05))  # 11 of 100
SPEC = SegmentSpec("region", "inputs.region", tuple(f"r{i}" for i in range(SEGMENTS)))


def _shares() -> np.ndarray:
    p = sim._zipf(SEGMENTS + 1, 0.8)
    return p / p.sum()


def _window(
    pop: sim.Population, base: Baseline, rng: np.random.Generator, n: int
) -> WindowAggregates:
    """One window: overall aggregates, and per segment (sizes drawn from the mix)."""
    sizes = rng.multinomial(n, _shares())
    overall = sim.window(pop, base, rng, n)
    segs = {
        (SPEC.field, key): sim.window(pop, base, rng, int(size))
        for key, size in zip(SPEC.keys, sizes, strict=True)
    }
    return WindowAggregates(None, float(n), overall.features, overall.prediction, segments=segs)


def _flags(
    base: Baseline,
    cur: WindowAggregates,
    ref: WindowAggregates,
    refs: dict[tuple[str, str], Baseline] | None = None,
) -> list[str]:
    comparison = c.compare(base, cur, ref)
    segmented = sc.compare_segments(base, cur, ref, [SPEC], references=refs)
    overall, by_segment = sc.judge_run(comparison, segmented, VerdictPolicy())
    hits = [f.feature for f in (*overall.features, *overall.predictions) if f.drifted]
    hits += [f"mix {f.feature}" for f in by_segment.mix if f.drifted]
    hits += [r.name for r in by_segment.drifted_segments]
    return hits


def drift_alarms(n: int, runs: int, seed: int) -> tuple[int, list[str]]:
    """Drift mode: the window and a same-size reference window, both segmented."""
    pop, rng = sim.population(), np.random.default_rng(seed)
    base = sim.baseline_from(pop, rng, 50_000)
    alarms, causes = 0, []
    for _ in range(runs):
        hits = _flags(base, _window(pop, base, rng, n), _window(pop, base, rng, n))
        alarms += bool(hits)
        causes += hits
    return alarms, causes


def skew_alarms(n: int, runs: int, seed: int) -> tuple[int, list[str]]:
    """Skew mode: each segment against its own training profile (as the baseline stores)."""
    pop, rng = sim.population(), np.random.default_rng(seed)
    rows = 100_000
    base = sim.baseline_from(pop, rng, rows)
    sizes = rng.multinomial(rows, _shares())
    refs = {
        (SPEC.field, key): _segment_baseline(pop, base, rng, int(size))
        for key, size in zip(SPEC.keys, sizes, strict=True)
    }
    reference = c.baseline_reference(base)
    mix = {key: WindowAggregates(None, float(b.rows), {}) for key, b in refs.items()}
    reference = WindowAggregates(None, reference.total, reference.features, segments=mix)
    alarms, causes = 0, []
    for _ in range(runs):
        hits = _flags(base, _window(pop, base, rng, n), reference, refs)
        alarms += bool(hits)
        causes += hits
    return alarms, causes


def _segment_baseline(
    pop: sim.Population, base: Baseline, rng: np.random.Generator, rows: int
) -> Baseline:
    """A segment's training rows profiled on the baseline's own bins and table (as
    `baseline build --segment-by` does): its window aggregates, read as profiles."""
    import dataclasses

    from predwatch.baseline import CategoricalProfile, FeatureProfile, NumericProfile

    agg = sim.window(pop, base, rng, rows)
    features = []
    for fp in base.features:
        a = agg.features[fp.name]
        if fp.numeric is not None:
            s = a.summary  # type: ignore[union-attr]
            prof = NumericProfile(
                fp.numeric.edges,
                a.bins,
                s.mean,
                s.var,
                s.min,
                s.max,
                round(a.n),  # type: ignore[union-attr]
            )
            features.append(
                FeatureProfile(fp.name, fp.type, rows, round(a.missing), numeric=prof)  # type: ignore[union-attr]
            )
        elif fp.categorical is not None:
            top = {k: round(v) for k, v in a.top.items()}  # type: ignore[union-attr]
            other = round(a.other + a.unseen)  # type: ignore[union-attr]
            cat = CategoricalProfile(
                top, other, fp.categorical.vocabulary, sum(top.values()) + other, True
            )
            features.append(
                FeatureProfile(fp.name, fp.type, rows, round(a.missing), categorical=cat)  # type: ignore[union-attr]
            )
    return dataclasses.replace(base, rows=rows, features=tuple(features), prediction=None)


@pytest.mark.slow
class TestSegmentedAAFalseAlarms:
    def test_drift_mode(self) -> None:
        """Of 100 A/A runs with 20 segments (2,000 to 20,000 rows a window), at most the
        99.9 % binomial bound of 5 % flag anything."""
        alarms = 0
        causes: list[str] = []
        for n, seed in ((20_000, 1), (2_000, 2)):
            a, why = drift_alarms(n, RUNS // 2, seed)
            alarms, causes = alarms + a, causes + why
        assert alarms <= BOUND, causes

    def test_skew_mode(self) -> None:
        """Skew mode, per-segment training profiles: the same bound."""
        alarms, causes = skew_alarms(10_000, RUNS, 3)
        assert alarms <= BOUND, causes

    def test_same_harness_sees_a_segment_shift(self) -> None:
        """Not vacuous: a 0.5 sd shift of num_normal in one segment of 2,000 rows is named,
        and no other segment is."""
        pop, rng = sim.population(), np.random.default_rng(9)
        base = sim.baseline_from(pop, rng, 50_000)
        cur = _window(pop, base, rng, 20_000)
        ref = _window(pop, base, rng, 20_000)
        shifted = sim.window(sim.population(shift=0.5), base, rng, 2_000)
        segs = dict(cur.segments)
        segs[(SPEC.field, "r3")] = shifted
        ref_segs = dict(ref.segments)
        ref_segs[(SPEC.field, "r3")] = sim.window(pop, base, rng, 2_000)
        cur = WindowAggregates(None, cur.total, cur.features, cur.prediction, segments=segs)
        ref = WindowAggregates(None, ref.total, ref.features, ref.prediction, segments=ref_segs)
        assert _flags(base, cur, ref) == ["region=r3"]
