"""Response bodies of `queries.plan` turned into the value objects of `aggregates.py`. Pure."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from predwatch.analyzers.aggregates import (
    CategoricalAggs,
    FeatureAggs,
    Latency,
    NumericAggs,
    PredictionAggs,
    TextAggs,
    TrendBucket,
    VersionGroup,
    Window,
    WindowAggregates,
)
from predwatch.analyzers.category_fold import CategoryFold
from predwatch.analyzers.query_features import UNSEEN_TOP, feature_index
from predwatch.analyzers.query_plan import Request
from predwatch.analyzers.query_predictions import PERCENTS, trend_interval
from predwatch.analyzers.segments import NOTE_TRUNCATED, SegmentSpec
from predwatch.analyzers.stats import Summary
from predwatch.baseline import Baseline, CategoricalProfile, NumericProfile


@dataclass(frozen=True)
class Parsed:
    """Parsed aggregates, plus the categorical features whose terms were incomplete and the
    text features whose top OOV terms may be wrong (both to count by composite paging)."""

    aggregates: WindowAggregates
    incomplete: tuple[str, ...] = field(default=())
    inexact_text: tuple[str, ...] = field(default=())


def oov_terms_exact(agg: Mapping[str, Any]) -> bool:
    """True when a `terms` result (with `show_term_doc_count_error`) is provably the exact
    top list: every returned count is exact, and no term left out can reach the smallest
    returned count (a term absent from some shard's candidates has at most the overall
    `doc_count_error_upper_bound` documents there). Ties at the boundary count as inexact."""
    buckets = agg.get("buckets") or []
    if any(int(b.get("doc_count_error_upper_bound") or 0) != 0 for b in buckets):
        return False
    bound = int(agg.get("doc_count_error_upper_bound") or 0)
    if bound == 0:
        return True
    if len(buckets) < UNSEEN_TOP:
        # Fewer terms than asked for: each shard returned all it had (< its shard size),
        # unless a shard hit its shard size, which the bound above would show.
        return False
    return bound < float(buckets[-1]["doc_count"])


def _key(bucket: Mapping[str, Any]) -> str:
    return str(bucket.get("key_as_string", bucket["key"]))


def _summary(d: Mapping[str, Any] | None) -> Summary:
    return Summary.from_extended_stats(d or {})


def _num(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _value(aggs: Mapping[str, Any], name: str) -> float:
    return float((aggs.get(name) or {}).get("value") or 0.0)


def _bins(aggs: Mapping[str, Any], name: str, profile: NumericProfile) -> tuple[float, ...]:
    buckets = (aggs.get(name) or {}).get("buckets") or {}
    k = len(profile.edges) + 1
    return tuple(float((buckets.get(str(i)) or {}).get("doc_count", 0)) for i in range(k))


def _bin_sums(
    aggs: Mapping[str, Any], name: str, profile: NumericProfile
) -> tuple[float, ...] | None:
    """Sum of the values per bin, or None when the response has no sums (older queries)."""
    buckets = (aggs.get(name) or {}).get("buckets") or {}
    k = len(profile.edges) + 1
    found = [buckets.get(str(i)) or {} for i in range(k)]
    if any(b.get("doc_count") and "sum" not in b for b in found):
        return None
    return tuple(float((b.get("sum") or {}).get("value") or 0.0) for b in found)


def _numeric(
    aggs: Mapping[str, Any], prefix: str, profile: NumericProfile, total: float
) -> NumericAggs:
    summary = _summary(aggs.get(f"{prefix}_stats"))
    buckets = (aggs.get(f"{prefix}_bins") or {}).get("buckets") or {}
    oor = sum(float((buckets.get(k) or {}).get("doc_count", 0)) for k in ("below", "above"))
    return NumericAggs(
        bins=_bins(aggs, f"{prefix}_bins", profile),
        bin_sums=_bin_sums(aggs, f"{prefix}_bins", profile),
        summary=summary,
        total=total,
        missing=max(0.0, total - summary.n),
        out_of_range=oor,
    )


def median_from_bins(
    profile: NumericProfile, bins: Sequence[float], summary: Summary
) -> float | None:
    """The median, interpolated linearly inside the quantile bin that holds it.

    With the baseline's ~100 quantile bins the error stays within one bin (about one
    percentile), like a t-digest's, without another pass over the values.
    """
    n = math.fsum(bins)
    if n <= 0:
        return None
    seen = 0.0
    for i, count in enumerate(bins):
        if count > 0 and seen + count >= n / 2:
            lo = profile.edges[i - 1] if i > 0 else summary.min
            hi = profile.edges[i] if i < len(profile.edges) else summary.max
            if lo is None or hi is None:
                return hi if lo is None else lo
            lo = lo if summary.min is None else max(lo, summary.min)
            hi = hi if summary.max is None else min(hi, summary.max)
            return lo + max(0.0, hi - lo) * (n / 2 - seen) / count
        seen += count
    return None


def _terms_fold(
    agg: Mapping[str, Any] | None,
    profile: CategoricalProfile | None,
    total: float,
) -> tuple[CategoricalAggs, bool]:
    """Fold a terms result; the bool says whether it was complete (every value returned)."""
    agg = agg or {}
    fold = CategoryFold(profile)
    for b in agg.get("buckets", []):
        fold.add(_key(b), float(b["doc_count"]))
    rest = float(agg.get("sum_other_doc_count") or 0)
    complete = rest == 0
    if not complete:
        # Values beyond the terms size: counted as unseen until composite paging replaces them.
        fold.unseen += rest
    note = "" if complete else "more distinct values than the terms size"
    return fold.result(total, note), complete


def _text(aggs: Mapping[str, Any], p: str, total: float) -> tuple[TextAggs, bool]:
    """Fold a text feature's aggregations; the bool says whether its top OOV terms are exact."""
    length = _summary(aggs.get(f"{p}_len"))
    stats = aggs.get(f"{p}_len") or {}
    present = float((aggs.get(f"{p}_present") or {}).get("doc_count", 0))
    oov = aggs.get(f"{p}_oovterms") or {}
    terms = oov.get("buckets", [])
    text = TextAggs(
        total=total,
        missing=max(0.0, total - present),
        tokens=float(stats.get("sum") or 0.0),
        oov_tokens=_value(aggs, f"{p}_oovtok"),
        length=length,
        oov_terms=tuple((_key(b), float(b["doc_count"])) for b in terms),
    )
    return text, oov_terms_exact(oov)


def _total(resp: Mapping[str, Any]) -> float:
    total = (resp.get("hits") or {}).get("total") or {}
    return float(total.get("value", 0) if isinstance(total, Mapping) else total)


def _time(v: Any) -> dt.datetime | None:
    f = _num(v)
    return None if f is None else dt.datetime.fromtimestamp(f / 1000.0, dt.UTC)


def parse_latency(aggs: Mapping[str, Any]) -> Latency:
    values = (aggs.get("latency") or {}).get("values") or {}
    stats = aggs.get("latency_stats") or {}
    pct = {f"{p:g}": _num(values.get(f"{p:.1f}")) for p in PERCENTS}
    return Latency(
        count=float(stats.get("count") or 0),
        percentiles=pct,
        mean=_num(stats.get("avg")),
        max=_num(stats.get("max")),
    )


def _trend(aggs: Mapping[str, Any]) -> tuple[TrendBucket, ...]:
    out = []
    for b in (aggs.get("trend") or {}).get("buckets", []):
        st = b.get("stats") or {}
        median = ((b.get("median") or {}).get("values") or {}).get("50.0")
        count = float(st.get("count", b["doc_count"]))
        out.append(
            TrendBucket(
                start=dt.datetime.fromtimestamp(b["key"] / 1000.0, dt.UTC),
                count=count,
                mean=_num(st.get("avg")),
                median=_num(median),
                std=_num(st.get("std_deviation_sampling")) if count > 1 else None,
                min=_num(st.get("min")),
                max=_num(st.get("max")),
            )
        )
    return tuple(out)


def _versions(aggs: Mapping[str, Any], baseline: Baseline) -> tuple[VersionGroup, ...]:
    pred = baseline.prediction
    out = []
    for b in (aggs.get("versions") or {}).get("buckets", []):
        value = pred.value if pred else None
        labels = {
            _key(t): float(t["doc_count"]) for t in (b.get("pl_terms") or {}).get("buckets", [])
        }
        out.append(
            VersionGroup(
                version=_key(b),
                count=float(b["doc_count"]),
                summary=_summary(b.get("pv_stats")) if value is not None else None,
                bins=_bins(b, "pv_bins", value) if value is not None else (),
                labels=labels,
                trained_at=_time((b.get("trained_at") or {}).get("value")),
            )
        )
    return tuple(out)


def _predictions(aggs: Mapping[str, Any], baseline: Baseline, total: float) -> PredictionAggs:
    pred = baseline.prediction
    value = label = None
    median = None
    if pred is not None and pred.value is not None:
        value = _numeric(aggs, "pv", pred.value, total)
        median = median_from_bins(pred.value, value.bins, value.summary)
    if pred is not None and pred.label is not None:
        label, _ = _terms_fold(aggs.get("pl_terms"), pred.label, total)
    return PredictionAggs(
        value=value,
        label=label,
        median=median,
        nonfinite_docs=_value(aggs, "nonfinite"),
        nonfinite_predictions=float((aggs.get("pv_nonfinite") or {}).get("doc_count", 0)),
    )


def _segment_features(
    aggs: Mapping[str, Any], names: Sequence[str], baseline: Baseline, total: float
) -> dict[str, FeatureAggs]:
    """The features of one segment's bucket (categorical terms capped: no paging per segment)."""
    out: dict[str, FeatureAggs] = {}
    for name in names:
        idx = feature_index(baseline, name)
        fp, p = baseline.features[idx], f"f{idx}"
        if fp.numeric is not None:
            out[name] = _numeric(aggs, p, fp.numeric, total)
        elif fp.categorical is not None:
            cat, complete = _terms_fold(aggs.get(f"{p}_terms"), fp.categorical, total)
            if not complete:
                cat = replace(
                    cat,
                    other=cat.other + cat.unseen,
                    unseen=0.0,
                    unseen_known=False,
                    note=f"{NOTE_TRUNCATED}: only its top values are counted, so its "
                    "distribution and unseen share are not compared in the segment (the run's "
                    "overall tests compare them)",
                )
            out[name] = cat
        elif fp.text is not None:
            out[name], _ = _text(aggs, p, total)
    return out


def _segment_buckets(
    aggs: Mapping[str, Any], segments: Sequence[SegmentSpec]
) -> list[tuple[tuple[str, str], Mapping[str, Any]]]:
    """((field, segment value), bucket) of every segment bucket in `aggs`."""
    out = []
    for i, spec in enumerate(segments):
        buckets = (aggs.get(f"seg{i}") or {}).get("buckets") or {}
        for key, bucket in buckets.items():
            out.append(((spec.field, spec.bucket_value(key)), bucket))
    return out


def _segments(
    baseline: Baseline,
    window: Window,
    segments: Sequence[SegmentSpec],
    requests: Sequence[Request],
    responses: Sequence[Mapping[str, Any]],
) -> dict[tuple[str, str], WindowAggregates]:
    totals: dict[tuple[str, str], float] = {}
    features: dict[tuple[str, str], dict[str, FeatureAggs]] = {}
    preds: dict[tuple[str, str], PredictionAggs] = {}
    for req, resp in zip(requests, responses, strict=True):
        for key, bucket in _segment_buckets(resp.get("aggregations") or {}, segments):
            total = float(bucket.get("doc_count", 0))
            totals[key] = total
            if req.part == "features":
                found = _segment_features(bucket, req.features, baseline, total)
                features.setdefault(key, {}).update(found)
            elif req.part == "predictions" and baseline.prediction is not None:
                preds[key] = _predictions(bucket, baseline, total)
    return {
        key: WindowAggregates(
            window=window,
            total=totals[key],
            features={
                f.name: features[key][f.name]
                for f in baseline.features
                if f.name in features.get(key, {})
            },
            prediction=preds.get(key),
        )
        for spec in segments
        for key in ((spec.field, v) for v in spec.keys)
        if key in totals
    }


def parse(
    baseline: Baseline,
    window: Window,
    requests: Sequence[Request],
    responses: Sequence[Mapping[str, Any]],
    segments: Sequence[SegmentSpec] = (),
) -> Parsed:
    """Turn the response bodies of `plan(...)` (same order) into WindowAggregates."""
    if len(requests) != len(responses):
        raise ValueError(f"{len(requests)} requests but {len(responses)} responses")
    features: dict[str, FeatureAggs] = {}
    incomplete: list[str] = []
    inexact_text: list[str] = []
    total = 0.0
    kw: dict[str, Any] = {}
    for req, resp in zip(requests, responses, strict=True):
        aggs = resp.get("aggregations") or {}
        total = max(total, _total(resp))
        if req.part == "features":
            for name in req.features:
                idx = feature_index(baseline, name)
                fp, p = baseline.features[idx], f"f{idx}"
                t = _total(resp)
                if fp.numeric is not None:
                    features[name] = _numeric(aggs, p, fp.numeric, t)
                elif fp.categorical is not None:
                    cat, complete = _terms_fold(aggs.get(f"{p}_terms"), fp.categorical, t)
                    features[name] = cat
                    if not complete:
                        incomplete.append(name)
                elif fp.text is not None:
                    features[name], exact = _text(aggs, p, t)
                    if not exact:
                        inexact_text.append(name)
        elif req.part == "latency":
            kw["latency"] = parse_latency(aggs)
        elif req.part == "predictions":
            kw["latency"] = parse_latency(aggs)
            kw["trained_at"] = _time((aggs.get("trained_at") or {}).get("value"))
            if baseline.prediction is not None:
                kw["prediction"] = _predictions(aggs, baseline, _total(resp))
            if "trend" in aggs:
                kw["trend"] = _trend(aggs)
                kw["trend_interval"] = trend_interval(window)
            if "versions" in aggs:
                kw["versions"] = _versions(aggs, baseline)
    ordered = {f.name: features[f.name] for f in baseline.features if f.name in features}
    if segments:
        kw["segments"] = _segments(baseline, window, segments, requests, responses)
    agg = WindowAggregates(window=window, total=total, features=ordered, **kw)
    return Parsed(agg, tuple(incomplete), tuple(inexact_text))


def composite_page(resp: Mapping[str, Any]) -> tuple[list[tuple[str, float]], str | None]:
    """Buckets of one composite page and the key to continue after (None at the end)."""
    agg = (resp.get("aggregations") or {}).get("values") or {}
    buckets = [(str(b["key"]["v"]), float(b["doc_count"])) for b in agg.get("buckets", [])]
    after = (agg.get("after_key") or {}).get("v")
    if not buckets:
        after = None
    return buckets, None if after is None else str(after)


def with_feature(agg: WindowAggregates, name: str, value: FeatureAggs) -> WindowAggregates:
    """A copy of `agg` with feature `name` replaced (after composite paging)."""
    features = dict(agg.features)
    features[name] = value
    return replace(agg, features=features)
