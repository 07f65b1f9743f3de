"""Prometheus alerting rules from the rule set: PromQL that parses, the documented rule-file
and PrometheusRule shapes, the right signal per kind, and the kinds left to other targets."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from predwatch.alerts import prometheus_rules as pr
from predwatch.alerts.rules import RuleSet, default_rules
from predwatch.baseline import Baseline, load_baseline
from predwatch.grafana import metrics as m
from predwatch.grafana.promql import metric_names

promql_parser = pytest.importorskip(
    "promql_parser", reason="promql-parser (dev extra) parses PromQL"
)

DEMO = Path(__file__).with_name("demo.baseline.json")
Doc = dict[str, Any]

# Prometheus' rule-file schema (docs: configuration/recording_rules, alerting_rules; rulefmt).
GROUP_KEYS = {"name", "interval", "rules", "limit", "query_offset", "labels"}
ALERT_KEYS = {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
DURATION = re.compile(r"^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
EXPORTED = m.sample_names()


def schema_problems(doc: Doc) -> list[str]:
    """What Prometheus' rule-file parser would refuse in `doc` (the documented schema)."""
    problems: list[str] = []
    names = [g.get("name") for g in doc.get("groups", [])]
    if len(set(names)) != len(names):
        problems.append("group names repeat")
    for g in doc.get("groups", []):
        if set(g) - GROUP_KEYS or not g.get("name") or not g.get("rules"):
            problems.append(f"group {g.get('name')}: keys {sorted(g)}")
        if "interval" in g and not DURATION.match(g["interval"]):
            problems.append(f"group {g['name']}: interval {g['interval']}")
        for r in g.get("rules", []):
            if set(r) - ALERT_KEYS or not r.get("alert") or not r.get("expr"):
                problems.append(f"rule {r.get('alert')}: keys {sorted(r)}")
            for key in ("labels", "annotations"):
                for name, value in r.get(key, {}).items():
                    if not LABEL_NAME.match(name) or not isinstance(value, str):
                        problems.append(f"rule {r['alert']}: {key} {name}={value!r}")
            try:
                promql_parser.parse(r["expr"])
            except ValueError as exc:
                problems.append(f"rule {r['alert']}: {exc}: {r['expr']}")
    return problems


@pytest.fixture(scope="module")
def demo() -> Baseline:
    return load_baseline(DEMO)


@pytest.fixture(scope="module")
def rules(demo: Baseline) -> RuleSet:
    return default_rules(demo)


def _rule(doc: Doc, rule_id: str) -> Doc:
    for g in doc["groups"]:
        for r in g["rules"]:
            if r["labels"]["rule_id"] == rule_id:
                return dict(r)
    raise KeyError(rule_id)


class TestRulesFile:
    @pytest.mark.contract  # predwatch's model of the rule-file schema (promtool: grafana tests)
    def test_follows_the_documented_schema(self, rules: RuleSet) -> None:
        """Groups and alerting rules have only known keys, valid durations and parsable PromQL."""
        doc, _ = pr.rules_file(rules)
        assert schema_problems(doc) == []
        assert yaml.safe_load(yaml.safe_dump(doc)) == doc

    def test_schema_check_catches_mistakes(self, rules: RuleSet) -> None:
        """The checker itself refuses broken PromQL, bad keys and bad label names."""
        doc, _ = pr.rules_file(rules)
        rule = doc["groups"][0]["rules"][0]
        rule["expr"] = rule["expr"] + " >"
        rule["labels"]["bad-name"] = "x"
        rule["throttle"] = "5m"
        assert len(schema_problems(doc)) == 3

    def test_reads_only_exported_metrics(self, rules: RuleSet) -> None:
        """Every metric an expression reads is one of the shipper's (metrics catalogue)."""
        doc, _ = pr.rules_file(rules)
        for g in doc["groups"]:
            for r in g["rules"]:
                assert metric_names(r["expr"]) <= EXPORTED, r["expr"]

    def test_skipped_kinds_are_listed(self, rules: RuleSet) -> None:
        """Kinds without a Prometheus signal are named, with where they are covered."""
        doc, skipped = pr.rules_file(rules)
        rendered = {r["labels"]["rule_id"] for g in doc["groups"] for r in g["rules"]}
        skipped_ids = {n.split(":")[0] for n in skipped}
        assert rendered | skipped_ids == {r.id for r in rules.enabled()}
        assert not rendered & skipped_ids
        assert {"drift", "quality_regression", "nonfinite", "staleness"} <= skipped_ids
        assert "oov_rate.comment" in skipped_ids  # a text feature: token rates
        assert all("Watcher" in n for n in skipped)
        assert {"no_traffic", "latency_p95", "deadletter", "missing_rate.age"} <= rendered

    def test_one_group_per_interval(self, rules: RuleSet) -> None:
        """`every` is the group's evaluation interval."""
        doc, _ = pr.rules_file(rules)
        for g in doc["groups"]:
            everies = {
                r.every for r in rules.rules if r.id in {x["labels"]["rule_id"] for x in g["rules"]}
            }
            assert everies == {g["interval"]}

    def test_disabled_rules_left_out(self, rules: RuleSet) -> None:
        """A disabled rule is neither rendered nor listed."""
        off = dataclasses.replace(rules.rules[-1], enabled=False)
        doc, skipped = pr.rules_file(dataclasses.replace(rules, rules=(*rules.rules[:-1], off)))
        ids = {r["labels"]["rule_id"] for g in doc["groups"] for r in g["rules"]}
        assert off.id not in ids and not any(n.startswith(off.id + ":") for n in skipped)


class TestSignals:
    def test_missing_rate_share_with_guard(self, rules: RuleSet) -> None:
        """Missing count of the feature over predictions, only with min_count predictions."""
        doc, _ = pr.rules_file(rules)
        r = _rule(doc, "missing_rate.age")
        rule = next(x for x in rules.rules if x.id == "missing_rate.age")
        assert f'{m.FEATURE_MISSING}{{model="demo", feature="age"}}' in r["expr"]
        assert f"> {rule.bound:.9g}" in r["expr"]
        assert r["expr"].endswith(f">= {rule.min_count}")
        assert r["labels"] == {
            "severity": "critical",
            "model": "demo",
            "rule_id": "missing_rate.age",
            "kind": "missing_rate",
            "feature": "age",
        }
        assert r["alert"] == "PredwatchMissingRate"

    def test_no_traffic_fires_without_series(self, rules: RuleSet) -> None:
        """A model whose series vanished counts as zero traffic (`or vector(0)`)."""
        doc, _ = pr.rules_file(rules)
        assert "or vector(0)) <= 0" in _rule(doc, "no_traffic")["expr"]

    def test_version_change_excludes_the_expected_version(self, rules: RuleSet) -> None:
        """Traffic of any other version than the baseline's fires, per version."""
        doc, _ = pr.rules_file(rules)
        expr = _rule(doc, "version_change")["expr"]
        assert 'version!="1.0"' in expr and expr.startswith("sum by (version)")

    def test_latency_p95_from_the_histogram(self, rules: RuleSet) -> None:
        """p95 of the latency histogram over the window, guarded by its count."""
        doc, _ = pr.rules_file(rules)
        expr = _rule(doc, "latency_p95")["expr"]
        assert expr.startswith("(histogram_quantile(0.95,")
        assert m.count(m.LATENCY) in expr

    def test_prediction_mean_band(self, rules: RuleSet) -> None:
        """The score's mean (histogram sum / count) outside the band on either side."""
        doc, _ = pr.rules_file(rules)
        rule = next(x for x in rules.rules if x.id == "prediction_mean")
        expr = _rule(doc, "prediction_mean")["expr"]
        low, high = rule.band
        assert f"< {low:.9g} or" in expr and f"> {high:.9g}" in expr


class TestPrometheusRule:
    def test_operator_resource(self, rules: RuleSet) -> None:
        """A monitoring.coreos.com/v1 PrometheusRule holding the same groups."""
        doc, skipped = pr.prometheus_rule(rules, namespace="ml", labels={"release": "prom"})
        plain, plain_skipped = pr.rules_file(rules)
        assert doc["apiVersion"] == "monitoring.coreos.com/v1" and doc["kind"] == "PrometheusRule"
        assert doc["metadata"]["namespace"] == "ml"
        assert doc["metadata"]["labels"]["release"] == "prom"
        assert doc["spec"]["groups"] == plain["groups"] and skipped == plain_skipped

    def test_name_is_a_dns_label(self) -> None:
        """Model names may hold `_`, Kubernetes names may not."""
        doc, _ = pr.prometheus_rule(RuleSet("credit_risk", ()))
        assert re.match(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", doc["metadata"]["name"])


class TestRenderCommand:
    def test_rules_file_target(self, tmp_path: Path) -> None:
        """`--target prometheus` writes one rules file per model and notes the skipped rules."""
        from click.testing import CliRunner

        from predwatch.alerts.cli import alerts

        res = CliRunner().invoke(
            alerts,
            ["render", "--baseline", str(DEMO), "--target", "prometheus", "-o", str(tmp_path)],
        )
        assert res.exit_code == 0, res.output
        assert "note: drift: drift skipped for Prometheus" in res.output
        doc = yaml.safe_load((tmp_path / "predwatch-demo.yml").read_text())
        assert schema_problems(doc) == []

    def test_operator_target(self, tmp_path: Path) -> None:
        """`--target prometheus-operator` writes a PrometheusRule with namespace and labels."""
        from click.testing import CliRunner

        from predwatch.alerts.cli import alerts

        args = ["render", "--baseline", str(DEMO), "--target", "prometheus-operator", "-o"]
        args += [str(tmp_path), "--namespace", "ml", "--label", "release=prom", "--json"]
        res = CliRunner().invoke(alerts, args)
        assert res.exit_code == 0, res.output
        (written,) = json.loads(res.output)["written"]
        doc = yaml.safe_load(Path(written).read_text())
        assert doc["kind"] == "PrometheusRule" and doc["metadata"]["namespace"] == "ml"
        assert doc["metadata"]["labels"]["release"] == "prom"
        assert schema_problems(doc["spec"]) == []

    @pytest.mark.parametrize(
        ("extra", "message"),
        [
            (["--target", "prometheus"], "--target prometheus needs -o FOLDER"),
            (
                ["--target", "prometheus", "-o", "x", "--label", "a=b"],
                "are for --target prometheus-operator",
            ),
            (["--target", "prometheus-operator", "-o", "x", "--label", "oops"], "is not KEY=VALUE"),
        ],
    )
    def test_usage_errors(self, extra: list[str], message: str) -> None:
        """Wrong option combinations: one line, exit 2."""
        from click.testing import CliRunner

        from predwatch.alerts.cli import alerts

        res = CliRunner().invoke(alerts, ["render", "--baseline", str(DEMO), *extra])
        assert res.exit_code == 2 and message in res.output


class TestPrometheusOnlyKinds:
    def test_shipper_health_rendered_for_prometheus(self, rules: RuleSet) -> None:
        """Drops (per reason) and the delivery lag are default rules Prometheus renders."""
        doc, _ = pr.rules_file(rules)
        assert _rule(doc, "dropped")["expr"].startswith(f"sum by (reason) (increase({m.DROPPED}")
        assert _rule(doc, "delivery_lag")["expr"] == (
            f'max by (version) ({m.OLDEST_UNSENT_AGE}{{model="demo"}}) > 300'
        )

    def test_elasticsearch_targets_skip_them(self, rules: RuleSet) -> None:
        """Watcher renders no watch for them, Kibana lists them as skipped, the runner never
        searches for them."""
        from predwatch.alerts import kibana_rules, watcher

        prom_only = {r.id for r in rules.rules} - {r.id for r in rules.enabled("elasticsearch")}
        assert prom_only == {"dropped", "delivery_lag"}
        watches = watcher.render_watches(rules)
        assert not [w for w in watches if w.endswith(("-dropped", "-delivery_lag"))]
        _, skipped = kibana_rules.render_rules(rules)
        assert {n.split(":")[0] for n in skipped} >= prom_only
