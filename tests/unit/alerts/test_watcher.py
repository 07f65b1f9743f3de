"""Watches rendered from rules: structure Watcher accepts, actions per destination, the
committed demo watches, and installation decisions.

Contract tests: checked against predwatch's model of what Watcher accepts
(`watcher.validate_watch`), not a running Watcher."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from predwatch.alerts import watcher
from predwatch.alerts.rules import Destination, RuleSet, default_rules
from predwatch.assets import asset_dir
from predwatch.baseline import Baseline, load_baseline
from predwatch.config import ESConfig

pytestmark = pytest.mark.contract

DEMO = Path(__file__).with_name("demo.baseline.json")


@pytest.fixture(scope="module")
def demo() -> Baseline:
    return load_baseline(DEMO)


def with_dests(rs: RuleSet, **dests: Destination) -> RuleSet:
    names = tuple(dests)
    rules = tuple(dataclasses.replace(r, destinations=names) for r in rs.rules)
    return dataclasses.replace(rs, rules=rules, destinations=dests)


class TestRender:
    def test_every_watch_is_well_formed(self, demo: Baseline) -> None:
        """Each rendered watch passes the structure check; ids are unique and file-safe."""
        watches = watcher.render_watches(default_rules(demo))
        # The band rule has two; Prometheus-only kinds (dropped, delivery_lag) have none.
        assert len(watches) == len(default_rules(demo).enabled("elasticsearch")) + 1
        for wid, body in watches.items():
            assert watcher.validate_watch(body) == [], wid
            assert wid.startswith("predwatch-demo-") and "/" not in wid

    def test_committed_demo_watches_match(self, demo: Baseline) -> None:
        """elasticsearch/watches holds exactly the demo baseline's rendered watches
        (regenerate: predwatch alerts render --baseline tests/unit/alerts/demo.baseline.json)."""
        folder = asset_dir("elasticsearch") / "watches"
        on_disk = {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}
        rendered = json.loads(json.dumps(watcher.render_watches(default_rules(demo))))
        assert on_disk == rendered

    def test_watch_parts(self, demo: Baseline) -> None:
        """Trigger, search input and throttle come from the rule."""
        rs = default_rules(demo)
        rule = next(r for r in rs.rules if r.id == "drift")
        body = watcher.render_watches(rs)[watcher.watch_id(rule)]
        assert body["trigger"] == {"schedule": {"interval": "5m"}}
        req = body["input"]["search"]["request"]
        assert req["indices"] == ["predwatch-drift-demo"] and req["rest_total_hits_as_int"]
        assert body["condition"] == {"compare": {"ctx.payload.hits.total": {"gt": 0.0}}}
        assert {a["throttle_period"] for a in body["actions"].values()} == {"1h"}

    def test_quality_regression_watch(self, demo: Baseline) -> None:
        """quality_regression is a compare condition on the hit count (no script)."""
        rs = default_rules(demo)
        rule = next(r for r in rs.rules if r.id == "quality_regression")
        body = watcher.render_watches(rs)[watcher.watch_id(rule)]
        assert body["condition"] == {"compare": {"ctx.payload.hits.total": {"gt": 0.0}}}
        req = body["input"]["search"]["request"]
        assert req["indices"] == ["predwatch-drift-demo"]
        assert "script" not in json.dumps(body["input"]) + json.dumps(body["condition"])
        assert body["trigger"] == {"schedule": {"interval": "15m"}}

    def test_index_action_records_the_alert(self, demo: Baseline) -> None:
        """Every watch records into predwatch-alerts with a null-safe painless transform."""
        for body in watcher.render_watches(default_rules(demo)).values():
            action = body["actions"]["record_alert"]
            assert action["index"] == {
                "index": "predwatch-alerts",
                "execution_time_field": "@timestamp",
            }
            source = action["transform"]["script"]["source"]
            assert "ctx?.payload?." in source and "'status': 'fired'" in source

    def test_destination_actions(self, demo: Baseline) -> None:
        """Webhook from the URL, Slack through an account, email, logging per severity."""
        rs = with_dests(
            default_rules(demo),
            hook=Destination(
                "hook",
                "webhook",
                url="https://hooks.example:8443/a/b?x=1",
                headers={"X-Token": "${TOKEN}"},
            ),
            team=Destination(
                "team", "slack", url="https://hooks.slack", channel="#ml", account="ml"
            ),
            mail=Destination("mail", "email", to=("a@b.org",), sender="p@b.org"),
            log=Destination("log", "log"),
        )
        rule = next(r for r in rs.rules if r.kind == "no_traffic")
        actions = watcher.render_watches(rs)[watcher.watch_id(rule)]["actions"]
        hook = actions["hook"]["webhook"]
        assert (hook["scheme"], hook["host"], hook["port"], hook["path"], hook["method"]) == (
            "https",
            "hooks.example",
            8443,
            "/a/b",
            "post",
        )
        assert hook["params"] == {"x": "1"} and hook["headers"]["X-Token"] == "${TOKEN}"
        payload = json.loads(hook["body"])
        assert payload["rule"]["id"] == "no_traffic" and payload["value"].startswith("{{")
        assert actions["team"]["slack"] == {
            "account": "ml",
            "message": {
                "from": "predwatch",
                "to": ["#ml"],
                "text": actions["team"]["slack"]["message"]["text"],
            },
        }
        assert actions["mail"]["email"]["to"] == ["a@b.org"]
        assert actions["mail"]["email"]["from"] == "p@b.org"
        assert actions["log"]["logging"]["level"] == "error"  # no_traffic is critical
        assert "{{ctx.payload.hits.total}}" in actions["log"]["logging"]["text"]

    def test_http_default_port(self, demo: Baseline) -> None:
        """A URL without a port gets 80 (http) or 443 (https)."""
        rs = with_dests(default_rules(demo), h=Destination("h", "webhook", url="http://x/y"))
        body = next(iter(watcher.render_watches(rs).values()))
        assert body["actions"]["h"]["webhook"]["port"] == 80

    def test_unsafe_rule_ids(self, demo: Baseline) -> None:
        """Feature names with spaces/capitals give safe ids, made unique by a hash."""
        rule = dataclasses.replace(default_rules(demo).rules[1], id="missing_rate.User Age")
        wid = watcher.watch_id(rule)
        assert wid.startswith("predwatch-demo-missing_rate.user_age-") and " " not in wid


class TestValidate:
    def _good(self, demo: Baseline) -> dict[str, Any]:
        return next(iter(watcher.render_watches(default_rules(demo)).values()))

    @pytest.mark.parametrize(
        ("mutate", "problem"),
        [
            (lambda w: w["trigger"]["schedule"].update(interval="often"), "interval"),
            (lambda w: w["input"]["search"]["request"].update(indices=[]), "indices"),
            (lambda w: w.update(condition={"script": "return true"}), "compare"),
            (lambda w: w.update(condition={"compare": {"hits.total": {"gt": 0}}}), "ctx.payload"),
            (lambda w: w.update(condition={"compare": {"ctx.payload.x": {"gt": [1]}}}), "scalar"),
            (lambda w: w["actions"]["log"].pop("throttle_period"), "throttle_period"),
            (lambda w: w["actions"]["log"].update(pagerduty={}), "unknown key"),
            (lambda w: w["input"]["search"]["request"]["body"].update(q="{{x}}"), "mustache"),
            # Keys neither 8.19's nor 9.x's parser reads (WatchField, WatcherSearchTemplateRequest).
            (lambda w: w.update(trigger_v2={}), "unknown watch key"),
            (lambda w: w["input"]["search"]["request"].update(types=["_doc"]), "search request"),
            (
                lambda w: w["input"]["search"]["request"].pop("rest_total_hits_as_int"),
                "rest_total_hits_as_int",
            ),
        ],
    )
    def test_catches(self, demo: Baseline, mutate: Any, problem: str) -> None:
        """Each malformation Watcher would reject is reported."""
        body = self._good(demo)
        mutate(body)
        assert any(problem in p for p in watcher.validate_watch(body))


class FakeES:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def perform_request(self, method: str, path: str, **kw: Any) -> Any:
        self.calls.append((method, path))
        return type("R", (), {"body": {"created": True}})()


class TestInstall:
    def test_unavailable_names_alternatives(
        self, demo: Baseline, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without Watcher the error says `skipped`, why, and what to use instead (exit 0)."""
        monkeypatch.setattr(
            watcher,
            "detect_watcher",
            lambda es, cfg: watcher.WatcherSupport(
                False, "basic", "Watcher needs a gold+ or trial licence; this is basic"
            ),
        )
        with pytest.raises(watcher.WatcherUnavailable) as info:
            watcher.install_watches(FakeES(), ESConfig(), {})  # type: ignore[arg-type]
        text = str(info.value)
        assert text.startswith("skipped: Watcher needs a gold+")
        assert "kibana-rules" in text and "alerts check" in text
        assert info.value.exit_code == 0

    def test_puts_every_watch(self, demo: Baseline, monkeypatch: pytest.MonkeyPatch) -> None:
        """With Watcher available each watch is PUT under its id."""
        monkeypatch.setattr(
            watcher, "detect_watcher", lambda es, cfg: watcher.WatcherSupport(True, "trial")
        )
        es = FakeES()
        watches = watcher.render_watches(default_rules(demo))
        results = watcher.install_watches(es, ESConfig(), watches)  # type: ignore[arg-type]
        assert {w for w, _ in results} == set(watches)
        assert all(
            m == "PUT" and p.startswith("/_watcher/watch/predwatch-demo-") for m, p in es.calls
        )
