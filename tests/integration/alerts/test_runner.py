"""`predwatch alerts check` end to end on the real node: webhook delivery to a local HTTP
receiver, records in predwatch-alerts, throttling across runner instances, resolution,
failed deliveries retried, and the CLI's exit codes."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from predwatch import schema as s
from predwatch.alerts.cli import alerts, setup_watches
from predwatch.alerts.rules import Destination, RuleSet, default_rules, save_rules
from predwatch.alerts.runner import Runner, run_loop
from predwatch.baseline import Baseline
from predwatch.config import ESConfig
from tests.helpers.alert_scenarios import Scenario


class Receiver:
    """A local webhook receiver on 127.0.0.1 (port chosen by the OS)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.bodies: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                outer.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _ruleset(baseline: Baseline, url: str, kinds: tuple[str, ...] = ("nonfinite",)) -> RuleSet:
    base = default_rules(baseline, destinations=("hook",))
    rules = tuple(r for r in base.rules if r.kind in kinds)
    return RuleSet(base.model, rules, {"hook": Destination("hook", "webhook", url=url)})


def _records(es: Elasticsearch, model: str) -> list[dict[str, Any]]:
    es.indices.refresh(index=s.index_name("alerts"))
    resp = es.search(
        index=s.index_name("alerts"),
        query={"term": {s.MODEL_NAME: model}},
        sort=[{s.TIMESTAMP: "asc"}],
        size=100,
    )
    return [h["_source"] for h in resp["hits"]["hits"]]


def _inject_nonfinite(sc: Scenario) -> None:
    sc.predictions(n=60, change=lambda i: {s.NONFINITE: 1} if i < 3 else {})


class TestRunner:
    def test_fires_once_then_throttles_across_instances(
        self,
        scenario: Scenario,
        model_baseline: Baseline,
        receiver: Receiver,
        es: Elasticsearch,
        es_config: ESConfig,
    ) -> None:
        """A fired rule is delivered and recorded once; later checks, even by a new runner,
        stay silent inside the throttle period."""
        _inject_nonfinite(scenario)
        ruleset = _ruleset(model_baseline, receiver.url)
        first = Runner(es, es_config, ruleset).check()
        assert [o.action for o in first] == ["notified"]
        assert len(receiver.bodies) == 1
        body = receiver.bodies[0]
        assert body["rule"]["id"] == "nonfinite" and body["status"] == "fired"
        assert body["value"] == 3 and body["model"] == scenario.model
        records = _records(es, scenario.model)
        assert [(r["rule"]["id"], r["status"]) for r in records] == [("nonfinite", "fired")]
        assert records[0]["destinations"] == ["hook"]

        runner = Runner(es, es_config, ruleset)
        assert [o.action for o in runner.check()] == ["throttled"]
        assert [o.action for o in Runner(es, es_config, ruleset).check()] == ["throttled"]
        assert len(receiver.bodies) == 1
        assert len(_records(es, scenario.model)) == 1

    def test_notifies_again_after_the_throttle_period(
        self,
        scenario: Scenario,
        model_baseline: Baseline,
        receiver: Receiver,
        es: Elasticsearch,
        es_config: ESConfig,
    ) -> None:
        """Once the throttle period has passed, a still-firing rule notifies again."""
        _inject_nonfinite(scenario)
        ruleset = _ruleset(model_baseline, receiver.url)
        Runner(es, es_config, ruleset).check()
        later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=16)  # critical: throttle 15m
        again = Runner(es, es_config, ruleset, clock=lambda: later).check()
        assert [o.action for o in again] == ["notified"]
        assert len(receiver.bodies) == 2

    def test_resolution_is_notified_and_recorded(
        self,
        scenario: Scenario,
        model_baseline: Baseline,
        receiver: Receiver,
        es: Elasticsearch,
        es_config: ESConfig,
    ) -> None:
        """When a firing rule's condition clears, `resolved` is delivered and recorded."""
        scenario.predictions(n=25, change=lambda i: {s.LATENCY_MS: 3000.0})
        ruleset = _ruleset(model_baseline, receiver.url, ("latency_p95",))
        runner = Runner(es, es_config, ruleset)
        assert [o.action for o in runner.check()] == ["notified"]
        # 25 slow of 825 (3 %): p95 drops under the bound.
        scenario.predictions(n=800, start=25)
        assert [o.action for o in runner.check()] == ["resolved"]
        assert [b["status"] for b in receiver.bodies] == ["fired", "resolved"]
        assert [r["status"] for r in _records(es, scenario.model)] == ["fired", "resolved"]

    def test_failed_delivery_is_retried(
        self,
        scenario: Scenario,
        model_baseline: Baseline,
        es: Elasticsearch,
        es_config: ESConfig,
    ) -> None:
        """A webhook answering 500 is not recorded, so the next check delivers again."""
        _inject_nonfinite(scenario)
        failing = Receiver(status=500)
        try:
            ruleset = _ruleset(model_baseline, failing.url)
            outcome = Runner(es, es_config, ruleset).check()[0]
            assert outcome.action == "delivery_failed" and "HTTP 500" in outcome.errors[0]
            assert _records(es, scenario.model) == []
            failing.status = 200
            assert Runner(es, es_config, ruleset).check()[0].action == "notified"
            assert len(failing.bodies) == 2
        finally:
            failing.close()

    def test_loop_checks_each_round(
        self,
        scenario: Scenario,
        model_baseline: Baseline,
        receiver: Receiver,
        es: Elasticsearch,
        es_config: ESConfig,
    ) -> None:
        """The --every loop notifies once and throttles on the following rounds."""
        _inject_nonfinite(scenario)
        ruleset = _ruleset(model_baseline, receiver.url)
        rounds: list[list[str]] = []
        runner = Runner(es, es_config, ruleset, clock=_ticking())
        run_loop(
            [runner],
            60,
            lambda o: rounds.append([x.action for x in o]),
            pytest.fail,
            rounds=3,
            sleep=lambda _: None,
        )
        assert rounds == [["notified"], ["throttled"], ["throttled"]]
        assert len(receiver.bodies) == 1


def _ticking() -> Any:
    """A clock advancing one minute per call (the `every` of the default rules)."""
    start = dt.datetime.now(dt.UTC)
    calls = iter(range(1000))
    return lambda: start + dt.timedelta(minutes=next(calls))


class TestCli:
    def test_check_exit_code_and_json(
        self,
        scenario: Scenario,
        model_baseline: Baseline,
        receiver: Receiver,
        es_config: ESConfig,
        tmp_path: Path,
    ) -> None:
        """`alerts check` exits 1 while a rule fires, prints JSON outcomes, delivers once."""
        _inject_nonfinite(scenario)
        rules = save_rules(_ruleset(model_baseline, receiver.url), tmp_path / "r.yaml")
        args = ["check", "--rules", str(rules), "--json", "--es-url", es_config.url]
        result = CliRunner().invoke(alerts, args)
        assert result.exit_code == 1, result.output
        outcomes = json.loads(result.stdout)
        assert [(o["rule"], o["action"]) for o in outcomes] == [("nonfinite", "notified")]
        again = CliRunner().invoke(alerts, args)
        assert again.exit_code == 1 and json.loads(again.output)[0]["action"] == "throttled"
        assert len(receiver.bodies) == 1

    def test_check_clean_exits_0(
        self,
        scenario: Scenario,
        model_baseline: Baseline,
        es_config: ESConfig,
        tmp_path: Path,
    ) -> None:
        """With clean traffic every default rule is quiet and the exit code is 0."""
        scenario.predictions()
        path = save_rules(default_rules(model_baseline), tmp_path / "rules.json")
        result = CliRunner().invoke(
            alerts, ["check", "--rules", str(path), "--es-url", es_config.url]
        )
        assert result.exit_code == 0, result.output
        assert "notified" not in result.output

    def test_setup_watches_without_watcher_is_skipped(
        self, model_baseline: Baseline, es_config: ESConfig, tmp_path: Path
    ) -> None:
        """On a cluster without Watcher, `setup watches` says why, names the alternatives
        and exits 0."""
        path = save_rules(default_rules(model_baseline), tmp_path / "rules.yaml")
        result = CliRunner().invoke(
            setup_watches, ["--rules", str(path), "--es-url", es_config.url]
        )
        assert result.exit_code == 0, result.output
        assert result.output.startswith("skipped: this cluster has no Watcher module")
        assert "predwatch setup kibana-rules" in result.output
        assert "predwatch alerts check" in result.output

    def test_check_with_the_stored_baseline(
        self,
        scenario: Scenario,
        model_baseline: Baseline,
        es: Elasticsearch,
        es_config: ESConfig,
    ) -> None:
        """`alerts check --model M` derives the rules from M's baseline stored in ES."""
        from predwatch.baseline_store import baselines_index, upload_baseline

        doc_id = upload_baseline(es, es_config, model_baseline)
        try:
            scenario.predictions(change=lambda i: {s.LATENCY_MS: 5000.0})
            result = CliRunner().invoke(
                alerts, ["check", "--model", scenario.model, "--json", "--es-url", es_config.url]
            )
            assert result.exit_code == 1, result.output
            fired = {o["rule"] for o in json.loads(result.stdout) if o["fired"]}
            # the default `log` destination really prints (stderr), as stdout says it did
            assert "FIRED predwatch" in result.stderr
            assert fired == {"latency_p95"}
        finally:
            es.delete(index=baselines_index(), id=doc_id, refresh=True)
