"""Current window vs a reference -> per-feature test results (pure; no Elasticsearch).

The reference is either the training baseline (skew, `baseline_reference`) or another
window's aggregates (drift); both have the same shape, so one code path compares them.
Tests come from the stats registry (DEFAULT_TESTS per feature type); `judge` then applies
Holm's correction across every test of the run and the effect-size thresholds.

"Insufficient data" is a result, never an error: an empty window, an all-missing feature or
fewer than `min_count` values turn distribution tests into undefined results with a note,
while the missing-rate test still flags a feature that vanished.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from predwatch import schema as s
from predwatch.analyzers.aggregates import (
    OTHER,
    UNSEEN,
    CategoricalAggs,
    FeatureAggs,
    NumericAggs,
    PredictionAggs,
    TextAggs,
    VersionGroup,
    WindowAggregates,
)
from predwatch.analyzers.stats import (
    DEFAULT_TESTS,
    REGISTRY,
    Summary,
    TestResult,
    VerdictPolicy,
    anova,
    kruskal,
)
from predwatch.baseline import Baseline, CategoricalProfile, NumericProfile

MIN_COUNT = 100  # below this, distances of binned samples are mostly sampling noise
# PSI / JS / L-inf are calibrated on ~10 groups (the 0.2 PSI rule of thumb is for deciles);
# on a 100-bin profile their sampling noise grows with the number of bins, so numeric
# features are regrouped into ~10 groups of equal reference mass for them.
DISTANCE_GROUPS = 10
# Categories whose expected count in the smaller sample is below 5 (the chi-square rule) are
# merged into "(other)"; at most MAX_CELLS categories are compared one by one.
MIN_EXPECTED = 5.0
MAX_CELLS = 50
NOTE_INSUFFICIENT = "insufficient data"


@dataclass(frozen=True)
class Distribution:
    """Reference and current counts over the same labelled cells (for plots)."""

    labels: tuple[str, ...]
    reference: tuple[float, ...]
    current: tuple[float, ...]
    edges: tuple[float, ...] | None = None  # inner edges when the cells are numeric bins

    def coarse(self, max_cells: int) -> Distribution:
        """Adjacent numeric bins merged so at most `max_cells` remain (for readable plots)."""
        if self.edges is None or len(self.labels) <= max_cells:
            return self
        step = math.ceil(len(self.labels) / max_cells)
        starts = range(0, len(self.labels), step)
        ref = tuple(math.fsum(self.reference[i : i + step]) for i in starts)
        cur = tuple(math.fsum(self.current[i : i + step]) for i in starts)
        edges = tuple(self.edges[i - 1] for i in starts if i > 0)
        return Distribution(bin_labels(edges), ref, cur, edges)

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "reference": list(self.reference),
            "current": list(self.current),
        }


@dataclass(frozen=True)
class FeatureResult:
    """Every test of one feature (or of the predictions), with context for reports."""

    feature: str
    type: str
    n_current: float
    n_reference: float
    tests: tuple[TestResult, ...]
    note: str = ""
    distribution: Distribution | None = None
    rates: Mapping[str, float | None] = field(default_factory=dict)
    unseen_top: tuple[tuple[str, float], ...] = ()

    @property
    def drifted(self) -> bool:
        return any(t.drifted for t in self.tests)

    @property
    def power_note(self) -> str:
        """Says which configured effects this window is too small to detect (judged results)."""
        return power_note(self.tests, self.n_current, self.n_reference)

    @property
    def status(self) -> str:
        if self.drifted:
            return "drifted"
        if all(t.p_value is None and t.effect_size is None for t in self.tests):
            return NOTE_INSUFFICIENT
        return "ok"


@dataclass(frozen=True)
class Comparison:
    """Per-feature results and prediction results of one run."""

    features: tuple[FeatureResult, ...]
    predictions: tuple[FeatureResult, ...] = ()

    def all_tests(self) -> list[TestResult]:
        return [t for f in (*self.features, *self.predictions) for t in f.tests]


def power_note(tests: Sequence[TestResult], n_current: float, n_reference: float) -> str:
    """'too few values to detect ...' for the tests whose threshold is out of reach, or ''.

    The smallest detectable effect is at 80 % power at the level the run's first alarm
    must reach (see stats.power); a test that cannot reach its threshold can only miss.
    """
    blind = [t for t in tests if t.detectable is False and not t.drifted]
    if not blind or any(t.drifted for t in tests):
        return ""
    parts = "; ".join(
        f"{t.name} >= {t.min_detectable_effect:.3g} (threshold {t.threshold:g})"
        for t in blind
        if t.min_detectable_effect is not None
    )
    n = min(n_current, n_reference)
    return f"too few values to detect the configured effect at n={n:,.0f}: {parts}"


# --- the baseline as a reference ----------------------------------------------------------
def _numeric_ref(p: NumericProfile, total: float) -> NumericAggs:
    summary = Summary(float(p.n), p.mean, p.var, _finite(p.min), _finite(p.max))
    counts = tuple(float(c) for c in p.counts)
    return NumericAggs(counts, summary, total, total - p.n, bin_sums=p.bin_sums)


def _categorical_ref(p: CategoricalProfile, total: float) -> CategoricalAggs:
    """Training frequencies with the no-drift share of unseen values carved out.

    A serving value is "unseen" when it is outside the training vocabulary. With no drift,
    a long-tail column still meets unseen values at the Good-Turing rate u = (values seen
    once in training) / n; comparing against an unseen share of exactly 0 would flag every
    such column. That mass comes out of the rarest values (Good-Turing: a value seen r
    times has about (r + 1) n[r+1] / n[r] / n of the mass, so frequent values keep their
    shares): first from (other), then from the least frequent listed values. A truncated
    vocabulary (or an old baseline without the singleton count) leaves u unknown: unseen
    values are then folded into (other) and their rate is not compared.
    """
    u = p.unseen_share
    top = {k: float(v) for k, v in p.frequencies.items()}
    other = float(p.other)
    unseen = 0.0 if u is None else u * p.n
    carve = min(other, unseen)
    other -= carve
    for k in sorted(top, key=lambda k: (top[k], k)):
        if unseen - carve <= 0:
            break
        take = min(top[k], unseen - carve)
        top[k] -= take
        carve += take
    return CategoricalAggs(top, other, unseen, total, total - p.n, unseen_known=u is not None)


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def baseline_reference(baseline: Baseline) -> WindowAggregates:
    """The baseline's profiles in the shape of a window's aggregates."""
    features: dict[str, FeatureAggs] = {}
    for fp in baseline.features:
        total = float(fp.count)
        if fp.numeric is not None:
            features[fp.name] = _numeric_ref(fp.numeric, total)
        elif fp.categorical is not None:
            features[fp.name] = _categorical_ref(fp.categorical, total)
        elif fp.text is not None:
            t = fp.text
            tokens = t.length.mean * t.length.n if math.isfinite(t.length.mean) else 0.0
            if tokens <= 0:
                tokens = float(sum(t.vocabulary.values()))
            length = Summary(float(t.length.n), t.length.mean, t.length.var)
            features[fp.name] = TextAggs(
                total, float(fp.missing), tokens, t.expected_oov_rate * tokens, length
            )
    prediction = None
    if baseline.prediction is not None:
        p = baseline.prediction
        rows = float(baseline.rows)
        prediction = PredictionAggs(
            value=_numeric_ref(p.value, rows) if p.value else None,
            label=_categorical_ref(p.label, rows) if p.label else None,
        )
    return WindowAggregates(None, float(baseline.rows), features, prediction)


# --- regrouping -----------------------------------------------------------------------------
def group_bins(
    ref: Sequence[float], cur: Sequence[float], groups: int = DISTANCE_GROUPS
) -> tuple[list[float], list[float]]:
    """Merge adjacent bins into about `groups` groups of equal reference mass."""
    total = math.fsum(ref)
    if total <= 0 or len(ref) <= groups:
        return list(ref), list(cur)
    out_ref: list[float] = []
    out_cur: list[float] = []
    acc_ref = acc_cur = seen = 0.0
    for r, c in zip(ref, cur, strict=True):
        acc_ref += r
        acc_cur += c
        seen += r
        # Close a group when the cumulative reference share passes the next 1/groups step.
        if seen / total >= (len(out_ref) + 1) / groups - 1e-12 and acc_ref > 0:
            out_ref.append(acc_ref)
            out_cur.append(acc_cur)
            acc_ref = acc_cur = 0.0
    if acc_ref or acc_cur:
        if out_ref and acc_ref == 0:
            out_cur[-1] += acc_cur
        else:
            out_ref.append(acc_ref)
            out_cur.append(acc_cur)
    return out_ref, out_cur


def merge_rare(
    ref: Mapping[str, float], cur: Mapping[str, float], n_small: float
) -> tuple[dict[str, float], dict[str, float]]:
    """Keep the categories frequent enough in both samples together; fold the rest into (other).

    Cells are chosen on the pooled counts (reference + current), never on one sample's own
    counts: choosing the reference's largest cells keeps the categories that sampling noise
    made large in the reference and biases the comparison toward "different". A cell is
    kept when its pooled share times the smaller sample size reaches MIN_EXPECTED (the
    chi-square rule), at most MAX_CELLS of them; (unseen) is a cell like the others. When
    (other) itself ends below MIN_EXPECTED, the smallest kept cells join it.
    """
    keys = [k for k in dict.fromkeys([*ref, *cur]) if k != OTHER]
    pooled = {k: ref.get(k, 0.0) + cur.get(k, 0.0) for k in keys}
    pooled_other = ref.get(OTHER, 0.0) + cur.get(OTHER, 0.0)
    total = math.fsum(pooled.values()) + pooled_other

    def expected(mass: float) -> float:
        return mass / total * n_small if total > 0 else 0.0

    ranked = sorted(keys, key=lambda k: (-pooled[k], k != UNSEEN, k))
    keep = [k for k in ranked[:MAX_CELLS] if expected(pooled[k]) >= MIN_EXPECTED]
    rest = pooled_other + math.fsum(pooled[k] for k in keys if k not in set(keep))
    while keep and 0 < expected(rest) < MIN_EXPECTED:
        rest += pooled[keep.pop()]
    kept = set(keep)
    out_ref = {k: ref.get(k, 0.0) for k in keep if k != UNSEEN}
    out_cur = {k: cur.get(k, 0.0) for k in keep if k != UNSEEN}
    out_ref[OTHER] = math.fsum(v for k, v in ref.items() if k not in kept)
    out_cur[OTHER] = math.fsum(v for k, v in cur.items() if k not in kept)
    if UNSEEN in kept:
        out_ref[UNSEEN] = ref.get(UNSEEN, 0.0)
        out_cur[UNSEEN] = cur.get(UNSEEN, 0.0)
    return out_ref, out_cur


# --- one feature --------------------------------------------------------------------------
def _edge(x: float) -> str:
    return f"{x:.4g}"


def bin_labels(edges: Sequence[float]) -> tuple[str, ...]:
    if not edges:
        return ("all",)
    inner = [f"[{_edge(a)}, {_edge(b)})" for a, b in itertools.pairwise(edges)]
    return (f"< {_edge(edges[0])}", *inner, f">= {_edge(edges[-1])}")


def _rate(hits: float, total: float) -> float | None:
    return hits / total if total > 0 else None


def _why_insufficient(cur_total: float, cur_n: float, ref_n: float, min_count: int) -> str:
    if cur_total == 0:
        return f"{NOTE_INSUFFICIENT}: no predictions in the window"
    if cur_n == 0:
        return f"{NOTE_INSUFFICIENT}: every value is missing in the window"
    if ref_n == 0:
        return f"{NOTE_INSUFFICIENT}: the reference has no values"
    if cur_n < min_count or ref_n < min_count:
        return (
            f"{NOTE_INSUFFICIENT}: {min(cur_n, ref_n):g} values, distribution tests need "
            f"{min_count}"
        )
    return ""


EFFECT_NAMES = {
    "anova": "eta_squared",
    "chi2": "cramers_v",
    "cramers_v": "cramers_v",
    "js": "js_distance",
    "kruskal": "epsilon_squared",
    "ks": "ks_d",
    "linf": "linf_distance",
    "mann_whitney": "rank_biserial",
    "missing_rate": "cohens_h",
    "oov_rate": "cohens_h",
    "out_of_range_rate": "cohens_h",
    "psi": "psi",
    "t_test": "cohens_d",
    "wasserstein": "normed_wasserstein",
}


def _undefined(name: str, n_ref: float, n_cur: float, note: str) -> TestResult:
    threshold = REGISTRY[name].default_threshold
    effect = EFFECT_NAMES.get(name, "")
    return TestResult(name, None, None, None, effect, threshold, n_ref, n_cur, note)


def _run(
    names: Sequence[str],
    ftype: str,
    inputs: Mapping[str, Any],
    n_ref: float,
    n_cur: float,
    gate: str,
) -> tuple[TestResult, ...]:
    """Call each registry test with the inputs of its kind; `gate` blocks distribution tests."""
    out = []
    for name in names:
        spec = REGISTRY[name]
        if ftype not in spec.feature_types and not (
            ftype == "label" and "categorical" in spec.feature_types
        ):
            continue
        if spec.kind == "proportion":
            args = inputs.get(name)
            if args is None:
                continue
            if isinstance(args, str):
                out.append(_undefined(name, n_ref, n_cur, args))
                continue
            out.append(spec.func(*args))
        elif gate:
            out.append(_undefined(name, n_ref, n_cur, gate))
        elif spec.kind == "categorical" and "ref_groups" in inputs:
            out.append(spec.func(inputs["ref_groups"], inputs["cur_groups"]))
        elif spec.kind == "summary":
            out.append(spec.func(inputs["ref_summary"], inputs["cur_summary"]))
        else:
            extra = {k: inputs[k] for k in spec.extra_inputs}
            out.append(spec.func(inputs["ref_cells"], inputs["cur_cells"], **extra))
    return tuple(out)


def compare_numeric(
    name: str,
    ftype: str,
    profile: NumericProfile,
    ref: NumericAggs,
    cur: NumericAggs,
    tests: Sequence[str],
    min_count: int,
    range_sample: bool = False,
) -> FeatureResult:
    gate = _why_insufficient(cur.total, cur.n, ref.n, min_count)
    ref_groups, cur_groups = group_bins(ref.bins, cur.bins)
    inputs = {
        "ref_cells": list(ref.bins),
        "cur_cells": list(cur.bins),
        "ref_groups": ref_groups,
        "cur_groups": cur_groups,
        "edges": list(profile.edges),
        "reference_summary": ref.summary,
        "reference_sums": ref.bin_sums,
        "current_sums": cur.bin_sums,
        "ref_summary": ref.summary,
        "cur_summary": cur.summary,
        "missing_rate": (ref.missing, ref.total, cur.missing, cur.total),
        # Against the baseline the reference is the training sample that set min and max.
        "out_of_range_rate": (ref.out_of_range, ref.n, cur.out_of_range, cur.n, range_sample),
    }
    return FeatureResult(
        feature=name,
        type=ftype,
        n_current=cur.n,
        n_reference=ref.n,
        tests=_run(tests, ftype, inputs, ref.n, cur.n, gate),
        note=gate,
        distribution=Distribution(
            bin_labels(profile.edges), ref.bins, cur.bins, tuple(profile.edges)
        ),
        rates=_numeric_rates(ftype, ref, cur, range_sample),
    )


def _numeric_rates(
    ftype: str, ref: NumericAggs, cur: NumericAggs, range_sample: bool
) -> dict[str, float | None]:
    rates = {
        "missing_current": _rate(cur.missing, cur.total),
        "missing_reference": _rate(ref.missing, ref.total),
    }
    if ftype == "numeric":  # prediction values are not counted against a range
        expected = 2.0 / (ref.n + 1.0) if ref.n >= 2 else None  # see out_of_range_rate
        rates["out_of_range_current"] = _rate(cur.out_of_range, cur.n)
        rates["out_of_range_reference"] = (
            expected if range_sample else _rate(ref.out_of_range, ref.n)
        )
    return rates


def compare_categorical(
    name: str,
    ftype: str,
    ref: CategoricalAggs,
    cur: CategoricalAggs,
    tests: Sequence[str],
    min_count: int,
) -> FeatureResult:
    gate = _why_insufficient(cur.total, cur.n, ref.n, min_count)
    unknown = not (ref.unseen_known and cur.unseen_known)
    ref_cells, cur_cells = merge_rare(
        ref.cells(merge_unseen=unknown), cur.cells(merge_unseen=unknown), min(ref.n, cur.n)
    )
    inputs: dict[str, Any] = {
        "ref_cells": ref_cells,
        "cur_cells": cur_cells,
        "missing_rate": (ref.missing, ref.total, cur.missing, cur.total),
        "oov_rate": (ref.unseen, ref.n, cur.unseen, cur.n),
    }
    if unknown:
        inputs["oov_rate"] = (
            "not compared: the baseline does not know its share of unseen values "
            "(vocabulary truncated, or built before predwatch recorded it: rebuild it)"
        )
    labels = tuple(ref_cells)
    note = "; ".join(x for x in (gate, cur.note, ref.note) if x)
    return FeatureResult(
        feature=name,
        type=ftype,
        n_current=cur.n,
        n_reference=ref.n,
        tests=_run(tests, ftype, inputs, ref.n, cur.n, gate),
        note=note,
        distribution=Distribution(
            labels,
            tuple(ref_cells[k] for k in labels),
            tuple(cur_cells.get(k, 0.0) for k in labels),
        ),
        rates={
            "missing_current": _rate(cur.missing, cur.total),
            "missing_reference": _rate(ref.missing, ref.total),
            "unseen_current": _rate(cur.unseen, cur.n),
            "unseen_reference": None if unknown else _rate(ref.unseen, ref.n),
        },
        unseen_top=cur.unseen_top,
    )


def compare_text(
    name: str, ref: TextAggs, cur: TextAggs, tests: Sequence[str], min_count: int
) -> FeatureResult:
    gate = _why_insufficient(cur.total, cur.n, ref.n, min_count)
    inputs = {
        "missing_rate": (ref.missing, ref.total, cur.missing, cur.total),
        "oov_rate": (ref.oov_tokens, ref.tokens, cur.oov_tokens, cur.tokens),
    }
    labels = ("in vocabulary", UNSEEN)
    return FeatureResult(
        feature=name,
        type="text",
        n_current=cur.n,
        n_reference=ref.n,
        tests=_run(tests, "text", inputs, ref.n, cur.n, gate),
        note=gate,
        distribution=Distribution(
            labels,
            (ref.tokens - ref.oov_tokens, ref.oov_tokens),
            (cur.tokens - cur.oov_tokens, cur.oov_tokens),
        ),
        rates={
            "missing_current": _rate(cur.missing, cur.total),
            "missing_reference": _rate(ref.missing, ref.total),
            "unseen_current": _rate(cur.oov_tokens, cur.tokens),
            "unseen_reference": _rate(ref.oov_tokens, ref.tokens),
        },
        unseen_top=cur.oov_terms,
    )


def compare(
    baseline: Baseline,
    current: WindowAggregates,
    reference: WindowAggregates,
    *,
    tests: Mapping[str, Sequence[str]] | None = None,
    min_count: int = MIN_COUNT,
) -> Comparison:
    """Unjudged results for every baseline feature and the predictions."""
    chosen = {**DEFAULT_TESTS, **(tests or {})}
    results = []
    for fp in baseline.features:
        cur, ref = current.features.get(fp.name), reference.features.get(fp.name)
        if cur is None or ref is None:
            continue
        if isinstance(cur, NumericAggs) and isinstance(ref, NumericAggs) and fp.numeric:
            results.append(
                compare_numeric(
                    fp.name,
                    "numeric",
                    fp.numeric,
                    ref,
                    cur,
                    chosen["numeric"],
                    min_count,
                    range_sample=reference.window is None,
                )
            )
        elif isinstance(cur, CategoricalAggs) and isinstance(ref, CategoricalAggs):
            results.append(
                compare_categorical(
                    fp.name, "categorical", ref, cur, chosen["categorical"], min_count
                )
            )
        elif isinstance(cur, TextAggs) and isinstance(ref, TextAggs):
            results.append(compare_text(fp.name, ref, cur, chosen["text"], min_count))
    preds = []
    pc, pr, pp = current.prediction, reference.prediction, baseline.prediction
    if pc is not None and pr is not None and pp is not None:
        if pc.value is not None and pr.value is not None and _never_logged(pc.value):
            preds.append(_not_logged(s.PREDICTION_VALUE, "prediction", pc.value, pr.value))
        elif pp.value is not None and pc.value is not None and pr.value is not None:
            preds.append(
                compare_numeric(
                    s.PREDICTION_VALUE,
                    "prediction",
                    pp.value,
                    pr.value,
                    pc.value,
                    chosen["prediction"],
                    min_count,
                )
            )
        if pc.label is not None and pr.label is not None and _never_logged(pc.label):
            preds.append(_not_logged(s.PREDICTION_LABEL, "label", pc.label, pr.label))
        elif pc.label is not None and pr.label is not None:
            label_tests = chosen.get("label", chosen["categorical"])
            preds.append(
                compare_categorical(
                    s.PREDICTION_LABEL, "label", pr.label, pc.label, label_tests, min_count
                )
            )
    return Comparison(tuple(results), tuple(preds))


def _never_logged(cur: NumericAggs | CategoricalAggs) -> bool:
    """Predictions in the window, and not one carries this part: the app does not log it."""
    return cur.total > 0 and cur.n == 0


def _not_logged(
    name: str, ftype: str, cur: NumericAggs | CategoricalAggs, ref: NumericAggs | CategoricalAggs
) -> FeatureResult:
    """A prediction part the baseline has and the app never logs: a configuration note
    (log it, or build the baseline without it), not drift, so no test runs on it."""
    return FeatureResult(
        feature=name,
        type=ftype,
        n_current=cur.n,
        n_reference=ref.n,
        tests=(),
        note=(
            f"not logged: none of the window's {cur.total:g} predictions carries {name}, which "
            "the baseline has; log it with each prediction, or build the baseline without it"
        ),
    )


def judge(comparison: Comparison, policy: VerdictPolicy) -> Comparison:
    """Apply `policy` (Holm across every test of the run, then thresholds)."""
    groups = [f.feature for f in (*comparison.features, *comparison.predictions) for _ in f.tests]
    judged = iter(policy.apply(comparison.all_tests(), groups))

    def redo(f: FeatureResult) -> FeatureResult:
        return dataclasses.replace(f, tests=tuple(next(judged) for _ in f.tests))

    features = tuple(redo(f) for f in comparison.features)
    predictions = tuple(redo(f) for f in comparison.predictions)
    return Comparison(features, predictions)


# --- model versions -----------------------------------------------------------------------
def compare_versions(
    groups: Sequence[VersionGroup], policy: VerdictPolicy, min_count: int = MIN_COUNT
) -> tuple[TestResult, ...]:
    """ANOVA and Kruskal-Wallis of prediction.value across versions (judged among themselves)."""
    used = [g for g in groups if g.summary is not None and g.summary.n >= min_count]
    if not any(g.summary is not None for g in groups):
        return ()
    if len(used) < 2:
        note = f"{NOTE_INSUFFICIENT}: fewer than two versions with {min_count} predictions"
        n = float(sum(g.count for g in groups))
        return tuple(
            policy.apply([_undefined("anova", n, 0.0, note), _undefined("kruskal", n, 0.0, note)])
        )
    summaries = [g.summary for g in used if g.summary is not None]
    results = [anova(summaries), kruskal([list(g.bins) for g in used])]
    return tuple(policy.apply(results))
