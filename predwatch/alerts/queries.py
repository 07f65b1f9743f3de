"""One search per rule, shared by every target: the Watcher watch runs it as its search
input, `predwatch alerts check` runs it with the Python client, and the Kibana rule uses its
query (Kibana adds the time window and the aggregation itself, see `kibana_spec`).

No painless anywhere: rates are `avg` over the 0/1 monitor flags, and a rule's minimum
sample size is a `terms` bucket on model.name with `min_doc_count` (an empty bucket list
makes the `array_compare` condition false). Pure: returns dicts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from predwatch import schema as s
from predwatch.alerts.conditions import Check, resolve
from predwatch.alerts.model import Rule

Body = dict[str, Any]

GUARD = "guard"  # agg name of the min_count bucket
TOTAL = "ctx.payload.hits.total"
GUARD_BUCKETS = f"ctx.payload.aggregations.{GUARD}.buckets"
TOP_SIZE = 10
LATENCY_PERCENT = 95.0
# Kibana's approximation of "p95 > bound": more than 5 % of `min_count` requests are slower.
SLOW_SHARE = 1 - LATENCY_PERCENT / 100

# Fields of the other indices, checked against their mappings by a contract test.
DRIFT_RECORD_TYPE = "record_type"
DRIFT_FEATURE = "feature"
DRIFT_DRIFTED = "drifted"
DRIFT_METRIC_NAME = "metric.name"
DRIFT_SEGMENT = "segment.name"  # "region=pacific" on the "segment" documents
QUALITY_PREFIX = "quality."  # the metric.name prefix of `predwatch quality` documents
ESTIMATED_PREFIX = "quality.estimated."  # ... of its estimates before labels (--estimate)
DEADLETTER_ERROR_TYPE = "error.type"
DEPLOYMENT_FINGERPRINT = "fingerprint"
DEPLOYMENT_PACKAGES = "packages"
DEPLOYMENT_PYTHON = s.PYTHON_VERSION
VERSIONS = "versions"  # agg name: model versions of the deployment rules, newest first
VERSIONS_SIZE = 20
# The field whose distinct values per model version a deployment rule counts.
DISTINCT_FIELD = {"dependency_change": DEPLOYMENT_FINGERPRINT, "model_hash_change": s.MODEL_HASH}


@dataclass(frozen=True)
class RuleSearch:
    """What one watch / one check runs: indices, search body, and the condition on it.

    A band rule (prediction_mean) has two searches with the same body, keys `high`/`low`.
    """

    key: str
    indices: tuple[str, ...]
    body: Body
    check: Check
    bound: float  # the threshold this check compares with

    def params(self) -> dict[str, Any]:
        """Search parameters matching a Watcher search input's defaults."""
        return {
            "index": ",".join(self.indices),
            "rest_total_hits_as_int": True,
            "ignore_unavailable": True,
            "allow_no_indices": True,
        }


@dataclass(frozen=True)
class KibanaSpec:
    """The parameters of a Kibana "Elasticsearch query" rule (.es-query, searchType esQuery)."""

    indices: tuple[str, ...]
    query: Body  # without the time range: Kibana adds timeField/timeWindow itself
    agg_type: str  # count | avg
    agg_field: str | None
    comparator: str  # > >= < <= between notBetween
    threshold: tuple[float, ...]
    notes: tuple[str, ...] = field(default=())


# --- helpers ----------------------------------------------------------------------------
def _predictions(rule: Rule) -> tuple[str, ...]:
    return (s.index_pattern("predictions", rule.model),)


def _query(
    rule: Rule,
    extra: list[Body],
    must_not: list[Body] | None = None,
    *,
    timed: bool = True,
    by_model: bool = True,
) -> Body:
    # The drift index is per model already; its documents need not carry model.name.
    filters = [{"term": {s.MODEL_NAME: rule.model}}, *extra] if by_model else list(extra)
    if timed:
        filters.insert(0, {"range": {s.TIMESTAMP: {"gte": f"now-{rule.window}"}}})
    q: Body = {"bool": {"filter": filters}}
    if must_not:
        q["bool"]["must_not"] = must_not
    return q


def _body(query: Body, aggs: Body | None = None) -> Body:
    body: Body = {"size": 0, "track_total_hits": True, "query": query}
    if aggs:
        body["aggs"] = aggs
    return body


def _guarded(rule: Rule, metric: Body, extra: Body | None = None) -> Body:
    """Aggregations holding `metric` as `value` inside the min_count bucket."""
    return {
        GUARD: {
            "terms": {"field": s.MODEL_NAME, "size": 1, "min_doc_count": max(1, rule.min_count)},
            "aggs": {"value": metric, **(extra or {})},
        }
    }


def _exists(f: str) -> Body:
    return {"exists": {"field": f}}


def _top(f: str, size: int = TOP_SIZE) -> Body:
    return {"top": {"terms": {"field": f, "size": size}}}


def rate_field(rule: Rule) -> str:
    """The 0/1 flag (or per-document rate) whose average is the rule's rate."""
    f = rule.feature or ""
    if rule.kind == "missing_rate":
        return s.feature_field(s.MISSING, f)
    if rule.kind == "oov_rate" and rule.feature_type == "text":
        return s.text_field(f, s.TEXT_OOV_RATE)
    return s.feature_field(s.OOV, f)


def top_field(rule: Rule) -> str | None:
    """Field listing what caused a rate alert (unseen values, unseen words)."""
    f = rule.feature or ""
    if rule.kind == "oov_rate" and rule.feature_type == "text":
        return s.text_field(f, s.TEXT_OOV_TERMS)
    if rule.kind in ("oov_rate", "unseen"):
        return s.feature_field(s.UNSEEN, f)
    return None


# --- the searches -----------------------------------------------------------------------
def searches(rule: Rule) -> list[RuleSearch]:
    """The search(es) of `rule`; every target runs exactly these bodies."""
    k = rule.kind
    if k == "drift":
        q = _query(
            rule,
            [{"term": {DRIFT_RECORD_TYPE: "feature"}}, {"term": {DRIFT_DRIFTED: True}}],
            by_model=False,
        )
        body = _body(q, _top(DRIFT_FEATURE, 50))
        idx = (s.index_name("drift", rule.model),)
        return [RuleSearch("", idx, body, Check(TOTAL, "gt", rule.bound), rule.bound)]
    if k == "segment_drift":
        # Segments of `analyze --segment-by` runs that drifted (or vanished, with the mix).
        q = _query(
            rule,
            [{"term": {DRIFT_RECORD_TYPE: "segment"}}, {"term": {DRIFT_DRIFTED: True}}],
            by_model=False,
        )
        body = _body(q, _top(DRIFT_SEGMENT, 50))
        idx = (s.index_name("drift", rule.model),)
        return [RuleSearch("", idx, body, Check(TOTAL, "gt", rule.bound), rule.bound)]
    if k in ("quality_regression", "estimated_quality"):
        # Regressed metrics of `predwatch quality` runs (the analyze job's own "metric"
        # documents carry no verdict; the prefix keeps them out all the same): realized
        # ones, or the estimates made before labels (`quality --estimate`).
        estimated = {"prefix": {DRIFT_METRIC_NAME: ESTIMATED_PREFIX}}
        prefix = ESTIMATED_PREFIX if k == "estimated_quality" else QUALITY_PREFIX
        q = _query(
            rule,
            [
                {"term": {DRIFT_RECORD_TYPE: "metric"}},
                {"term": {DRIFT_DRIFTED: True}},
                {"prefix": {DRIFT_METRIC_NAME: prefix}},
            ],
            [estimated] if k == "quality_regression" else None,
            by_model=False,
        )
        body = _body(q, _top(DRIFT_METRIC_NAME, 50))
        idx = (s.index_name("drift", rule.model),)
        return [RuleSearch("", idx, body, Check(TOTAL, "gt", rule.bound), rule.bound)]
    if k in ("oov_rate", "missing_rate", "unseen"):
        f = rate_field(rule)
        top = top_field(rule)
        aggs = _guarded(rule, {"avg": {"field": f}}, _top(top) if top else None)
        body = _body(_query(rule, [_exists(f)]), aggs)
        check = Check(GUARD_BUCKETS, "gt", rule.bound, "value.value")
        return [RuleSearch("", _predictions(rule), body, check, rule.bound)]
    if k == "prediction_mean":
        low, high = rule.band
        aggs = _guarded(rule, {"avg": {"field": s.PREDICTION_VALUE}})
        body = _body(_query(rule, [_exists(s.PREDICTION_VALUE)]), aggs)
        return [
            RuleSearch(
                "high",
                _predictions(rule),
                body,
                Check(GUARD_BUCKETS, "gt", high, "value.value"),
                high,
            ),
            RuleSearch(
                "low", _predictions(rule), body, Check(GUARD_BUCKETS, "lt", low, "value.value"), low
            ),
        ]
    if k == "nonfinite":
        body = _body(_query(rule, [{"term": {s.NONFINITE: 1}}]))
        return [
            RuleSearch("", _predictions(rule), body, Check(TOTAL, "gt", rule.bound), rule.bound)
        ]
    if k == "version_change":
        q = _query(
            rule, [_exists(s.MODEL_VERSION)], [{"term": {s.MODEL_VERSION: rule.expected_version}}]
        )
        body = _body(q, _top(s.MODEL_VERSION))
        return [
            RuleSearch("", _predictions(rule), body, Check(TOTAL, "gt", rule.bound), rule.bound)
        ]
    if k == "multiple_versions":
        aggs = {"versions": {"cardinality": {"field": s.MODEL_VERSION}}, **_top(s.MODEL_VERSION)}
        body = _body(_query(rule, []), aggs)
        check = Check("ctx.payload.aggregations.versions.value", "gt", rule.bound)
        return [RuleSearch("", _predictions(rule), body, check, rule.bound)]
    if k == "no_traffic":
        body = _body(_query(rule, []))
        return [
            RuleSearch("", _predictions(rule), body, Check(TOTAL, "lte", rule.bound), rule.bound)
        ]
    if k == "latency_p95":
        # keyed=false: the percentile's key "95.0" has a dot, which dot paths cannot read.
        metric = {
            "percentiles": {"field": s.LATENCY_MS, "percents": [LATENCY_PERCENT], "keyed": False}
        }
        body = _body(_query(rule, [_exists(s.LATENCY_MS)]), _guarded(rule, metric))
        check = Check(GUARD_BUCKETS, "gt", rule.bound, "value.values.0.value")
        return [RuleSearch("", _predictions(rule), body, check, rule.bound)]
    if k == "deadletter":
        body = _body(_query(rule, []), _top(DEADLETTER_ERROR_TYPE))
        idx = (s.index_name("deadletter"),)
        return [RuleSearch("", idx, body, Check(TOTAL, "gt", rule.bound), rule.bound)]
    if k in DISTINCT_FIELD:
        # Per model version (newest first), the distinct fingerprints / hashes of the
        # deployment documents in the window; no document: an empty list, "no data".
        f = DISTINCT_FIELD[k]
        aggs = {
            VERSIONS: {
                "terms": {
                    "field": s.MODEL_VERSION,
                    "size": VERSIONS_SIZE,
                    "order": {"latest": "desc"},
                },
                "aggs": {
                    "latest": {"max": {"field": s.TIMESTAMP}},
                    "distinct": {"cardinality": {"field": f}},
                },
            }
        }
        body = _body(_query(rule, [_exists(f)]), aggs)
        check = Check(
            f"ctx.payload.aggregations.{VERSIONS}.buckets", "gt", rule.bound, "distinct.value"
        )
        return [RuleSearch("", (s.index_name("deployments"),), body, check, rule.bound)]
    if k == "staleness":
        # Predictions in the window from a model trained before now - max_age.
        stale = {"range": {s.MODEL_TRAINED_AT: {"lt": f"now-{rule.max_age}"}}}
        aggs = {**_top(s.MODEL_VERSION), "trained_at": {"min": {"field": s.MODEL_TRAINED_AT}}}
        body = _body(_query(rule, [stale]), aggs)
        return [
            RuleSearch("", _predictions(rule), body, Check(TOTAL, "gt", rule.bound), rule.bound)
        ]
    raise ValueError(f"no search for rule kind {k!r}")  # pragma: no cover - validated earlier


def kibana_spec(rule: Rule) -> KibanaSpec | None:
    """The Kibana .es-query parameters of `rule`, or None when Kibana cannot express it."""
    k = rule.kind
    first = searches(rule)[0]
    untimed = _strip_time(first.body["query"])
    notes: list[str] = []
    if rule.min_count > 1 and k in ("oov_rate", "missing_rate", "unseen", "prediction_mean"):
        notes.append(f"no minimum sample size in Kibana (Watcher/predwatch need {rule.min_count})")
    if k in (
        "drift",
        "segment_drift",
        "quality_regression",
        "estimated_quality",
        "nonfinite",
        "version_change",
        "deadletter",
        "staleness",
    ):
        return KibanaSpec(first.indices, untimed, "count", None, ">", (rule.bound,), tuple(notes))
    if k == "no_traffic":
        return KibanaSpec(first.indices, untimed, "count", None, "<=", (rule.bound,))
    if k in ("oov_rate", "missing_rate", "unseen"):
        return KibanaSpec(
            first.indices, untimed, "avg", rate_field(rule), ">", (rule.bound,), tuple(notes)
        )
    if k == "prediction_mean":
        low, high = rule.band
        return KibanaSpec(
            first.indices,
            untimed,
            "avg",
            s.PREDICTION_VALUE,
            "notBetween",
            (low, high),
            tuple(notes),
        )
    if k == "latency_p95":
        slow = max(0, math.ceil(SLOW_SHARE * max(rule.min_count, 1)) - 1)
        q = _query(rule, [{"range": {s.LATENCY_MS: {"gt": rule.bound}}}], timed=False)
        notes.append(
            f"approximation: fires when more than {slow} requests in the window take longer "
            f"than {rule.bound:g} ms (Kibana has no percentile aggregation)"
        )
        return KibanaSpec(first.indices, q, "count", None, ">", (float(slow),), tuple(notes))
    # multiple_versions, dependency_change, model_hash_change: a distinct count is not a
    # Kibana es-query aggregation.
    return None


def _strip_time(query: Body) -> Body:
    filters = [f for f in query["bool"]["filter"] if s.TIMESTAMP not in f.get("range", {})]
    out: Body = {"bool": {**query["bool"], "filter": filters}}
    return out


def deployment_docs_search(rule: Rule, version: str) -> Body:
    """The newest deployment document of each distinct fingerprint / hash of `version` in
    the window (what `deployment_changes` compares; the runner asks only when it fired)."""
    f = DISTINCT_FIELD[rule.kind]
    q = _query(rule, [_exists(f), {"term": {s.MODEL_VERSION: version}}])
    top = {"top_hits": {"size": 1, "sort": [{s.TIMESTAMP: "desc"}]}}
    return {
        "size": 0,
        "query": q,
        "aggs": {"distinct": {"terms": {"field": f, "size": 5}, "aggs": {"doc": top}}},
    }


def deployment_changes(rule: Rule, response: Mapping[str, Any]) -> dict[str, list[str]]:
    """What differs between the documents of `deployment_docs_search`: package (or
    python, model.hash, model.trained_at) -> the values seen, newest deployment first."""
    docs = []
    for b in resolve("aggregations.distinct.buckets", response) or []:
        hits = resolve("doc.hits.hits", b) or []
        if hits:
            docs.append(hits[0].get("_source", {}))
    docs.sort(key=lambda d: str(d.get(s.TIMESTAMP, "")), reverse=True)
    seen: list[dict[str, Any]] = []
    for d in docs:
        values: dict[str, Any] = {"python": resolve(DEPLOYMENT_PYTHON, d)}
        if rule.kind == "dependency_change":
            values.update(d.get(DEPLOYMENT_PACKAGES) or {})
        else:
            values.update({f: resolve(f, d) for f in (s.MODEL_HASH, s.MODEL_TRAINED_AT)})
        seen.append(values)
    names = sorted({name for values in seen for name in values})
    out: dict[str, list[str]] = {}
    for name in names:
        column = ["-" if v.get(name) is None else str(v[name]) for v in seen]
        if len(set(column)) > 1:
            out[name] = column
    return out
