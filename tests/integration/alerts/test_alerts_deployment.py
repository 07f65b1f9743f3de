"""Deployment and staleness alerts end to end on the real node: real shippers write their
deployment documents and predictions, then predwatch's runner, the rendered watch's search
and condition, and (staleness) Kibana's search decide.

Contract tests: the watches' and Kibana's verdicts come from predwatch's model of Watcher
and of Kibana's es-query rule, not from a running Watcher or Kibana."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from predwatch import schema as s
from predwatch.alerts.notify import Alert
from predwatch.alerts.rules import Rule, RuleSet, default_rules
from predwatch.alerts.runner import Runner
from predwatch.baseline import Baseline
from predwatch.config import ESConfig
from predwatch.setup_es import setup_elasticsearch
from predwatch.shipper import Shipper
from tests.helpers.alert_scenarios import fired_by_kibana, fired_by_watches

pytestmark = pytest.mark.contract

DEPLOYMENTS = s.index_name("deployments")
PACKAGES = {"numpy": "1.26.4", "pandas": "2.2.2", "scikit-learn": "1.5.0"}
FRESH = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).isoformat()


def _delete_by_model(es: Elasticsearch, index: str, model: str) -> None:
    """No _delete_by_query on the minimal node: find the model's documents, delete by id."""
    es.options(ignore_status=404).indices.refresh(index=index)
    r = es.options(ignore_status=404).search(
        index=index, query={"term": {s.MODEL_NAME: model}}, size=1000, source=False
    )
    ops = [
        {"delete": {"_index": index, "_id": h["_id"]}}
        for h in r.body.get("hits", {}).get("hits", [])
    ]
    if ops:
        es.bulk(operations=ops, refresh=True)


@pytest.fixture
def ruleset(es: Elasticsearch, es_config: ESConfig, model_baseline: Baseline) -> Iterator[RuleSet]:
    """The default rules of a fresh model; its deployment and alert documents are removed."""
    setup_elasticsearch(es, es_config, [model_baseline])
    yield default_rules(model_baseline)
    for index in (DEPLOYMENTS, s.index_name("alerts")):
        _delete_by_model(es, index, model_baseline.model)


def _ship(es_config: ESConfig, model: str, tmp_path: Path, n: int = 5, **kw: Any) -> dict[str, Any]:
    """Start a shipper (one serving process), log `n` predictions, stop; its stats."""
    kw.setdefault("deployment_packages", PACKAGES)
    kw.setdefault("trained_at", FRESH)
    sh = Shipper(
        model,
        "1.0",
        es_config=es_config,
        spool_dir=tmp_path / "spool",
        handle_sigterm=False,
        flush_interval=0.05,
        model_hash=kw.pop("model_hash", "sha256:aaa"),
        **kw,
    )
    try:
        for i in range(n):
            sh.log_prediction({"age": 30 + i, "country": "US"}, 0.4, latency_ms=20.0)
        assert sh.flush(20), sh.stats()
        return sh.stats()
    finally:
        sh.close()


def _fired(es: Elasticsearch, es_config: ESConfig, ruleset: RuleSet, kinds: set[str]) -> set[str]:
    """Rules of `kinds` that fire, asserting the runner and the rendered watches agree."""
    es.indices.refresh(index=f"{DEPLOYMENTS},{s.index_pattern('predictions', ruleset.model)}")
    picked = RuleSet(ruleset.model, tuple(r for r in ruleset.rules if r.kind in kinds))
    runner = Runner(es, es_config, picked)
    by_runner = {r.id for r in picked.rules if runner.evaluate(r)[0]}
    assert fired_by_watches(es, picked) == by_runner
    return by_runner


def _rule(ruleset: RuleSet, kind: str) -> Rule:
    return next(r for r in ruleset.rules if r.kind == kind)


DEPLOYMENT_KINDS = {"dependency_change", "model_hash_change"}


class TestDeploymentRules:
    def test_changed_packages_fire(
        self, es: Elasticsearch, es_config: ESConfig, ruleset: RuleSet, tmp_path: Path
    ) -> None:
        """Two deployments of one version with different packages: dependency_change fires,
        and the alert names the package that changed."""
        _ship(es_config, ruleset.model, tmp_path)
        _ship(
            es_config, ruleset.model, tmp_path, deployment_packages={**PACKAGES, "numpy": "2.0.1"}
        )
        assert _fired(es, es_config, ruleset, DEPLOYMENT_KINDS) == {"dependency_change"}
        sent: list[Alert] = []
        runner = Runner(es, es_config, ruleset, sender=lambda _d, a: sent.append(a))
        out = runner.check_rule(_rule(ruleset, "dependency_change"), dt.datetime.now(dt.UTC))
        assert out.action == "notified" and out.alert is not None
        assert out.alert.details["changes"] == {"numpy": ["2.0.1", "1.26.4"]}
        assert "numpy 1.26.4 -> 2.0.1" in out.alert.message

    def test_identical_restarts_are_silent(
        self, es: Elasticsearch, es_config: ESConfig, ruleset: RuleSet, tmp_path: Path
    ) -> None:
        """Restarting the same deployment writes nothing new (409) and fires nothing."""
        first = _ship(es_config, ruleset.model, tmp_path)
        second = _ship(es_config, ruleset.model, tmp_path)
        assert (first["deployment"], second["deployment"]) == ("recorded", "known")
        es.indices.refresh(index=DEPLOYMENTS)
        docs = es.search(index=DEPLOYMENTS, query={"term": {s.MODEL_NAME: ruleset.model}})
        assert docs["hits"]["total"]["value"] == 1
        src = docs["hits"]["hits"][0]["_source"]
        assert src["packages"] == PACKAGES and src["model"]["version"] == "1.0"
        assert _fired(es, es_config, ruleset, DEPLOYMENT_KINDS | {"staleness"}) == set()

    def test_changed_model_hash_fires(
        self, es: Elasticsearch, es_config: ESConfig, ruleset: RuleSet, tmp_path: Path
    ) -> None:
        """The same version served with another model hash: model_hash_change fires."""
        _ship(es_config, ruleset.model, tmp_path)
        _ship(es_config, ruleset.model, tmp_path, model_hash="sha256:bbb")
        assert _fired(es, es_config, ruleset, DEPLOYMENT_KINDS) == {"model_hash_change"}


class TestStaleness:
    def test_stale_model_fires(
        self, es: Elasticsearch, es_config: ESConfig, ruleset: RuleSet, tmp_path: Path
    ) -> None:
        """Predictions of a model trained 200 days ago fire staleness in every target."""
        old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=200)).isoformat()
        _ship(es_config, ruleset.model, tmp_path, trained_at=old)
        picked = RuleSet(ruleset.model, (_rule(ruleset, "staleness"),))
        assert _fired(es, es_config, ruleset, {"staleness"}) == {"staleness"}
        assert fired_by_kibana(es, picked) == {"staleness"}
