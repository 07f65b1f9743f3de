"""One analyzer run: aggregate the window (and its reference) in Elasticsearch, compare,
judge, check the model, and store the results in `predwatch-drift-<model>`.

References: "baseline" (training/serving skew), "previous" (drift against the window of
the same length right before) or "START..END" (drift against an explicit range). Latency is
always compared with the previous window.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch

from predwatch import schema
from predwatch.analyzers import checks, compare, fetch, segment_baseline
from predwatch.analyzers import segment_compare as sc
from predwatch.analyzers import segments as seg
from predwatch.analyzers.aggregates import Window, WindowAggregates, iso, parse_duration
from predwatch.analyzers.report import ReferenceInfo, Report
from predwatch.analyzers.stats import TestResult, VerdictPolicy
from predwatch.baseline import Baseline, load_baseline
from predwatch.baseline_store import baseline_from_es
from predwatch.config import ESConfig
from predwatch.errors import ConfigError, PredwatchError
from predwatch.results_store import index_documents


class BaselineMismatch(PredwatchError):
    """The baseline belongs to another model."""


@dataclass(frozen=True)
class AnalyzeConfig:
    """What one run analyzes and how it judges."""

    model: str
    window: Window
    reference: str = "baseline"  # "baseline" | "previous" | "START..END"
    baseline_path: str | None = None
    alpha: float = 0.05
    min_count: int = compare.MIN_COUNT
    max_age: dt.timedelta | None = None
    latency_tolerance: float = checks.LATENCY_TOLERANCE
    store: bool = True
    request_cache: bool | None = None
    quality: bool = False  # also run the quality job (reference previous) for the window
    segment_by: tuple[str, ...] = ()  # --segment-by: fields whose top segments are compared
    segments: int = seg.DEFAULT_SEGMENTS  # --segments: top segments per field

    def __post_init__(self) -> None:
        try:
            schema.validate_model_name(self.model)
        except schema.SchemaError as exc:
            raise ConfigError(str(exc)) from None
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError(f"--alpha must lie between 0 and 1, got {self.alpha}")
        if self.min_count < 1:
            raise ConfigError(f"--min-count must be at least 1, got {self.min_count}")
        self.reference_window()  # validates a START..END reference early
        seg.check_count(self.segments)

    def reference_window(self) -> Window | None:
        """The reference window, or None for the baseline."""
        if self.reference == "baseline":
            return None
        if self.reference == "previous":
            return self.window.previous()
        return Window.parse_range(self.reference)


def resolve_window(
    window: str | None, start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime
) -> Window:
    """`--window 1h` (ending now), `--start/--end`, or both ends with a length."""
    if window and start and end:
        raise ConfigError("give --window or --start/--end, not all three")
    if start and end:
        return Window(start, end)
    length = parse_duration(window or "1h")
    try:
        if start:
            return Window(start, start + length)
        return Window.ending(end or now, length)
    except OverflowError:
        raise ConfigError(
            f"a window of {window} from {start or end or now} falls outside the calendar; "
            "give a shorter --window"
        ) from None


def load_file(config: AnalyzeConfig) -> Baseline:
    """The baseline file of `config` (BaselineError when unreadable or malformed)."""
    assert config.baseline_path is not None
    baseline = load_baseline(config.baseline_path)
    _same_model(baseline, config.model)
    return baseline


def load(es: Elasticsearch, cfg: ESConfig, config: AnalyzeConfig) -> Baseline:
    """The run's baseline: the file given, else the newest stored for the model."""
    if config.baseline_path:
        return load_file(config)
    baseline = baseline_from_es(es, cfg, config.model)
    _same_model(baseline, config.model)
    return baseline


def _same_model(baseline: Baseline, model: str) -> None:
    if baseline.model != model:
        raise BaselineMismatch(
            f"baseline {baseline.id} belongs to model {baseline.model!r}, not {model!r}; "
            "give the baseline of this model with --baseline"
        )


def _specs(
    config: AnalyzeConfig, segments: tuple[seg.SegmentSpec, ...] = ()
) -> list[fetch.WindowSpec]:
    cur = config.window
    specs = [fetch.WindowSpec(cur, segments=segments)]
    ref = config.reference_window()
    if ref is not None:
        specs.append(fetch.WindowSpec(ref, trend=False, versions=False, segments=segments))
    if ref != cur.previous():
        specs.append(fetch.WindowSpec(cur.previous(), latency_only=True))
    return specs


def run(
    es: Elasticsearch,
    cfg: ESConfig,
    config: AnalyzeConfig,
    *,
    baseline: Baseline | None = None,
    now: dt.datetime | None = None,
) -> Report:
    """Analyze one window; stores the results unless `config.store` is False."""
    now = now or dt.datetime.now(dt.UTC)
    if baseline is None and config.baseline_path:
        baseline = load_file(config)  # a bad file is reported before any connection
    fetch.require_model(es, cfg, config.model)
    if baseline is None:
        baseline = load(es, cfg, config)
    _same_model(baseline, config.model)
    fetch.check_mapping(es, cfg, baseline)
    segments = _segments(es, cfg, config, baseline)
    specs = _specs(config, segments)
    aggs = fetch.aggregate(es, cfg, baseline, specs, request_cache=config.request_cache)
    current = aggs[0]
    ref_window = config.reference_window()
    reference = aggs[1] if ref_window is not None else compare.baseline_reference(baseline)
    previous = reference if ref_window == config.window.previous() else aggs[-1]
    above = _latency_above(es, cfg, config, current, previous)
    report = build_report(
        baseline, config, current, reference, previous, now, segments, latency_above=above
    )
    if config.quality:
        report = with_quality(es, cfg, config, report, now)
    if config.store:
        store(es, cfg, report)
    return report


def _latency_above(
    es: Elasticsearch,
    cfg: ESConfig,
    config: AnalyzeConfig,
    current: WindowAggregates,
    previous: WindowAggregates,
) -> float | None:
    """This window's latencies above the previous window's p95, asked only when the p95
    ratio is beyond the tolerance (the one case whose verdict needs the count)."""
    check = checks.latency_check(current.latency, previous.latency, config.latency_tolerance)
    if not check.beyond_tolerance or previous.latency is None:
        return None
    p95 = previous.latency.percentiles.get(checks.LATENCY_PERCENTILE)
    if p95 is None:
        return None
    return fetch.count_above(
        es,
        cfg,
        config.model,
        config.window,
        schema.LATENCY_MS,
        p95,
        request_cache=config.request_cache,
    )


def _segments(
    es: Elasticsearch, cfg: ESConfig, config: AnalyzeConfig, baseline: Baseline
) -> tuple[seg.SegmentSpec, ...]:
    """The segments of a --segment-by run: the baseline's stored segments in skew mode,
    else the top segments by volume over the window and its reference."""
    if not config.segment_by:
        return ()
    fields = fetch.check_segment_fields(es, cfg, config.model, config.segment_by)
    ref = config.reference_window()
    if ref is None:
        return segment_baseline.specs(baseline, fields, config.segments)
    return fetch.rank_segments(
        es,
        cfg,
        config.model,
        fields,
        [config.window, ref],
        config.segments,
        request_cache=config.request_cache,
    )


def build_report(
    baseline: Baseline,
    config: AnalyzeConfig,
    current: WindowAggregates,
    reference: WindowAggregates,
    previous: WindowAggregates,
    now: dt.datetime,
    segments: tuple[seg.SegmentSpec, ...] = (),
    *,
    latency_above: float | None = None,
) -> Report:
    """Compare, judge and check (pure): the Report of one run. `latency_above`: this
    window's latencies above the previous p95 (see `checks.latency_check`)."""
    policy = VerdictPolicy(alpha=config.alpha)
    unjudged = compare.compare(baseline, current, reference, min_count=config.min_count)
    by_segment = sc.SegmentedComparison()
    if segments:
        refs = None
        if reference.window is None:  # skew: each segment against its baseline profile
            refs = segment_baseline.profiles(baseline, segments)
            reference = segment_baseline.reference(reference, refs)
        by_segment = sc.compare_segments(
            baseline, current, reference, segments, min_count=config.min_count, references=refs
        )
    result, by_segment = sc.judge_run(unjudged, by_segment, policy)
    kind = config.reference if config.reference in ("baseline", "previous") else "range"
    ref_info = ReferenceInfo(kind, reference.window, baseline.id, reference.total)
    pred = current.prediction
    notes = list(current.notes)
    if current.total == 0:
        notes.append("no predictions in the window: every feature has insufficient data")
    if reference.window is not None and reference.total == 0:
        notes.append("no predictions in the reference window")
    served = sorted({g.version for g in current.versions} - {baseline.version})
    if served:
        notes.append(
            f"versions served that are not the baseline's ({baseline.version}): "
            + ", ".join(served)
        )
    return Report(
        run_id=uuid.uuid4().hex,
        created_at=now,
        model=config.model,
        baseline={
            "id": baseline.id,
            "version": baseline.version,
            "created_at": baseline.created_at,
            "rows": baseline.rows,
        },
        prediction_kind=baseline.prediction.kind if baseline.prediction else None,
        window=config.window,
        reference=ref_info,
        documents=current.total,
        comparison=result,
        alpha=config.alpha,
        min_count=config.min_count,
        prediction_summary=pred.value.summary if pred and pred.value else None,
        prediction_median=pred.median if pred else None,
        trend=current.trend,
        trend_interval=current.trend_interval,
        trend_slope=checks.trend_slope(current.trend),
        versions=current.versions,
        version_tests=compare.compare_versions(current.versions, policy, config.min_count),
        staleness=checks.staleness(
            current.trained_at,
            current.versions,
            baseline.trained_at,
            baseline.version,
            config.window.end,
            config.max_age,
        ),
        nonfinite=checks.nonfinite(pred, current.total),
        latency=checks.latency_check(
            current.latency,
            previous.latency,
            config.latency_tolerance,
            above=latency_above,
            alpha=config.alpha,
        ),
        notes=tuple(notes),
        segmented=by_segment,
    )


def with_quality(
    es: Elasticsearch, cfg: ESConfig, config: AnalyzeConfig, report: Report, now: dt.datetime
) -> Report:
    """`report` with the quality run of its window (regressed metrics become findings)."""
    import dataclasses

    from predwatch.analyzers import analyze_quality

    q = analyze_quality.run(es, cfg, config.model, config.window, store=config.store, now=now)
    summary = {
        "run_id": q.run_id,
        "reference": q.reference_kind,
        "regressed": q.regressed,
        "notes": list(q.notes),
    }
    notes = (*report.notes, *(f"quality: {n}" for n in q.notes))
    return dataclasses.replace(report, quality=summary, notes=notes)


# --- storage ------------------------------------------------------------------------------
def _num(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _test_doc(t: TestResult) -> dict[str, Any]:
    return {
        "record_type": "test",
        "test": t.name,
        "statistic": _num(t.statistic),
        "p_value": _num(t.p_value),
        "p_value_adjusted": _num(t.p_value_adjusted),
        "effect_size": _num(t.effect_size),
        "effect_name": t.effect_name,
        "threshold": _num(t.threshold),
        "drifted": bool(t.drifted),
        "drifted_flag": int(bool(t.drifted)),
        "note": t.note,
        "n_current": _num(t.n_current),
        "n_reference": _num(t.n_reference),
        "min_detectable_effect": _num(t.min_detectable_effect),
        "detectable": t.detectable,
    }


def documents(report: Report) -> Iterator[dict[str, Any]]:
    """The run as drift documents: tests, features, metrics and one summary."""
    ref = report.reference
    common = {
        schema.TIMESTAMP: iso(report.created_at),
        "run_id": report.run_id,
        "model": {"name": report.model, "version": report.baseline["version"]},
        "window": report.window.to_dict(),
        "reference": {
            "kind": ref.kind,
            "start": iso(ref.window.start) if ref.window else None,
            "end": iso(ref.window.end) if ref.window else None,
        },
    }
    for f in (*report.comparison.features, *report.comparison.predictions):
        where = {"feature": f.feature, "feature_type": f.type}
        for t in f.tests:
            yield {**common, **where, **_test_doc(t)}
        yield {
            **common,
            **where,
            "record_type": "feature",
            "drifted": f.drifted,
            "drifted_flag": int(f.drifted),
            "note": f.note or f.status,
            "power_note": f.power_note,
            "n_current": _num(f.n_current),
            "n_reference": _num(f.n_reference),
        }
    for t in report.version_tests:
        yield {**common, "feature": schema.MODEL_VERSION, "feature_type": "version", **_test_doc(t)}
    for name, value in _metrics(report):
        yield {**common, "record_type": "metric", "metric": {"name": name, "value": value}}
    yield from _segment_documents(report, common)
    drifted = report.drifted_features
    yield {
        **common,
        "record_type": "summary",
        "drifted_segments": report.drifted_segments,
        "drifted_segment_count": len(report.drifted_segments),
        "drifted_features": drifted,
        "drifted_count": len(drifted),
        "drifted": bool(report.findings),
        "drifted_flag": int(bool(report.findings)),
        "note": "; ".join(report.findings),
        "n_current": report.documents,
        "n_reference": ref.documents,
    }


def _feature_doc(f: compare.FeatureResult) -> dict[str, Any]:
    return {
        "drifted": f.drifted,
        "drifted_flag": int(f.drifted),
        "note": f.note or f.status,
        "power_note": f.power_note,
        "n_current": _num(f.n_current),
        "n_reference": _num(f.n_reference),
    }


def _segment_documents(report: Report, common: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """--segment-by: the segment mix (one feature document per field, feature_type
    "segment_mix"), one "segment" document per segment, and each segment's tests and
    features as "segment_test" / "segment_feature" documents (record types of their own,
    so the unsegmented dashboards and rules count every feature once)."""
    for f in report.segmented.mix:
        where = {"feature": f.feature, "feature_type": f.type, "segment": {"field": f.feature}}
        for t in f.tests:
            yield {**common, **where, **_test_doc(t)}
        yield {**common, **where, "record_type": "feature", **_feature_doc(f)}
    for r in report.segmented.segments:
        segment = {"field": r.field, "value": r.value, "name": r.name}
        for f in (*r.features, *r.predictions):
            where = {"feature": f.feature, "feature_type": f.type, "segment": segment}
            for t in f.tests:
                yield {**common, **where, **_test_doc(t), "record_type": "segment_test"}
            yield {**common, **where, "record_type": "segment_feature", **_feature_doc(f)}
        yield {
            **common,
            "record_type": "segment",
            "segment": segment,
            "drifted": r.drifted,
            "drifted_flag": int(r.drifted),
            "drifted_features": r.drifted_features,
            "drifted_count": len(r.drifted_features),
            "note": r.note or r.status,
            "n_current": _num(r.n_current),
            "n_reference": _num(r.n_reference),
        }


def _metrics(report: Report) -> Iterator[tuple[str, float]]:
    values: dict[str, float | None] = {"documents": report.documents}
    s = report.prediction_summary
    if s is not None:
        values.update(
            {
                "prediction.count": s.n,
                "prediction.mean": s.mean,
                "prediction.std": s.std,
                "prediction.min": s.min,
                "prediction.max": s.max,
                "prediction.median": report.prediction_median,
            }
        )
    if report.nonfinite is not None and report.nonfinite.applies:
        values["prediction.nonfinite"] = report.nonfinite.predictions
    if report.staleness is not None and report.staleness.age is not None:
        values["model.age_days"] = report.staleness.age.total_seconds() / 86400.0
    lat = report.latency
    if lat is not None and lat.current is not None:
        values["latency.p95"] = lat.current.percentiles.get("95")
        values["latency.p95_previous"] = (
            lat.previous.percentiles.get("95") if lat.previous else None
        )
        values["latency.p95_ratio"] = lat.ratio
    for name, value in values.items():
        v = _num(value)
        if v is not None:
            yield name, v


def store(es: Elasticsearch, cfg: ESConfig, report: Report) -> int:
    """Write the run into predwatch-drift-<model>; returns the number of documents."""
    index = schema.index_name("drift", report.model)
    return index_documents(
        es, cfg, index, "drift", documents(report), f"{report.run_id}-", "results"
    )
