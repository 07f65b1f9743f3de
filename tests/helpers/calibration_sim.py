"""A/A and shifted simulations from raw rows, aggregated the way Elasticsearch aggregates them.

Every feature is drawn row by row from a known population (heavy tails, long-tail
categoricals with values never seen in training, missing values), so unseen values,
empty bins and sparse categories arise as they do in production. A baseline is profiled
from a training sample exactly as the builder does (quantile bins, top-K frequencies,
vocabulary, singletons); windows are folded onto it as `predwatch.analyzers.queries` folds
Elasticsearch's answers. Runs then go through the real pure path
(`compare.compare` -> `compare.judge`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from predwatch import schema
from predwatch.analyzers import compare as c
from predwatch.analyzers import segment_baseline
from predwatch.analyzers import segment_compare as sc
from predwatch.analyzers.aggregates import (
    CategoricalAggs,
    FeatureAggs,
    NumericAggs,
    PredictionAggs,
    WindowAggregates,
)
from predwatch.analyzers.segments import SegmentSpec
from predwatch.analyzers.stats import Summary, VerdictPolicy
from predwatch.baseline import (
    Baseline,
    CategoricalProfile,
    FeatureProfile,
    NumericProfile,
    PredictionProfile,
)

T = schema.FeatureType
BINS = 100
TOP_K = 1000

Draw = Callable[[np.random.Generator, int], np.ndarray]


def _zipf(k: int, s: float = 1.1) -> np.ndarray:
    p = 1.0 / np.arange(1, k + 1) ** s
    return p / p.sum()


@dataclass(frozen=True)
class Population:
    """Numeric draws (NaN = missing) and categorical draws (-1 = missing) per feature."""

    numeric: dict[str, Draw]
    categorical: dict[str, Draw]
    score: Draw


def _with_missing(draw: Draw, rate: float, missing: float) -> Draw:
    def f(rng: np.random.Generator, n: int) -> np.ndarray:
        x = draw(rng, n).astype(float)
        x[rng.random(n) < rate] = missing
        return x

    return f


def _categories(k: int, s: float = 1.1) -> Draw:
    p = _zipf(k, s)
    return lambda rng, n: rng.choice(k, size=n, p=p).astype(float)


def population(shift: float = 0.0, moved: float = 0.0) -> Population:
    """Heavy-tailed numerics and categoricals of 5, 100, 1,000 and 20,000 values (Zipf).

    `shift` moves num_normal by that many sd; `moved` moves that share of cat_100's top
    category to its tenth.
    """
    k100 = _zipf(100)
    if moved:
        k100 = k100.copy()
        k100[0] -= moved
        k100[9] += moved
    return Population(
        numeric={
            "num_normal": _with_missing(lambda r, n: r.normal(shift, 1.0, n), 0.02, np.nan),
            "num_lognormal": lambda r, n: r.lognormal(0.0, 1.5, n),
            "num_cauchy_like": lambda r, n: r.standard_t(1.5, n),
            "num_counts": lambda r, n: r.poisson(2.0, n).astype(float),
        },
        categorical={
            "cat_5": _with_missing(_categories(5), 0.05, -1),
            "cat_100": lambda r, n: r.choice(100, size=n, p=k100).astype(float),
            "cat_1000": _categories(1000, 1.0),
            "cat_20000": _categories(20000, 0.9),
        },
        score=lambda r, n: r.beta(2.0, 3.0, n),
    )


def _numeric_profile(x: np.ndarray) -> NumericProfile:
    x = np.sort(x)
    edges = np.unique(x[(np.arange(1, BINS) * x.size) // BINS])
    cuts = np.searchsorted(x, edges, side="left")
    counts = np.diff(np.r_[0, cuts, x.size])
    sums = np.add.reduceat(x, np.r_[0, cuts]) if x.size else np.zeros(counts.size)
    sums = np.where(counts > 0, sums, 0.0)
    return NumericProfile(
        tuple(map(float, edges)),
        tuple(map(float, counts)),
        float(x.mean()),
        float(x.var(ddof=1)),
        float(x.min()),
        float(x.max()),
        int(x.size),
        bin_means=tuple(
            float(s / c) if c else float("nan") for s, c in zip(sums, counts, strict=True)
        ),
    )


def _categorical_profile(x: np.ndarray) -> CategoricalProfile:
    values, counts = np.unique(x[x >= 0].astype(int), return_counts=True)
    order = np.lexsort((values, -counts))
    top = {f"v{values[i]}": int(counts[i]) for i in order[:TOP_K]}
    n = int(counts.sum())
    return CategoricalProfile(
        top,
        n - sum(top.values()),
        frozenset(f"v{v}" for v in values),
        n,
        singletons=int(np.sum(counts == 1)),
    )


def baseline_from(pop: Population, rng: np.random.Generator, rows: int) -> Baseline:
    features = []
    for name, draw in pop.numeric.items():
        x = draw(rng, rows)
        ok = x[np.isfinite(x)]
        prof = _numeric_profile(ok)
        features.append(FeatureProfile(name, T.NUMERIC, rows, rows - ok.size, numeric=prof))
    for name, draw in pop.categorical.items():
        x = draw(rng, rows)
        cprof = _categorical_profile(x)
        features.append(
            FeatureProfile(name, T.CATEGORICAL, rows, int(np.sum(x < 0)), categorical=cprof)
        )
    score = _numeric_profile(pop.score(rng, rows))
    return Baseline(
        "sim",
        "1",
        None,
        None,
        "2026-01-01T00:00:00Z",
        rows,
        tuple(features),
        PredictionProfile("regression", value=score),
    )


def _numeric_window(x: np.ndarray, p: NumericProfile) -> NumericAggs:
    ok = x[np.isfinite(x)]
    # Bins [e(i-1), e(i)), as the range aggregation on the baseline's edges counts them.
    idx = np.searchsorted(np.asarray(p.edges), ok, side="right")
    bins = np.bincount(idx, minlength=len(p.edges) + 1).astype(float)
    sums = np.bincount(idx, weights=ok, minlength=len(p.edges) + 1)
    summary = Summary.from_values(ok)
    outside = float(np.sum((ok < p.min) | (ok > p.max)))  # the shipper's out_of_range flag
    return NumericAggs(
        tuple(bins),
        summary,
        float(x.size),
        float(x.size - ok.size),
        out_of_range=outside,
        bin_sums=tuple(sums),
    )


def _categorical_window(x: np.ndarray, p: CategoricalProfile) -> CategoricalAggs:
    ok = x[x >= 0].astype(int)
    values, counts = np.unique(ok, return_counts=True)
    seen = dict(zip((f"v{v}" for v in values), counts.tolist(), strict=True))
    top = {k: float(seen.get(k, 0)) for k in p.frequencies}
    unseen = float(sum(n for k, n in seen.items() if k not in p.vocabulary))
    other = float(ok.size) - sum(top.values()) - unseen
    return CategoricalAggs(top, other, unseen, float(x.size), float(x.size - ok.size))


def window(pop: Population, base: Baseline, rng: np.random.Generator, n: int) -> WindowAggregates:
    out: dict[str, FeatureAggs] = {}
    for fp in base.features:
        if fp.numeric is not None:
            out[fp.name] = _numeric_window(pop.numeric[fp.name](rng, n), fp.numeric)
        elif fp.categorical is not None:
            out[fp.name] = _categorical_window(pop.categorical[fp.name](rng, n), fp.categorical)
    assert base.prediction is not None and base.prediction.value is not None
    score = _numeric_window(pop.score(rng, n), base.prediction.value)
    return WindowAggregates(None, float(n), out, PredictionAggs(score, None))


def flagged_tests(
    base: Baseline,
    current: WindowAggregates,
    reference: WindowAggregates | None,
    policy: VerdictPolicy | None = None,
) -> set[tuple[str, str]]:
    """(feature, test) pairs that drifted; `reference` None is skew mode (the baseline)."""
    ref = c.baseline_reference(base) if reference is None else reference
    judged = c.judge(c.compare(base, current, ref), policy or VerdictPolicy())
    return {
        (f.feature, t.name)
        for f in (*judged.features, *judged.predictions)
        for t in f.tests
        if t.drifted
    }


def alarm_runs(
    mode: str, n: int, runs: int, *, seed: int, baseline_rows: int = 50_000
) -> tuple[int, dict[tuple[str, str], int]]:
    """Runs (of `runs`) that flag anything under no drift, and which tests caused them.

    A new training sample every 25 runs, so the rate is not one baseline's luck.
    """
    pop = population()
    rng = np.random.default_rng(seed)
    alarms = 0
    causes: dict[tuple[str, str], int] = {}
    base = baseline_from(pop, rng, baseline_rows)
    for i in range(runs):
        if i and i % 25 == 0:
            base = baseline_from(pop, rng, baseline_rows)
        cur = window(pop, base, rng, n)
        ref = None if mode == "skew" else window(pop, base, rng, n)
        hits = flagged_tests(base, cur, ref)
        alarms += bool(hits)
        for h in hits:
            causes[h] = causes.get(h, 0) + 1
    return alarms, causes


# --- segmented runs (`analyze --segment-by`) ---------------------------------------------
SEGMENTS = 20


def segment_spec(segments: int = SEGMENTS) -> SegmentSpec:
    return SegmentSpec("region", "inputs.region", tuple(f"r{i}" for i in range(segments)))


def segment_shares(segments: int = SEGMENTS, s: float = 0.8) -> np.ndarray:
    """Zipf shares of the segments and (other), the last one."""
    p = _zipf(segments + 1, s)
    return p / p.sum()


def segmented_window(
    pop: Population,
    base: Baseline,
    rng: np.random.Generator,
    n: int,
    spec: SegmentSpec,
    shares: np.ndarray,
) -> WindowAggregates:
    """One window: overall aggregates, and per segment (sizes drawn from the mix)."""
    sizes = rng.multinomial(n, shares)
    overall = window(pop, base, rng, n)
    segs = {
        (spec.field, key): window(pop, base, rng, int(size))
        for key, size in zip(spec.keys, sizes, strict=True)
    }
    return WindowAggregates(None, float(n), overall.features, overall.prediction, segments=segs)


def _numeric_as_profile(a: NumericAggs, edges: tuple[float, ...]) -> NumericProfile:
    s = a.summary
    return NumericProfile(
        edges,
        a.bins,
        s.mean,
        s.var,
        float("nan") if s.min is None else s.min,
        float("nan") if s.max is None else s.max,
        round(a.n),
    )


def segment_training(
    pop: Population, base: Baseline, rng: np.random.Generator, rows: int
) -> Baseline:
    """A segment's training rows profiled on the baseline's own bins and table (as
    `baseline build --segment-by` does, predictions included), read back as profiles."""
    agg = window(pop, base, rng, rows)
    features = []
    for fp in base.features:
        a = agg.features[fp.name]
        if fp.numeric is not None and isinstance(a, NumericAggs):
            prof = _numeric_as_profile(a, fp.numeric.edges)
            features.append(FeatureProfile(fp.name, fp.type, rows, round(a.missing), numeric=prof))
        elif fp.categorical is not None and isinstance(a, CategoricalAggs):
            top = {k: round(v) for k, v in a.top.items()}
            other = round(a.other + a.unseen)
            cat = CategoricalProfile(
                top, other, fp.categorical.vocabulary, sum(top.values()) + other, True
            )
            features.append(
                FeatureProfile(fp.name, fp.type, rows, round(a.missing), categorical=cat)
            )
    assert base.prediction is not None and base.prediction.value is not None
    assert agg.prediction is not None and agg.prediction.value is not None
    score = _numeric_as_profile(agg.prediction.value, base.prediction.value.edges)
    prediction = PredictionProfile(base.prediction.kind, value=score)
    return dataclasses.replace(
        base, rows=rows, features=tuple(features), prediction=prediction, segments=()
    )


@dataclass(frozen=True)
class Alarm:
    """One drifted result of an A/A run: where, which test, and the sizes behind it."""

    where: str  # "overall", "mix", or the segment ("region=r3")
    feature: str
    test: str
    n_current: float
    n_reference: float
    p_adjusted: float | None
    effect: float | None


def segmented_alarms(
    base: Baseline,
    cur: WindowAggregates,
    ref: WindowAggregates,
    spec: SegmentSpec,
    refs: Mapping[tuple[str, str], Baseline] | None = None,
    policy: VerdictPolicy | None = None,
) -> list[Alarm]:
    """Every drifted result of one segmented run (the run's policy over everything)."""
    comparison = c.compare(base, cur, ref)
    segmented = sc.compare_segments(base, cur, ref, [spec], references=refs)
    overall, by_segment = sc.judge_run(comparison, segmented, policy or VerdictPolicy())
    out = []

    def add(where: str, f: c.FeatureResult) -> None:
        for t in f.tests:
            if t.drifted:
                out.append(
                    Alarm(
                        where,
                        f.feature,
                        t.name,
                        f.n_current,
                        f.n_reference,
                        t.p_value_adjusted,
                        t.effect_size,
                    )
                )

    for f in (*overall.features, *overall.predictions):
        add("overall", f)
    for f in by_segment.mix:
        add("mix", f)
    for r in by_segment.segments:
        for f in (*r.features, *r.predictions):
            add(r.name, f)
        if r.drifted and not r.drifted_features:
            out.append(Alarm(r.name, "(segment)", r.status, r.n_current, r.n_reference, None, None))
    return out


Progress = Callable[[int, list[Alarm]], None]


def segmented_drift_runs(
    n: int, runs: int, seed: int, spec: SegmentSpec | None = None, progress: Progress | None = None
) -> list[list[Alarm]]:
    """Drift mode A/A: the window and a same-size reference window, both segmented."""
    spec = spec or segment_spec()
    shares = segment_shares(len(spec.values))
    pop, rng = population(), np.random.default_rng(seed)
    base = baseline_from(pop, rng, 50_000)
    out = []
    for _ in range(runs):
        cur = segmented_window(pop, base, rng, n, spec, shares)
        ref = segmented_window(pop, base, rng, n, spec, shares)
        out.append(segmented_alarms(base, cur, ref, spec))
        if progress is not None:
            progress(len(out) - 1, out[-1])
    return out


def segmented_skew_runs(
    n: int,
    runs: int,
    seed: int,
    *,
    rows: int = 100_000,
    spec: SegmentSpec | None = None,
    new_baseline_every: int = 25,
    progress: Progress | None = None,
) -> list[list[Alarm]]:
    """Skew mode A/A: each segment against its own training profile (as the baseline
    stores them); a new training sample every `new_baseline_every` runs."""
    spec = spec or segment_spec()
    shares = segment_shares(len(spec.values))
    pop, rng = population(), np.random.default_rng(seed)
    out: list[list[Alarm]] = []
    for i in range(runs):
        if i % new_baseline_every == 0:
            base = baseline_from(pop, rng, rows)
            sizes = rng.multinomial(rows, shares)
            refs = {
                (spec.field, key): segment_training(pop, base, rng, int(size))
                for key, size in zip(spec.keys, sizes, strict=True)
            }
            reference = segment_baseline.reference(c.baseline_reference(base), refs)
        cur = segmented_window(pop, base, rng, n, spec, shares)
        out.append(segmented_alarms(base, cur, reference, spec, refs))
        if progress is not None:
            progress(i, out[-1])
    return out
