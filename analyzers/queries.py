"""Aggregation requests for one model and one time window, and their parsing.

Pure: builds request bodies from a Baseline and a Window and turns response bodies into
the value objects of `aggregates.py`; `fetch.py` sends them. Every body has `size: 0`:
nothing here ever asks for documents.

Per feature (field names from `predwatch.schema`):
- numeric: `range` on the baseline's bin edges, `extended_stats`, the out-of-range flag sum
  (missing = documents in the window - values counted);
- categorical: `terms` sized above the vocabulary (capped at TERMS_CAP; when the window
  has more distinct values than that, `fetch.py` pages with `composite`), the OOV flag sum;
- text: `extended_stats` of tokens per document, the OOV token sum, an `exists` filter,
  the most frequent OOV terms (a `terms` with a large shard size whose error bounds are
  checked: when they cannot rule out a wrong top list, `fetch.py` counts the OOV terms
  exactly with `composite` paging).
Predictions: the same for `prediction.value` / `prediction.label`, non-finite counts, a
`date_histogram` of basic statistics, `terms` on `model.version` with per-version stats
and bins, latency percentiles and the newest `model.trained_at`.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from predwatch import schema as s
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
    iso,
)
from predwatch.analyzers.stats import Summary
from predwatch.baseline import Baseline, CategoricalProfile, NumericProfile

Body = dict[str, Any]

TERMS_CAP = 5000  # larger vocabularies are counted by composite paging
NEW_VALUES_ROOM = 100  # terms size above the vocabulary: room for unseen values
UNSEEN_TOP = 10  # most frequent unseen values / OOV terms kept for reports
# Candidates each shard returns for the top OOV terms. With several shards (a cluster, or a
# window over two daily indices) a shard size of UNSEEN_TOP misses and undercounts terms;
# this one usually makes the top list provably exact, else composite paging makes it so.
OOV_SHARD_SIZE = 500
COMPOSITE_PAGE = 1000
FEATURES_PER_REQUEST = 8  # several bodies in one msearch run in parallel on the node
PERCENTS = (50.0, 90.0, 95.0, 99.0)
MAX_VERSIONS = 20
MAX_TREND_BUCKETS = 48
NO_VERSION = "(unknown)"
_NICE = (
    "1m",
    "2m",
    "5m",
    "10m",
    "15m",
    "30m",
    "1h",
    "2h",
    "3h",
    "6h",
    "12h",
    "1d",
    "2d",
    "7d",
    "14d",
    "30d",
)
_NICE_SECONDS = {"m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Request:
    """One search body and what it covers ("features", "predictions" or "latency")."""

    part: str
    body: Body
    features: tuple[str, ...] = ()


@dataclass(frozen=True)
class Parsed:
    """Parsed aggregates, plus the categorical features whose terms were incomplete and the
    text features whose top OOV terms may be wrong (both to count by composite paging)."""

    aggregates: WindowAggregates
    incomplete: tuple[str, ...] = field(default=())
    inexact_text: tuple[str, ...] = field(default=())


def window_query(window: Window) -> Body:
    return {
        "bool": {
            "filter": [
                {
                    "range": {
                        s.TIMESTAMP: {
                            "gte": iso(window.start),
                            "lt": iso(window.end),
                            "format": "strict_date_optional_time",
                        }
                    }
                }
            ]
        }
    }


def _search(window: Window, aggs: Body) -> Body:
    return {"size": 0, "track_total_hits": True, "query": window_query(window), "aggs": aggs}


def _ranges(profile: NumericProfile, out_of_range: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"key": str(i), **r} for i, r in enumerate(profile.range_buckets())
    ]
    if out_of_range and math.isfinite(profile.min) and math.isfinite(profile.max):
        # Values outside the training [min, max] (the shipper's out_of_range flag), counted
        # in the same pass as the bins: cheaper than a sum over the flag field.
        out.append({"key": "below", "to": profile.min})
        out.append({"key": "above", "from": math.nextafter(profile.max, math.inf)})
    return out


def _numeric_aggs(prefix: str, fld: str, profile: NumericProfile, out_of_range: bool) -> Body:
    ranges = _ranges(profile, out_of_range)
    return {
        f"{prefix}_bins": {
            "range": {"field": fld, "keyed": True, "ranges": ranges},
            # Where the mass sits inside each bin (Wasserstein's heavy tails).
            "aggs": {"sum": {"sum": {"field": fld}}},
        },
        f"{prefix}_stats": {"extended_stats": {"field": fld}},
    }


def terms_size(profile: CategoricalProfile) -> int:
    return min(len(profile.vocabulary) + NEW_VALUES_ROOM, TERMS_CAP)


def _terms(fld: str, size: int) -> Body:
    return {"terms": {"field": fld, "size": size, "shard_size": size}}


def feature_aggs(baseline: Baseline, names: Sequence[str]) -> Body:
    """The aggregations of the given features (named by their position in the baseline)."""
    aggs: Body = {}
    for name in names:
        idx = _index(baseline, name)
        fp = baseline.features[idx]
        p = f"f{idx}"
        fld = s.feature_field(s.INPUTS, fp.name)
        if fp.numeric is not None:
            aggs.update(_numeric_aggs(p, fld, fp.numeric, out_of_range=True))
        elif fp.categorical is not None:
            aggs[f"{p}_terms"] = _terms(fld, terms_size(fp.categorical))
        elif fp.text is not None:
            aggs[f"{p}_len"] = {"extended_stats": {"field": s.text_field(fp.name, s.TEXT_TOKENS)}}
            aggs[f"{p}_oovtok"] = {"sum": {"field": s.text_field(fp.name, s.TEXT_OOV_TOKENS)}}
            aggs[f"{p}_present"] = {"filter": {"exists": {"field": fld}}}
            aggs[f"{p}_oovterms"] = oov_terms_agg(fp.name)
    return aggs


def oov_terms_agg(feature: str) -> Body:
    """The most frequent OOV terms of a text feature, with the error bounds that tell
    whether the list is exact (`oov_terms_exact`)."""
    return {
        "terms": {
            "field": s.text_field(feature, s.TEXT_OOV_TERMS),
            "size": UNSEEN_TOP,
            "shard_size": OOV_SHARD_SIZE,
            "show_term_doc_count_error": True,
        }
    }


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


def _index(baseline: Baseline, name: str) -> int:
    for i, f in enumerate(baseline.features):
        if f.name == name:
            return i
    raise KeyError(f"feature {name!r} is not in baseline {baseline.id}")


def trend_interval(window: Window) -> str:
    """The smallest round interval giving at most MAX_TREND_BUCKETS buckets."""
    seconds = window.length.total_seconds()
    for text in _NICE:
        step = int(text[:-1]) * _NICE_SECONDS[text[-1]]
        if seconds / step <= MAX_TREND_BUCKETS:
            return text
    return _NICE[-1]


def _interval_ms(text: str) -> int:
    return int(text[:-1]) * _NICE_SECONDS[text[-1]] * 1000


def _ms(t: dt.datetime) -> int:
    return round(t.timestamp() * 1000)


def prediction_aggs(
    baseline: Baseline, window: Window, *, trend: bool = True, versions: bool = True
) -> Body:
    """Prediction distribution, non-finite counts, latency, staleness, trend, versions."""
    pred = baseline.prediction
    value = pred.value if pred else None
    label = pred.label if pred else None
    aggs: Body = {
        "nonfinite": {"sum": {"field": s.NONFINITE}},
        "trained_at": {"max": {"field": s.MODEL_TRAINED_AT}},
        **latency_aggs(),
    }
    per_bucket: Body = {}
    if value is not None:
        aggs.update(_numeric_aggs("pv", s.PREDICTION_VALUE, value, out_of_range=False))
        aggs["pv_nonfinite"] = {
            "filter": {
                "bool": {
                    "filter": [{"term": {s.NONFINITE: 1}}],
                    "must_not": [{"exists": {"field": s.PREDICTION_VALUE}}],
                }
            }
        }
        per_bucket = {
            "stats": {"extended_stats": {"field": s.PREDICTION_VALUE}},
            "median": {"percentiles": {"field": s.PREDICTION_VALUE, "percents": [50.0]}},
        }
    if label is not None:
        aggs["pl_terms"] = _terms(s.PREDICTION_LABEL, terms_size(label))
    if trend:
        interval = trend_interval(window)
        step = _interval_ms(interval)
        bounds = {"min": _ms(window.start), "max": _ms(window.end) - 1}
        aggs["trend"] = {
            "date_histogram": {
                "field": s.TIMESTAMP,
                "fixed_interval": interval,
                # Buckets start at the window start, not at epoch multiples.
                "offset": f"+{_ms(window.start) % step}ms",
                "min_doc_count": 0,
                "extended_bounds": bounds,
            },
            "aggs": per_bucket,
        }
    if versions:
        sub: Body = {"trained_at": {"max": {"field": s.MODEL_TRAINED_AT}}}
        if value is not None:
            sub.update(_numeric_aggs("pv", s.PREDICTION_VALUE, value, out_of_range=False))
        if label is not None:
            sub["pl_terms"] = _terms(s.PREDICTION_LABEL, terms_size(label))
        aggs["versions"] = {
            "terms": {"field": s.MODEL_VERSION, "size": MAX_VERSIONS, "missing": NO_VERSION},
            "aggs": sub,
        }
    return aggs


def latency_aggs() -> Body:
    return {
        "latency": {"percentiles": {"field": s.LATENCY_MS, "percents": list(PERCENTS)}},
        "latency_stats": {"stats": {"field": s.LATENCY_MS}},
    }


def plan(
    baseline: Baseline,
    window: Window,
    *,
    predictions: bool = True,
    trend: bool = True,
    versions: bool = True,
    per_request: int = FEATURES_PER_REQUEST,
) -> list[Request]:
    """The search bodies that aggregate one window (features in chunks, then predictions)."""
    names = [f.name for f in baseline.features]
    out = [
        Request("features", _search(window, feature_aggs(baseline, chunk)), tuple(chunk))
        for chunk in (names[i : i + per_request] for i in range(0, len(names), per_request))
    ]
    if predictions:
        aggs = prediction_aggs(baseline, window, trend=trend, versions=versions)
        out.append(Request("predictions", _search(window, aggs)))
    if not out:  # a baseline without features or prediction: still count the documents
        out.append(Request("predictions", _search(window, latency_aggs())))
    return out


def latency_request(window: Window) -> Request:
    """Latency percentiles of a window (the previous one, when it is not the reference)."""
    return Request("latency", _search(window, latency_aggs()))


def composite_body(fld: str, window: Window, after: str | None = None) -> Body:
    """One page of exact value counts of a keyword field (sorted by value)."""
    comp: Body = {"size": COMPOSITE_PAGE, "sources": [{"v": {"terms": {"field": fld}}}]}
    if after is not None:
        comp["after"] = {"v": after}
    return _search(window, {"values": {"composite": comp}})


# --- parsing ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Ranked:
    """A (count, value) ordered from least to most frequent; among equal counts the later
    value ranks lower, so the kept ties are the first values, as `terms` orders them."""

    count: float
    value: str

    def __lt__(self, other: _Ranked) -> bool:
        if self.count != other.count:
            return self.count < other.count
        return self.value > other.value


class CategoryFold:
    """Folds (value, count) pairs onto a categorical profile's cells in bounded memory."""

    def __init__(self, profile: CategoricalProfile | None, keep_unseen: int = UNSEEN_TOP) -> None:
        self.profile = profile
        self.top: dict[str, float] = dict.fromkeys(profile.frequencies, 0.0) if profile else {}
        self.other = 0.0
        self.unseen = 0.0
        self._keep = keep_unseen
        self._heap: list[_Ranked] = []

    def add(self, value: str, count: float) -> None:
        if value in self.top:
            self.top[value] += count
        elif self.profile is not None and value in self.profile.vocabulary:
            self.other += count
        else:
            self.unseen += count
            self.keep_top(value, count)

    def keep_top(self, value: str, count: float) -> None:
        """Remember (value, count) if it is among the `keep_unseen` most frequent so far."""
        item = _Ranked(count, value)
        if len(self._heap) < self._keep:
            heapq.heappush(self._heap, item)
        elif self._heap[0] < item:
            heapq.heapreplace(self._heap, item)

    def top_values(self) -> tuple[tuple[str, float], ...]:
        """The kept values, most frequent first; ties by value, as a `terms` aggregation."""
        return tuple((r.value, r.count) for r in sorted(self._heap, reverse=True))

    def result(self, total: float, note: str = "") -> CategoricalAggs:
        n = math.fsum(self.top.values()) + self.other + self.unseen
        unseen_top = self.top_values()
        return CategoricalAggs(
            top=self.top,
            other=self.other,
            unseen=self.unseen,
            total=total,
            missing=max(0.0, total - n),
            unseen_top=unseen_top,
            note=note,
        )


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


def parse(
    baseline: Baseline,
    window: Window,
    requests: Sequence[Request],
    responses: Sequence[Mapping[str, Any]],
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
                idx = _index(baseline, name)
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
