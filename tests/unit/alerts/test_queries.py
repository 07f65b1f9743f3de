"""The shared searches: one per rule, no scripts, fields taken from the mappings."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from predwatch import mappings
from predwatch import schema as s
from predwatch.alerts import queries
from predwatch.alerts.rules import Rule, RuleSet, default_rules
from predwatch.baseline import Baseline, load_baseline

DEMO = Path(__file__).with_name("demo.baseline.json")


@pytest.fixture(scope="module")
def demo() -> Baseline:
    return load_baseline(DEMO)


@pytest.fixture(scope="module")
def ruleset(demo: Baseline) -> RuleSet:
    # The rules with an Elasticsearch search (dropped / delivery_lag: Prometheus only).
    rules = default_rules(demo)
    return dataclasses.replace(rules, rules=tuple(rules.enabled("elasticsearch")))


def _fields(node: Any) -> set[str]:
    """Every field name an aggregation or query in `node` reads."""
    out: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "field" and isinstance(value, str):
                out.add(value)
            elif key in ("term", "range", "terms") and isinstance(value, dict):
                out |= {k for k in value if k not in ("field", "size", "min_doc_count")}
            out |= _fields(value)
    elif isinstance(node, list):
        for item in node:
            out |= _fields(item)
    return out


def _mapped(mapping: dict[str, Any], prefix: str = "") -> set[str]:
    out = set()
    for name, spec in mapping.get("properties", {}).items():
        full = f"{prefix}{name}"
        if "properties" in spec:
            out |= _mapped(spec, f"{full}.")
        else:
            out.add(full)
    return out


class TestSearches:
    def test_no_scripts_anywhere(self, ruleset: RuleSet) -> None:
        """No search body uses a script: they run on clusters without painless."""
        for rule in ruleset.rules:
            for search in queries.searches(rule):
                assert "script" not in json.dumps(search.body), rule.id

    def test_band_rule_has_two_checks(self, ruleset: RuleSet) -> None:
        """prediction_mean has a `high` (gt) and a `low` (lt) check over one body."""
        rule = next(r for r in ruleset.rules if r.kind == "prediction_mean")
        high, low = queries.searches(rule)
        assert (high.key, high.check.op, low.key, low.check.op) == ("high", "gt", "low", "lt")
        assert high.body == low.body and (low.bound, high.bound) == rule.band

    def test_guard_uses_min_count(self, ruleset: RuleSet) -> None:
        """Rate rules bucket on model.name with min_doc_count = min_count."""
        rule = next(r for r in ruleset.rules if r.id == "oov_rate.country")
        (search,) = queries.searches(rule)
        terms = search.body["aggs"][queries.GUARD]["terms"]
        assert terms == {"field": s.MODEL_NAME, "size": 1, "min_doc_count": rule.min_count}
        assert search.body["aggs"][queries.GUARD]["aggs"]["value"] == {
            "avg": {"field": s.feature_field(s.OOV, "country")}
        }

    def test_window_and_indices(self, ruleset: RuleSet) -> None:
        """Each search filters its window and reads the model's (or the shared) indices."""
        for rule in ruleset.rules:
            for search in queries.searches(rule):
                first = search.body["query"]["bool"]["filter"][0]
                assert first == {"range": {s.TIMESTAMP: {"gte": f"now-{rule.window}"}}}
        by_kind = {r.kind: queries.searches(r)[0].indices for r in ruleset.rules}
        assert by_kind["drift"] == (s.index_name("drift", "demo"),)
        assert by_kind["deadletter"] == (s.index_name("deadletter"),)
        assert by_kind["no_traffic"] == (s.index_pattern("predictions", "demo"),)

    def test_text_oov_reads_the_token_rate(self, ruleset: RuleSet) -> None:
        """A text feature's OOV rule averages monitor.text.<f>.oov_rate and lists oov_terms."""
        rule = next(r for r in ruleset.rules if r.id == "oov_rate.comment")
        assert queries.rate_field(rule) == s.text_field("comment", s.TEXT_OOV_RATE)
        assert queries.top_field(rule) == s.text_field("comment", s.TEXT_OOV_TERMS)

    def test_search_params_match_watcher_defaults(self, ruleset: RuleSet) -> None:
        """predwatch searches like a watch: integer totals, missing indices tolerated."""
        params = queries.searches(ruleset.rules[0])[0].params()
        assert params["rest_total_hits_as_int"] and params["ignore_unavailable"]
        assert params["allow_no_indices"]


# Every field the searches read outside the prediction indices, by index kind.
OTHER_INDEX_FIELDS = {
    "drift": [
        queries.DRIFT_RECORD_TYPE,
        queries.DRIFT_DRIFTED,
        queries.DRIFT_FEATURE,
        queries.DRIFT_METRIC_NAME,
        queries.DRIFT_SEGMENT,
        s.TIMESTAMP,
    ],
    "deadletter": [queries.DEADLETTER_ERROR_TYPE, s.MODEL_NAME, s.TIMESTAMP],
    "alerts": ["rule.id", "model.name", "status", "@timestamp"],
    "deployments": [
        s.MODEL_NAME,
        s.MODEL_VERSION,
        s.MODEL_HASH,
        queries.DEPLOYMENT_FINGERPRINT,
        queries.DEPLOYMENT_PYTHON,
        s.TIMESTAMP,
    ],
}


class TestFieldContract:
    def test_prediction_fields_are_mapped(self, demo: Baseline, ruleset: RuleSet) -> None:
        """Every field the prediction searches read exists in the model's mapping."""
        common = _mapped(mappings.prediction_common_mapping())
        model = _mapped(mappings.model_mapping(demo.schema_features(), demo.classes))
        known = common | model
        for rule in ruleset.rules:
            for search in queries.searches(rule):
                if search.indices[0].startswith("predwatch-predictions-"):
                    assert _fields(search.body) <= known, rule.id

    def test_other_index_fields_are_mapped(self, ruleset: RuleSet) -> None:
        """Drift, dead-letter and alert fields exist in those indices' mappings."""
        for kind, fields in OTHER_INDEX_FIELDS.items():
            mapped = _mapped(mappings.OTHER_MAPPINGS[kind]())
            assert set(fields) <= mapped, kind
        for rule in ruleset.rules:
            kind = {
                "drift": "drift", "quality_regression": "drift", "deadletter": "deadletter",
                "segment_drift": "drift",
            }.get(rule.kind)  # fmt: skip
            if kind:
                fields = _fields(queries.searches(rule)[0].body)
                assert fields <= _mapped(mappings.OTHER_MAPPINGS[kind]()), rule.id


class TestKibanaSpec:
    def test_kinds(self, ruleset: RuleSet) -> None:
        """Counts and averages map to Kibana; a distinct count (multiple_versions) cannot."""
        specs = {r.id: queries.kibana_spec(r) for r in ruleset.rules}
        assert specs["multiple_versions"] is None
        nt = specs["no_traffic"]
        assert nt is not None and (nt.agg_type, nt.comparator) == ("count", "<=")
        oov = specs["oov_rate.country"]
        assert oov is not None and (oov.agg_type, oov.agg_field) == (
            "avg",
            s.feature_field(s.OOV, "country"),
        )
        mean = specs["prediction_mean"]
        assert mean is not None and mean.comparator == "notBetween"
        lat = specs["latency_p95"]
        assert lat is not None and lat.agg_type == "count" and "approximation" in lat.notes[-1]

    def test_queries_have_no_time_range(self, ruleset: RuleSet) -> None:
        """Kibana adds the time window itself: the rule query carries none."""
        for rule in ruleset.rules:
            spec = queries.kibana_spec(rule)
            if spec is not None:
                assert s.TIMESTAMP not in json.dumps(spec.query), rule.id

    def test_rule_without_min_count_note(self) -> None:
        """Rules without a min_count carry no note about it."""
        rule = Rule("nf", "nonfinite", "m")
        spec = queries.kibana_spec(rule)
        assert spec is not None and spec.notes == ()


def _versions(*distinct: int) -> dict[str, Any]:
    buckets = [
        {"key": f"v{i}", "doc_count": 3, "distinct": {"value": n}} for i, n in enumerate(distinct)
    ]
    return {"hits": {"total": 3}, "aggregations": {queries.VERSIONS: {"buckets": buckets}}}


class TestDeploymentSearches:
    def test_distinct_values_per_version(self, ruleset: RuleSet) -> None:
        """dependency_change counts fingerprints, model_hash_change hashes, per version in
        predwatch-deployments; either fires when some version has more than one."""
        for rid, field in (
            ("dependency_change", "fingerprint"),
            ("model_hash_change", s.MODEL_HASH),
        ):
            rule = next(r for r in ruleset.rules if r.id == rid)
            (search,) = queries.searches(rule)
            assert search.indices == (s.index_name("deployments"),)
            aggs = search.body["aggs"][queries.VERSIONS]
            assert aggs["terms"]["field"] == s.MODEL_VERSION
            assert aggs["aggs"]["distinct"] == {"cardinality": {"field": field}}
            read = _fields(search.body) - {"order"}  # the terms option, not a field
            assert read <= _mapped(mappings.deployments_mapping())
            assert search.check.evaluate(_versions(1, 2)).fired
            assert not search.check.evaluate(_versions(1, 1)).fired
            assert not search.check.evaluate(_versions()).enough_data

    def test_staleness_reads_trained_at(self, ruleset: RuleSet) -> None:
        """staleness counts predictions whose model.trained_at is before now - max_age."""
        rule = next(r for r in ruleset.rules if r.id == "staleness")
        (search,) = queries.searches(rule)
        stale = {"range": {s.MODEL_TRAINED_AT: {"lt": f"now-{rule.max_age}"}}}
        assert stale in search.body["query"]["bool"]["filter"]
        spec = queries.kibana_spec(rule)
        assert spec is not None and (spec.agg_type, spec.comparator) == ("count", ">")
        assert stale in spec.query["bool"]["filter"]

    def test_not_in_kibana(self, ruleset: RuleSet) -> None:
        """A distinct count has no Kibana es-query form."""
        for rid in ("dependency_change", "model_hash_change"):
            assert queries.kibana_spec(next(r for r in ruleset.rules if r.id == rid)) is None

    def test_changes_between_deployments(self, ruleset: RuleSet) -> None:
        """The packages that differ between a version's deployments, newest first."""
        rule = next(r for r in ruleset.rules if r.id == "dependency_change")

        def bucket(ts: str, packages: dict[str, str]) -> dict[str, Any]:
            src = {s.TIMESTAMP: ts, "python": {"version": "3.11.7"}, "packages": packages}
            return {"doc": {"hits": {"hits": [{"_source": src}]}}}

        old = bucket("2026-03-01T00:00:00Z", {"numpy": "1.26.4", "pandas": "2.2.0"})
        new = bucket("2026-03-02T00:00:00Z", {"numpy": "2.0.0", "pandas": "2.2.0", "x": "1"})
        resp = {"aggregations": {"distinct": {"buckets": [old, new]}}}
        assert queries.deployment_changes(rule, resp) == {
            "numpy": ["2.0.0", "1.26.4"],
            "x": ["1", "-"],
        }
        body = queries.deployment_docs_search(rule, "1.0")
        assert {"term": {s.MODEL_VERSION: "1.0"}} in body["query"]["bool"]["filter"]

    def test_segment_drift(self, ruleset: RuleSet) -> None:
        """segment_drift counts drifted segment documents in the drift index (top segment
        names listed), never feature documents, and is a Kibana count rule."""
        rule = next(r for r in ruleset.rules if r.id == "segment_drift")
        (search,) = queries.searches(rule)
        assert search.indices == (s.index_name("drift", "demo"),)
        filters = search.body["query"]["bool"]["filter"]
        assert {"term": {"record_type": "segment"}} in filters
        assert {"term": {"drifted": True}} in filters
        assert search.body["aggs"]["top"]["terms"]["field"] == "segment.name"
        assert search.check.evaluate({"hits": {"total": 1}}).fired
        spec = queries.kibana_spec(rule)
        assert spec is not None and (spec.agg_type, spec.comparator) == ("count", ">")

    def test_estimated_quality(self, ruleset: RuleSet) -> None:
        """estimated_quality counts dropped estimates (quality.estimated.*), which the realized
        quality_regression rule leaves out; both are Kibana count rules."""
        rule = next(r for r in ruleset.rules if r.id == "estimated_quality")
        (search,) = queries.searches(rule)
        filters = search.body["query"]["bool"]["filter"]
        assert {"prefix": {"metric.name": "quality.estimated."}} in filters
        assert {"term": {"drifted": True}} in filters
        assert "must_not" not in search.body["query"]["bool"]
        realized = next(r for r in ruleset.rules if r.id == "quality_regression")
        (rs,) = queries.searches(realized)
        assert rs.body["query"]["bool"]["must_not"] == [
            {"prefix": {"metric.name": "quality.estimated."}}
        ]
        spec = queries.kibana_spec(rule)
        assert spec is not None and (spec.agg_type, spec.comparator) == ("count", ">")

    def test_quality_regression(self, ruleset: RuleSet) -> None:
        """quality_regression counts regressed quality metric documents in the drift index
        (top metric names listed) and is a Kibana count rule."""
        rule = next(r for r in ruleset.rules if r.id == "quality_regression")
        (search,) = queries.searches(rule)
        assert search.indices == (s.index_name("drift", "demo"),)
        filters = search.body["query"]["bool"]["filter"]
        assert {"term": {"record_type": "metric"}} in filters
        assert {"term": {"drifted": True}} in filters
        assert {"prefix": {"metric.name": "quality."}} in filters
        assert search.body["aggs"]["top"]["terms"]["field"] == "metric.name"
        assert search.check.evaluate({"hits": {"total": 1}}).fired
        assert not search.check.evaluate({"hits": {"total": 0}}).fired
        spec = queries.kibana_spec(rule)
        assert spec is not None and (spec.agg_type, spec.comparator) == ("count", ">")
        assert spec.threshold == (0.0,) and filters[1:] == spec.query["bool"]["filter"]
