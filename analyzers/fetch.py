"""Runs the aggregation requests of `queries.py` against Elasticsearch.

All windows of a run go out in one `_msearch`; categorical features whose `terms` came back
incomplete, and text features whose top OOV terms the `terms` error bounds cannot prove
exact (several shards), are then counted exactly with `composite` paging (folded page by
page, so memory stays bounded). Every request has `size: 0`: no prediction document is ever fetched.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from elasticsearch import Elasticsearch
from elasticsearch.serializer import JsonSerializer

from predwatch import es as es_mod
from predwatch import schema as s
from predwatch.analyzers import queries as q
from predwatch.analyzers import segments as seg
from predwatch.analyzers.aggregates import CategoricalAggs, TextAggs, Window, WindowAggregates
from predwatch.baseline import Baseline
from predwatch.config import ESConfig
from predwatch.errors import ConfigError, PredwatchError

MAX_COMPOSITE_PAGES = 200  # 200k distinct values per feature and window at most

_NUMERIC_TYPES = frozenset(
    {
        "double",
        "float",
        "half_float",
        "scaled_float",
        "long",
        "integer",
        "short",
        "byte",
        "unsigned_long",
    }
)
_ACCEPTED = {
    "numeric": _NUMERIC_TYPES,
    # A categorical mapped as a number would come back as "1.0" where training saw "1".
    "categorical": frozenset({"keyword", "constant_keyword", "wildcard"}),
    "text": frozenset({"text", "match_only_text"}),
}


class UnknownModel(PredwatchError):
    """No prediction index exists for the model."""


class MappingMismatch(PredwatchError):
    """The baseline's feature types do not match how the model's indices map them."""


class AggregationFailed(PredwatchError):
    """Elasticsearch refused or partly failed an aggregation."""


@dataclass(frozen=True)
class WindowSpec:
    """What to aggregate for one window of a run."""

    window: Window
    features: bool = True
    predictions: bool = True
    trend: bool = True
    versions: bool = True
    latency_only: bool = False
    segments: tuple[seg.SegmentSpec, ...] = ()

    def requests(self, baseline: Baseline) -> list[q.Request]:
        if self.latency_only:
            return [q.latency_request(self.window)]
        reqs = q.plan(
            baseline,
            self.window,
            predictions=self.predictions,
            trend=self.trend,
            versions=self.versions,
            segments=self.segments,
        )
        return [r for r in reqs if self.features or r.part != "features"]


def window_indices(model: str, window: Window) -> list[str]:
    """The daily prediction indices `window` touches (`schema.window_indices`): every search
    of a window names them rather than the model's pattern, whose other indices would each
    cost a shard request."""
    return s.window_indices("predictions", model, window.start, window.end)


def model_indices(es: Elasticsearch, cfg: ESConfig, model: str) -> list[str]:
    """Names of the model's prediction indices (empty when the model has none)."""
    pattern = s.index_pattern("predictions", model)
    return sorted(es_mod.call(cfg, lambda: es_mod.resolve_index(es, pattern)))


def require_model(es: Elasticsearch, cfg: ESConfig, model: str) -> list[str]:
    """The model's prediction indices; UnknownModel when there are none."""
    indices = model_indices(es, cfg, model)
    if not indices:
        raise UnknownModel(
            f"no predictions indices for model {model!r} ({s.index_pattern('predictions', model)} "
            "matches nothing); check the model name, or ship predictions first"
        )
    return indices


def check_mapping(es: Elasticsearch, cfg: ESConfig, baseline: Baseline) -> None:
    """Raise MappingMismatch when an index maps a baseline feature with an unusable type."""
    pattern = s.index_pattern("predictions", baseline.model)
    resp = es_mod.call(
        cfg,
        lambda: es.indices.get_field_mapping(
            index=pattern, fields=[f"{s.INPUTS}.*"], allow_no_indices=True
        ),
    )
    wanted = {s.feature_field(s.INPUTS, f.name): str(f.type) for f in baseline.features}
    for index, body in sorted(resp.body.items()):
        for full, entry in (body.get("mappings") or {}).items():
            ftype = wanted.get(full)
            if ftype is None:
                continue
            leaf: Mapping[str, Any] = next(iter((entry.get("mapping") or {}).values()), {})
            mapped = str(leaf.get("type", "object"))
            if mapped not in _ACCEPTED[ftype]:
                name = full[len(s.INPUTS) + 1 :]
                raise MappingMismatch(
                    f"baseline {baseline.id} says feature {name!r} is {ftype}, but index {index} "
                    f"maps {full} as {mapped}; the baseline does not match this model's data "
                    "(rebuild the baseline, or re-run `predwatch setup` with it for new indices)"
                )


# Types a segmentation field may have: exact values, so each segment is one `term`.
_SEGMENT_TYPES = frozenset(
    {"keyword", "constant_keyword", "boolean", "long", "integer", "short", "byte", "ip"}
)


def check_segment_fields(
    es: Elasticsearch, cfg: ESConfig, model: str, fields: Sequence[str]
) -> dict[str, str]:
    """Field -> indexed field name; ConfigError when a field is unknown or not exact values."""
    pattern = s.index_pattern("predictions", model)
    wanted = {name: seg.es_field(name) for name in fields}
    resp = es_mod.call(
        cfg,
        lambda: es.indices.get_field_mapping(
            index=pattern, fields=sorted(set(wanted.values())), allow_no_indices=True
        ),
    )
    types: dict[str, set[str]] = {}
    for body in resp.body.values():
        for full, entry in (body.get("mappings") or {}).items():
            leaf: Mapping[str, Any] = next(iter((entry.get("mapping") or {}).values()), {})
            types.setdefault(full, set()).add(str(leaf.get("type", "object")))
    for name, full in wanted.items():
        found = types.get(full)
        if not found:
            raise ConfigError(
                f"--segment-by {name}: no index of model {model!r} has a field {full}; "
                "segment by an input feature (its name, e.g. region) or a labels.* field"
            )
        bad = sorted(found - _SEGMENT_TYPES)
        if bad:
            raise ConfigError(
                f"--segment-by {name}: {full} is mapped as {', '.join(bad)}, not as exact "
                "values; segment by a keyword (categorical), boolean or integer field"
            )
    return wanted


def rank_segments(
    es: Elasticsearch,
    cfg: ESConfig,
    model: str,
    fields: Mapping[str, str],
    windows: Sequence[Window],
    top: int,
    *,
    request_cache: bool | None = None,
) -> tuple[seg.SegmentSpec, ...]:
    """The top `top` segments of each field by volume over `windows` (one _msearch)."""
    bodies = [seg.rank_body(full, q.window_query(w)) for full in fields.values() for w in windows]
    index = [window_indices(model, w) for _ in fields for w in windows]
    responses = msearch(es, cfg, index, bodies, request_cache=request_cache)
    out = []
    for i, (name, full) in enumerate(fields.items()):
        counts = [
            seg.ranked_values(r) for r in responses[i * len(windows) : (i + 1) * len(windows)]
        ]
        out.append(seg.SegmentSpec(name, full, seg.top_values(counts, top)))
    return tuple(out)


def _check(resp: Mapping[str, Any], index: str) -> Mapping[str, Any]:
    err = resp.get("error")
    if err:
        reason = err.get("reason") if isinstance(err, Mapping) else str(err)
        root = (err.get("root_cause") or [{}])[0] if isinstance(err, Mapping) else {}
        detail = root.get("reason") or reason
        raise AggregationFailed(f"Elasticsearch refused the aggregation on {index}: {detail}")
    shards = resp.get("_shards") or {}
    if shards.get("failed"):
        failure = (shards.get("failures") or [{}])[0]
        reason = (failure.get("reason") or {}).get("reason", "unknown reason")
        raise AggregationFailed(
            f"{shards['failed']} shard(s) of {index} failed the aggregation: {reason}; "
            "do the model's indices map the baseline's features with the same types?"
        )
    return resp


def msearch(
    es: Elasticsearch,
    cfg: ESConfig,
    index: str | Sequence[Sequence[str]],
    bodies: Sequence[Mapping[str, Any]],
    *,
    request_cache: bool | None = None,
    filter_path: Sequence[str] | None = None,
) -> list[Mapping[str, Any]]:
    """Run `bodies` (all `size: 0`) in one _msearch, on `index` or, given one list per body,
    each on its own indices; failures raise AggregationFailed. `filter_path`: the answer's
    paths under `responses.` that the caller reads (the failure fields are always kept)."""
    each = [index] * len(bodies) if isinstance(index, str) else [list(i) for i in index]
    if len(each) != len(bodies):
        raise ValueError(f"{len(bodies)} bodies but {len(each)} index lists")
    searches: list[Mapping[str, Any] | str] = []
    encoded: dict[int, str] = {}
    for names, body in zip(each, bodies, strict=True):
        if body.get("size") != 0:
            raise ValueError("analyzer searches must not fetch documents (size must be 0)")
        header: dict[str, Any] = {
            "index": names,
            "ignore_unavailable": True,
            "allow_no_indices": True,
        }
        if request_cache is not None:
            header["request_cache"] = request_cache
        searches += [header, _encode(body, encoded)]
    paths = None
    if filter_path is not None:
        paths = [f"responses.{p}" for p in (*filter_path, *_FAILURE_PATHS)]
    # bodies as JSON text: the client's NDJSON serializer sends str lines as they are
    lines = cast(Sequence[Mapping[str, Any]], searches)
    resp = es_mod.call(cfg, lambda: es.msearch(searches=lines, filter_path=paths))
    answers = resp.body["responses"]
    return [_check(r, _label(n)) for r, n in zip(answers, each, strict=True)]


_FAILURE_PATHS = ("error", "_shards.failed", "_shards.failures")


def _encode(body: Mapping[str, Any], encoded: dict[int, str]) -> str:
    """`body` as JSON, its `aggs` encoded once per object (`encoded`, by id): the windows of
    one request usually share one aggregation tree (74 ranges and their sums for an
    estimate), which the client would otherwise encode again for every window."""
    aggs = body.get("aggs")
    if aggs is None:
        return _json(body)
    tree = encoded.get(id(aggs))
    if tree is None:
        tree = encoded[id(aggs)] = _json(aggs)
    rest = _json({k: v for k, v in body.items() if k != "aggs"})
    return f'{rest[:-1]}{"," if len(rest) > 2 else ""}"aggs":{tree}}}'


_DEFAULT = JsonSerializer().default  # numpy numbers, dates, as the client encodes them


def _json(value: Any) -> str:
    return json.dumps(value, default=_DEFAULT, separators=(",", ":"), ensure_ascii=False)


def _label(index: str | Sequence[str]) -> str:
    """`index` for an error message: a name, or the first and last of a list."""
    if isinstance(index, str):
        return index
    return index[0] if len(index) == 1 else f"{index[0]} .. {index[-1]} ({len(index)} indices)"


def count_above(
    es: Elasticsearch,
    cfg: ESConfig,
    model: str,
    window: Window,
    field: str,
    value: float,
    *,
    request_cache: bool | None = None,
) -> float:
    """How many of the model's documents in `window` have `field` greater than `value`."""
    index = [window_indices(model, window)]
    query = q.window_query(window)
    query["bool"]["filter"].append({"range": {field: {"gt": value}}})
    body = {"size": 0, "track_total_hits": True, "query": query}
    (resp,) = msearch(es, cfg, index, [body], request_cache=request_cache)
    return float(resp["hits"]["total"]["value"])


def page_categories(
    es: Elasticsearch,
    cfg: ESConfig,
    baseline: Baseline,
    window: Window,
    name: str,
    first: CategoricalAggs,
    *,
    request_cache: bool | None = None,
) -> CategoricalAggs:
    """Exact category counts of one feature by composite paging, folded page by page."""
    fp = baseline.feature(name)
    profile = fp.categorical if fp is not None else None
    fld = s.feature_field(s.INPUTS, name)
    index = [window_indices(baseline.model, window)]
    fold = q.CategoryFold(profile)
    after: str | None = None
    note = ""
    for page in range(MAX_COMPOSITE_PAGES):
        body = q.composite_body(fld, window, after)
        (resp,) = msearch(es, cfg, index, [body], request_cache=request_cache)
        buckets, after = q.composite_page(resp)
        for value, count in buckets:
            fold.add(value, count)
        if after is None:
            break
        if page == MAX_COMPOSITE_PAGES - 1:
            rest = max(0.0, first.n - (sum(fold.top.values()) + fold.other + fold.unseen))
            fold.unseen += rest  # values after the last page are not enumerated
            note = (
                f"more than {MAX_COMPOSITE_PAGES * q.COMPOSITE_PAGE} distinct values; "
                f"{rest:g} values after them counted as unseen"
            )
    return fold.result(first.total, note)


def page_oov_terms(
    es: Elasticsearch,
    cfg: ESConfig,
    baseline: Baseline,
    window: Window,
    name: str,
    first: TextAggs,
    *,
    request_cache: bool | None = None,
) -> TextAggs:
    """Exact top OOV terms of one text feature by composite paging over every OOV term."""
    fld = s.text_field(name, s.TEXT_OOV_TERMS)
    index = [window_indices(baseline.model, window)]
    fold = q.CategoryFold(None)
    after: str | None = None
    for _ in range(MAX_COMPOSITE_PAGES):
        body = q.composite_body(fld, window, after)
        (resp,) = msearch(es, cfg, index, [body], request_cache=request_cache)
        buckets, after = q.composite_page(resp)
        for term, count in buckets:
            fold.keep_top(term, count)
        if after is None:
            return replace(first, oov_terms=fold.top_values())
    # More distinct OOV terms than the pages cover: keep the bounded `terms` answer.
    return first


def aggregate(
    es: Elasticsearch,
    cfg: ESConfig,
    baseline: Baseline,
    specs: Sequence[WindowSpec],
    *,
    request_cache: bool | None = None,
) -> list[WindowAggregates]:
    """Aggregate every window of `specs` (one _msearch, plus composite paging if needed)."""
    per_spec = [spec.requests(baseline) for spec in specs]
    bodies = [r.body for reqs in per_spec for r in reqs]
    index = [
        window_indices(baseline.model, spec.window)
        for spec, reqs in zip(specs, per_spec, strict=True)
        for _ in reqs
    ]
    responses = msearch(es, cfg, index, bodies, request_cache=request_cache)
    out: list[WindowAggregates] = []
    pos = 0
    for spec, reqs in zip(specs, per_spec, strict=True):
        parsed = q.parse(
            baseline, spec.window, reqs, responses[pos : pos + len(reqs)], spec.segments
        )
        pos += len(reqs)
        agg = parsed.aggregates
        for name in parsed.incomplete:
            first = agg.features[name]
            assert isinstance(first, CategoricalAggs)
            exact = page_categories(
                es, cfg, baseline, spec.window, name, first, request_cache=request_cache
            )
            agg = q.with_feature(agg, name, exact)
        for name in parsed.inexact_text:
            text = agg.features[name]
            assert isinstance(text, TextAggs)
            paged = page_oov_terms(
                es, cfg, baseline, spec.window, name, text, request_cache=request_cache
            )
            agg = q.with_feature(agg, name, paged)
        out.append(agg)
    return out
