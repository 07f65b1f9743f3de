"""Every rule fires on its injected scenario and stays silent on clean traffic, decided
three ways on the real node: by predwatch's runner, by each rendered watch's search body and
condition (read back from the watch JSON), and by the search Kibana builds from each rule.

test_scenario is a contract test: the runner's verdict is predwatch's own; the watches' and
Kibana's verdicts come from predwatch's model of Watcher conditions and of Kibana's es-query
rule (search and comparison), run on real search responses, not from a running Watcher or
Kibana."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from predwatch import schema as s
from predwatch.alerts.rules import KINDS, default_rules
from predwatch.alerts.runner import Runner
from predwatch.baseline import Baseline
from predwatch.config import ESConfig
from tests.helpers.alert_scenarios import (
    CLEAN_N,
    DROP,
    Scenario,
    fired_by_kibana,
    fired_by_watches,
)

OOV_C = s.feature_field(s.OOV, "country")
OOV_D = s.feature_field(s.OOV, "device")


def _unseen(field: str, value: str) -> dict[str, Any]:
    return {s.feature_field(s.UNSEEN, field): value}


def inject_drift(sc: Scenario) -> None:
    sc.predictions()
    sc.drift("age", True)


def inject_segment_drift(sc: Scenario) -> None:
    sc.predictions()
    sc.segment("region", "pacific", True)
    sc.segment("region", "atlantic", False)


def inject_quality_regression(sc: Scenario) -> None:
    sc.predictions()
    sc.quality_metric("roc_auc", True)


def inject_estimated_drop(sc: Scenario) -> None:
    # `predwatch quality --estimate` before labels: an estimate dropped, no realized metric
    sc.predictions()
    sc.quality_metric("estimated.accuracy", True)
    sc.quality_metric("estimated.roc_auc", False)


def inject_oov_country(sc: Scenario) -> None:
    sc.predictions(change=lambda i: {OOV_C: 1, **_unseen("country", "XX")} if i % 4 == 0 else {})


def inject_unseen_device(sc: Scenario) -> None:
    # 2 of 80 (2.5 %): above the 1 % unseen rate, below the 5 % OOV spike.
    sc.predictions(change=lambda i: {OOV_D: 1, **_unseen("device", "watch")} if i < 2 else {})


def inject_text_oov(sc: Scenario) -> None:
    sc.predictions(
        change=lambda i: {
            s.text_field("comment", s.TEXT_OOV_RATE): 0.6,
            s.text_field("comment", s.TEXT_OOV_TERMS): ["zzz"],
        }
    )


def inject_vanished(sc: Scenario) -> None:
    sc.predictions(
        change=lambda i: {
            s.feature_field(s.INPUTS, "income"): DROP,
            s.feature_field(s.MISSING, "income"): 1,
        }
    )


def inject_mean_high(sc: Scenario) -> None:
    sc.predictions(change=lambda i: {s.PREDICTION_VALUE: 0.8})


def inject_mean_low(sc: Scenario) -> None:
    sc.predictions(change=lambda i: {s.PREDICTION_VALUE: 0.05})


def inject_nonfinite(sc: Scenario) -> None:
    sc.predictions(change=lambda i: {s.NONFINITE: 1, s.PREDICTION_VALUE: DROP} if i < 3 else {})


def inject_version(sc: Scenario) -> None:
    sc.predictions()
    sc.predictions(n=30, start=CLEAN_N, change=lambda i: {s.MODEL_VERSION: "2.0"})


def inject_latency(sc: Scenario) -> None:
    sc.predictions(change=lambda i: {s.LATENCY_MS: 2500.0})


def inject_deadletter(sc: Scenario) -> None:
    sc.predictions()
    sc.deadletter()


def inject_small_sample(sc: Scenario) -> None:
    # 10 predictions, all OOV: below min_count, so the guarded rate rules stay silent.
    sc.predictions(n=10, change=lambda i: {OOV_C: 1, **_unseen("country", "XX")})


def inject_dependency_change(sc: Scenario) -> None:
    sc.predictions()
    sc.deployment(fingerprint="f1")
    sc.deployment(fingerprint="f2", host="b")


def inject_model_hash_change(sc: Scenario) -> None:
    sc.predictions()
    sc.deployment(model_hash="h1")
    sc.deployment(model_hash="h2", host="b")


def inject_stale(sc: Scenario) -> None:
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=200)).isoformat()
    sc.predictions(change=lambda i: {s.MODEL_TRAINED_AT: old})


def clean(sc: Scenario) -> None:
    fresh = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).isoformat()
    sc.predictions(change=lambda i: {s.MODEL_TRAINED_AT: fresh})
    sc.drift("age", False)
    sc.quality_metric("roc_auc", False)
    sc.quality_metric("r2", None)  # reported, not judged
    # The same deployment on two hosts, and another version with other packages.
    sc.deployment(host="a")
    sc.deployment(host="b")
    sc.deployment(fingerprint="f9", model_hash="h9", version="0.9")


# name -> (injection, rules predwatch/Watcher fire, rules Kibana fires)
SCENARIOS: dict[str, tuple[Callable[[Scenario], None], set[str], set[str] | None]] = {
    "clean": (clean, set(), None),
    "drift": (inject_drift, {"drift"}, None),
    "quality_regression": (inject_quality_regression, {"quality_regression"}, None),
    "segment_drift": (inject_segment_drift, {"segment_drift"}, None),
    "estimated_quality": (inject_estimated_drop, {"estimated_quality"}, None),
    "oov_country": (inject_oov_country, {"oov_rate.country", "unseen.country"}, None),
    "unseen_device": (inject_unseen_device, {"unseen.device"}, None),
    "text_oov": (inject_text_oov, {"oov_rate.comment"}, None),
    "feature_vanished": (inject_vanished, {"missing_rate.income"}, None),
    "mean_high": (inject_mean_high, {"prediction_mean"}, None),
    "mean_low": (inject_mean_low, {"prediction_mean"}, None),
    "nonfinite": (inject_nonfinite, {"nonfinite"}, None),
    "version": (inject_version, {"version_change", "multiple_versions"}, {"version_change"}),
    "no_traffic": (lambda sc: None, {"no_traffic"}, None),
    "latency": (inject_latency, {"latency_p95"}, None),
    "deadletter": (inject_deadletter, {"deadletter"}, None),
    # Kibana has no distinct count: the deployment rules are Watcher's and predwatch's.
    "dependency_change": (inject_dependency_change, {"dependency_change"}, set()),
    "model_hash_change": (inject_model_hash_change, {"model_hash_change"}, set()),
    "stale": (inject_stale, {"staleness"}, None),
    # Kibana has no minimum sample size: it fires where the guarded targets wait for data.
    "small_sample": (inject_small_sample, set(), {"oov_rate.country", "unseen.country"}),
}


@pytest.mark.contract
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario(
    name: str, scenario: Scenario, model_baseline: Baseline, es: Elasticsearch, es_config: ESConfig
) -> None:
    """Each scenario fires exactly its rules in the runner, and (contract: predwatch's model of
    Watcher and Kibana, not a running Watcher or Kibana) in the watches and Kibana rules."""
    inject, expected, kibana_expected = SCENARIOS[name]
    inject(scenario)
    ruleset = default_rules(model_baseline)
    runner = Runner(es, es_config, ruleset)
    by_runner = {r.id for r in ruleset.enabled("elasticsearch") if runner.evaluate(r)[0]}
    assert by_runner == expected
    assert fired_by_watches(es, ruleset) == expected
    assert fired_by_kibana(es, ruleset) == (
        expected if kibana_expected is None else kibana_expected
    )


def test_every_rule_kind_is_covered() -> None:
    """The scenarios make every rule kind with an Elasticsearch signal fire at least once
    (dropped and delivery_lag: only the shipper's Prometheus metrics see them)."""
    fired = set().union(*(exp for _, exp, _ in SCENARIOS.values()))
    searched = {k for k, spec in KINDS.items() if spec.source == "elasticsearch"}
    assert {rid.split(".")[0] for rid in fired} == searched


def test_quality_regression_message(
    scenario: Scenario, model_baseline: Baseline, es: Elasticsearch, es_config: ESConfig
) -> None:
    """The runner's quality alert names the regressed metrics (top metric.name values)."""
    scenario.quality_metric("roc_auc", True)
    scenario.quality_metric("accuracy", True)
    ruleset = default_rules(model_baseline)
    rule = next(r for r in ruleset.rules if r.kind == "quality_regression")
    outcome = Runner(es, es_config, ruleset).check_rule(rule, dt.datetime.now(dt.UTC))
    assert outcome.fired and outcome.alert is not None
    message = outcome.alert.message
    assert "prediction quality regressed: 2 > 0" in message, message
    assert "quality.accuracy" in message and "quality.roc_auc" in message
