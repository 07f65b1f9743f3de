"""Drift by segment (pure): each segment's window against the same segment's reference,
the segment mix as one categorical test per field, and one verdict rule for the whole run.

`judge_run` applies the run's policy once over every result: the overall features and
predictions, the segment mixes and every segment's features. Holm then bounds the chance
that a run with no drift flags anything (a feature, a segment, a mix) by alpha, whatever
the number of segments (tests/unit/analyzers/test_segment_calibration.py simulates it).
Within one segment and feature, results sharing a p-value count once, as for the run.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from predwatch import schema as s
from predwatch.analyzers import compare as c
from predwatch.analyzers.aggregates import CategoricalAggs, NumericAggs, TextAggs, WindowAggregates
from predwatch.analyzers.segments import NOTE_TRUNCATED, OTHER_SEGMENT, SegmentSpec
from predwatch.analyzers.stats import DEFAULT_TESTS, VerdictPolicy
from predwatch.baseline import Baseline

MIX_TESTS = ("chi2", "psi", "js", "linf")
# Values a segment needs before its distribution tests run (or --min-count when higher).
# With many segments Holm judges each test at about alpha / (hundreds of tests), deep in the
# tail where the asymptotic p-values of a few hundred values against a much larger
# reference are too small: simulated skew-mode A/A with 20 segments of 250-3,000 rows flagged
# 3 of 10 runs at a minimum of 100 values, none of 20 at 500.
SEGMENT_MIN_COUNT = 500
RATE_AGGS = (NumericAggs, CategoricalAggs, TextAggs)
STATUS_DISAPPEARED = "disappeared"
STATUS_NEW = "new"
NOTE_NOT_IN_BASELINE = "not in the baseline"


@dataclass(frozen=True)
class SegmentResult:
    """One segment: its size in both windows, and its features' results."""

    field: str
    value: str
    n_current: float
    n_reference: float
    features: tuple[c.FeatureResult, ...]
    predictions: tuple[c.FeatureResult, ...] = ()
    mix_drifted: bool = False  # the segment mix of this field drifted (set by judge_run)

    @property
    def name(self) -> str:
        return f"{self.field}={self.value}"

    @property
    def status(self) -> str:
        """ "disappeared", "new", "drifted", "ok" or "insufficient data"."""
        if self.n_current == 0 and self.n_reference > 0:
            return STATUS_DISAPPEARED
        if self.n_reference == 0 and self.n_current > 0:
            return STATUS_NEW
        if any(f.drifted for f in (*self.features, *self.predictions)):
            return "drifted"
        results = (*self.features, *self.predictions)
        if results and all(f.status == c.NOTE_INSUFFICIENT for f in results):
            return c.NOTE_INSUFFICIENT
        return "ok"

    @property
    def drifted_features(self) -> list[str]:
        return [f.feature for f in (*self.features, *self.predictions) if f.drifted]

    @property
    def drifted(self) -> bool:
        """A feature of the segment drifted, or the segment vanished and the mix says so."""
        vanished = self.status in (STATUS_DISAPPEARED, STATUS_NEW) and self.mix_drifted
        return bool(self.drifted_features) or vanished

    @property
    def note(self) -> str:
        if self.status == STATUS_DISAPPEARED:
            return f"segment disappeared: {self.n_reference:,.0f} in the reference, none now"
        if self.status == STATUS_NEW:
            return f"new segment: {self.n_current:,.0f} now, none in the reference"
        missing = [
            f.feature
            for f in (*self.features, *self.predictions)
            if f.note.startswith(NOTE_NOT_IN_BASELINE)
        ]
        if missing:
            return f"{NOTE_NOT_IN_BASELINE} for this segment: {', '.join(missing)}"
        return ""


@dataclass(frozen=True)
class SegmentedComparison:
    """The segment mixes (one result per field) and the segments of a run."""

    mix: tuple[c.FeatureResult, ...] = ()
    segments: tuple[SegmentResult, ...] = ()

    @property
    def drifted_segments(self) -> list[SegmentResult]:
        return [r for r in self.segments if r.drifted]

    def findings(self) -> list[str]:
        """ "segment mix of region changed", "drift concentrated in region=pacific: age"."""
        out = [f"segment mix of {f.feature} changed" for f in self.mix if f.drifted]
        for field in dict.fromkeys(r.field for r in self.segments):
            rows = [r for r in self.segments if r.field == field]
            hit = [r for r in rows if r.drifted]
            if hit and len(hit) == len(rows) and len(rows) > 1:
                out.append(f"drift in every segment of {field}")
                continue
            for r in hit:
                what = ", ".join(r.drifted_features) or r.status
                out.append(f"drift concentrated in {r.name}: {what}")
        return out


def mix_counts(agg: WindowAggregates, spec: SegmentSpec) -> CategoricalAggs:
    """Documents per segment of one field as a categorical column ((other) pooled)."""
    counts = {
        v: agg.segments[(spec.field, v)].total for v in spec.keys if (spec.field, v) in agg.segments
    }
    top = {v: counts.get(v, 0.0) for v in spec.values}
    other = counts.get(OTHER_SEGMENT, max(0.0, agg.total - math.fsum(top.values())))
    n = math.fsum(top.values()) + other
    return CategoricalAggs(top, other, 0.0, n, 0.0)


def compare_segments(
    baseline: Baseline,
    current: WindowAggregates,
    reference: WindowAggregates,
    specs: Sequence[SegmentSpec],
    *,
    min_count: int = c.MIN_COUNT,
    references: Mapping[tuple[str, str], Baseline] | None = None,
) -> SegmentedComparison:
    """Unjudged mix and per-segment results. `references` (skew mode) gives each segment's
    baseline profile, whose aggregates then come from `compare.baseline_reference`."""
    empty = WindowAggregates(current.window, 0.0, {})
    per_segment = max(min_count, SEGMENT_MIN_COUNT)
    mix: list[c.FeatureResult] = []
    out: list[SegmentResult] = []
    for spec in specs:
        result = c.compare_categorical(
            spec.field,
            "categorical",
            mix_counts(reference, spec),
            mix_counts(current, spec),
            MIX_TESTS,
            min_count,
        )
        mix.append(dataclasses.replace(result, type="segment_mix"))
        for value in spec.keys:
            key = (spec.field, value)
            cur = current.segments.get(key, empty)
            ref_base = (references or {}).get(key)
            if ref_base is not None:
                ref = c.baseline_reference(ref_base)
                base = ref_base
            else:
                ref = reference.segments.get(key, WindowAggregates(reference.window, 0.0, {}))
                base = baseline
            comp = c.compare(base, cur, ref, tests=DEFAULT_TESTS, min_count=per_segment)
            comp = untested_truncated(exact_rates(comp, cur, ref), cur)
            if ref_base is not None:
                comp = _with_unprofiled(comp, baseline, ref_base, cur, spec.field)
            # Inside a segment its own field has one value: nothing to compare.
            features = tuple(f for f in comp.features if f.feature != spec.field)
            out.append(
                SegmentResult(spec.field, value, cur.total, ref.total, features, comp.predictions)
            )
    return SegmentedComparison(tuple(mix), tuple(out))


def _rate_counts(
    test: str, ref: object, cur: object, range_sample: bool
) -> tuple[float, float, float, float] | None:
    """(reference hits, reference total, current hits, current total) of a rate test."""
    if test == "missing_rate" and isinstance(ref, RATE_AGGS) and isinstance(cur, RATE_AGGS):
        return ref.missing, ref.total, cur.missing, cur.total
    if test == "oov_rate" and isinstance(ref, CategoricalAggs) and isinstance(cur, CategoricalAggs):
        return ref.unseen, ref.n, cur.unseen, cur.n
    if test == "oov_rate" and isinstance(ref, TextAggs) and isinstance(cur, TextAggs):
        return ref.oov_tokens, ref.tokens, cur.oov_tokens, cur.tokens
    # Against the baseline, out_of_range_rate's beta-binomial p-value is exact already.
    if test != "out_of_range_rate" or range_sample:
        return None
    if isinstance(ref, NumericAggs) and isinstance(cur, NumericAggs):
        return ref.out_of_range, ref.n, cur.out_of_range, cur.n
    return None


def exact_tail(ref_hits: float, ref_total: float, cur_hits: float, cur_total: float) -> float:
    """One-sided Fisher exact p-value of a rate increase: P(X >= current hits) for X the
    current sample's share of all hits when both samples have the same rate."""
    from scipy.stats import hypergeom  # loaded only by segmented runs

    n_ref, n_cur, k = round(ref_total), round(cur_total), round(cur_hits)
    hits = round(ref_hits) + k
    return float(hypergeom.sf(k - 1, n_ref + n_cur, hits, n_cur))


def exact_rates(comp: c.Comparison, cur: WindowAggregates, ref: WindowAggregates) -> c.Comparison:
    """A segment's rate tests (missing, unseen, out-of-range shares) with their p-value
    raised to the exact one where that is larger.

    The z test's normal tail is too thin for the few hits of a small segment, and with
    many segments Holm judges each test deep in that tail: with 5 % missing values, 25
    missing of 204 rows against 116 of 2,320 gives p = 7.6e-6 by z, 9.6e-5 exactly. In 1,000
    simulated skew-mode A/A runs a small segment's missing_rate flagged 15 runs with the z
    test, 4 with the exact tail (benchmarks/sim_segment_aa.py). Fisher's exact test
    (conditional on the hits of both samples) is never too small, and at large counts it
    equals z, so the maximum of the two keeps the power there.
    """
    range_sample = ref.window is None

    def fix(f: c.FeatureResult, r: object, k: object) -> c.FeatureResult:
        tests = []
        for t in f.tests:
            counts = _rate_counts(t.name, r, k, range_sample)
            if t.p_value is not None and not t.trivial and counts is not None:
                t = dataclasses.replace(t, p_value=max(t.p_value, exact_tail(*counts)))
            tests.append(t)
        return dataclasses.replace(f, tests=tuple(tests))

    features = tuple(
        fix(f, ref.features.get(f.feature), cur.features.get(f.feature)) for f in comp.features
    )
    predictions = comp.predictions
    pr, pc = ref.prediction, cur.prediction
    if pr is not None and pc is not None:
        parts = {s.PREDICTION_VALUE: (pr.value, pc.value), s.PREDICTION_LABEL: (pr.label, pc.label)}
        predictions = tuple(fix(f, *parts.get(f.feature, (None, None))) for f in comp.predictions)
    return c.Comparison(features, predictions)


def untested_truncated(comp: c.Comparison, cur: WindowAggregates) -> c.Comparison:
    """A categorical feature with more than SEGMENT_TERMS_CAP values in a segment keeps only
    its missing_rate test there: its distribution tests become undefined, with the note.

    Only the segment's top values come back from Elasticsearch; every other value would
    count 0 in its own cell and land in (other), while the reference counts it in its cell.
    Against the baseline that mismatch flagged flights' tailnum (4,043 values) in the AA
    segment in 45 of 200 A/A runs of 20,000 rows (bench_calibration --segment-by carrier).
    Choosing the cells on the segment's own top values instead would bias chi2 upwards
    (compare.merge_rare says why), so the distribution is left to the overall tests.
    """

    def fix(f: c.FeatureResult) -> c.FeatureResult:
        agg = cur.features.get(f.feature)
        if not (isinstance(agg, CategoricalAggs) and agg.note.startswith(NOTE_TRUNCATED)):
            return f
        tests = tuple(
            t
            if t.name == "missing_rate"
            else dataclasses.replace(
                t, statistic=None, p_value=None, effect_size=None, dof=None, note=NOTE_TRUNCATED
            )
            for t in f.tests
        )
        return dataclasses.replace(f, tests=tests)

    return dataclasses.replace(comp, features=tuple(fix(f) for f in comp.features))


def _with_unprofiled(
    comp: c.Comparison, baseline: Baseline, profile: Baseline, cur: WindowAggregates, field: str
) -> c.Comparison:
    """Skew mode: the parts of the window the segment's stored profile lacks (baselines
    written before text features and predictions were profiled per segment, or a segment
    without held-out text) as results with no test and a note, in the baseline's order:
    reported as not judged, never silently left out."""
    have = {f.feature for f in (*comp.features, *comp.predictions)}
    note = (
        f"{NOTE_NOT_IN_BASELINE}: baseline {baseline.id} has no profile of this part for the "
        f"segment, so it is not judged here; rebuild the baseline with `predwatch baseline "
        f"build ... --segment-by {field}` to judge it"
    )
    by_name = {f.feature: f for f in comp.features}
    features = []
    for fp in baseline.features:
        if fp.name in by_name:
            features.append(by_name[fp.name])
        elif fp.name not in have and fp.name in cur.features:
            features.append(_unjudged(fp.name, fp.type.value, cur.features[fp.name].n, note))
    predictions = list(comp.predictions)
    pc, pb, pp = cur.prediction, baseline.prediction, profile.prediction
    if pc is not None and pb is not None:
        parts = (
            (s.PREDICTION_VALUE, "prediction", pc.value, pb.value, pp.value if pp else None),
            (s.PREDICTION_LABEL, "label", pc.label, pb.label, pp.label if pp else None),
        )
        for name, ftype, cur_part, base_part, stored in parts:
            if cur_part is not None and base_part is not None and stored is None:
                predictions.append(_unjudged(name, ftype, cur_part.n, note))
    return c.Comparison(tuple(features), tuple(predictions))


def _unjudged(name: str, ftype: str, n_current: float, note: str) -> c.FeatureResult:
    return c.FeatureResult(
        feature=name, type=ftype, n_current=n_current, n_reference=0.0, tests=(), note=note
    )


def judge_run(
    comparison: c.Comparison, segmented: SegmentedComparison, policy: VerdictPolicy
) -> tuple[c.Comparison, SegmentedComparison]:
    """One Holm correction over the whole run: features, predictions, mixes, segments."""
    overall = [*comparison.features, *comparison.predictions]
    groups = [f.feature for f in overall for _ in f.tests]
    tests = [t for f in overall for t in f.tests]
    for f in segmented.mix:
        groups += [f"segment mix {f.feature}"] * len(f.tests)
        tests += f.tests
    for r in segmented.segments:
        for f in (*r.features, *r.predictions):
            groups += [f"{r.name}\x00{f.feature}"] * len(f.tests)
            tests += f.tests
    judged = iter(policy.apply(tests, groups))

    def redo(f: c.FeatureResult) -> c.FeatureResult:
        return dataclasses.replace(f, tests=tuple(next(judged) for _ in f.tests))

    features = tuple(redo(f) for f in comparison.features)
    predictions = tuple(redo(f) for f in comparison.predictions)
    mix = tuple(redo(f) for f in segmented.mix)
    mix_hit = {f.feature for f in mix if f.drifted}
    segments = tuple(
        dataclasses.replace(
            r,
            features=tuple(redo(f) for f in r.features),
            predictions=tuple(redo(f) for f in r.predictions),
            mix_drifted=r.field in mix_hit,
        )
        for r in segmented.segments
    )
    return c.Comparison(features, predictions), SegmentedComparison(mix, segments)
