"""Kibana "Elasticsearch query" rules: bodies Kibana's parameter validation accepts, the
search Kibana would run, and installation against a fake Kibana on 127.0.0.1.

Contract tests: checked against predwatch's model of Kibana's es-query rule (parameter
validation, search, comparison) and a fake Kibana API, not a running Kibana."""

from __future__ import annotations

import dataclasses
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from predwatch.alerts import kibana_rules as k
from predwatch.alerts.cli import setup_kibana_rules
from predwatch.alerts.rules import Destination, RuleSet, default_rules
from predwatch.baseline import Baseline, load_baseline
from predwatch.config import KibanaConfig
from predwatch.kibana.client import KibanaClient
from predwatch.kibana.context import KibanaError
from tests.helpers import processes

pytestmark = pytest.mark.contract

DEMO = Path(__file__).with_name("demo.baseline.json")
COMPARATORS = (">", ">=", "<", "<=", "between", "notBetween")  # Kibana's es-query ones


@pytest.fixture(scope="module")
def demo() -> Baseline:
    return load_baseline(DEMO)


def kibana_validate(params: dict[str, Any]) -> str | None:
    """Kibana's es-query parameter rules (rule_type_params.ts validateParams + schema)."""
    if params["searchType"] != "esQuery":
        return "searchType"
    if params["timeWindowUnit"] not in ("s", "m", "h", "d") or params["timeWindowSize"] < 1:
        return "time window"
    if params["thresholdComparator"] not in COMPARATORS:
        return "comparator"
    n = 2 if params["thresholdComparator"] in ("between", "notBetween") else 1
    if len(params["threshold"]) != n:
        return "threshold length"
    if params["aggType"] not in ("count", "avg", "sum", "min", "max"):
        return "aggType"
    if params["aggType"] != "count" and not params.get("aggField"):
        return "aggField"
    if params["groupBy"] != "all" or not params["index"] or not params["timeField"]:
        return "groupBy/index/timeField"
    if "query" not in json.loads(params["esQuery"]):
        return "esQuery must contain query"
    return None


class TestRender:
    def test_params_pass_kibana_validation(self, demo: Baseline) -> None:
        """Every rendered rule has parameters Kibana's validation accepts."""
        bodies, skipped = k.render_rules(default_rules(demo))
        distinct = ["multiple_versions", "dependency_change", "model_hash_change"]
        prometheus_only = ["dropped", "delivery_lag"]  # the shipper's metrics only see them
        assert len(bodies) == len(default_rules(demo).rules) - len(distinct + prometheus_only)
        assert sorted(n.split(":")[0] for n in skipped) == sorted(distinct + prometheus_only)
        for body in bodies.values():
            assert body["rule_type_id"] == ".es-query" and body["consumer"] == "stackAlerts"
            assert kibana_validate(body["params"]) is None, body["name"]
            assert body["params"]["excludeHitsFromPreviousRun"] is False

    def test_ids_are_stable_uuid4(self, demo: Baseline) -> None:
        """Rule ids are valid v4 UUIDs and the same in every process (updates, no copies)."""
        code = (
            "from predwatch.alerts import kibana_rules as k;"
            "from predwatch.alerts.rules import default_rules;"
            "from predwatch.baseline import load_baseline;"
            f"print(list(k.render_rules(default_rules(load_baseline({str(DEMO)!r})))[0]))"
        )
        first, second = processes.outputs(code)
        rendered, _ = k.render_rules(default_rules(demo))
        assert first == second == f"{list(rendered)}\n"
        assert all(uuid.UUID(rid).version == 4 for rid in rendered)

    def test_actions_and_throttle(self, demo: Baseline) -> None:
        """One action per destination plus the alerts-index action, throttled per rule."""
        rs = default_rules(demo)
        rule = next(r for r in rs.rules if r.kind == "nonfinite")
        body = k.render_rules(rs)[0][k.rule_uuid(rule)]
        assert [a["group"] for a in body["actions"]] == [k.ACTION_GROUP] * 2
        log, index = body["actions"]
        assert log["params"]["level"] == "error"
        assert log["frequency"] == {
            "summary": False,
            "notify_when": "onThrottleInterval",
            "throttle": rule.throttle,
        }
        doc = index["params"]["documents"][0]
        assert doc["rule"]["id"] == "nonfinite" and doc["model"]["name"] == "demo"

    def test_existing_connector_is_used(self, demo: Baseline) -> None:
        """A destination with kibana_connector_id points the action at that connector."""
        rs = default_rules(demo, destinations=("ops",))
        rs = dataclasses.replace(
            rs,
            destinations={
                "ops": Destination("ops", "webhook", url="http://x/", kibana_connector_id="abc")
            },
        )
        body = next(iter(k.render_rules(rs)[0].values()))
        assert body["actions"][0]["id"] == "abc"

    def test_api_body_drops_notes(self, demo: Baseline) -> None:
        """predwatch's own note on approximations is not sent to Kibana."""
        rs = default_rules(demo)
        rule = next(r for r in rs.rules if r.kind == "latency_p95")
        body = k.render_rules(rs)[0][k.rule_uuid(rule)]
        assert "approximation" in body["description_note"]
        assert "description_note" not in k.api_body(body)


# What Kibana 8.19 reads (its es-query `rule_type_params.ts` schema and the create-rule API
# body); 9.x reads a superset. Kibana cannot run here: these come from its source.
ES_QUERY_PARAMS_8_19 = {
    "size", "timeWindowSize", "excludeHitsFromPreviousRun", "timeWindowUnit", "threshold",
    "thresholdComparator", "aggType", "aggField", "groupBy", "termField", "termSize",
    "searchType", "timeField", "searchConfiguration", "esQuery", "index", "esqlQuery",
}  # fmt: skip
CREATE_RULE_KEYS_8_19 = {
    "name", "rule_type_id", "consumer", "enabled", "schedule", "tags", "params", "actions",
    "throttle", "notify_when", "alert_delay", "flapping",
}  # fmt: skip
ACTION_KEYS_8_19 = {"group", "id", "params", "frequency", "uuid", "alerts_filter"}
FREQUENCY_KEYS_8_19 = {"summary", "notify_when", "throttle"}


class TestKibana819:
    def test_rule_bodies_use_only_what_8_19_reads(self, demo: Baseline) -> None:
        """Rule, action, frequency and es-query parameter keys are all known to Kibana 8.19
        (contract against its source: Kibana cannot run here)."""
        bodies, _ = k.render_rules(default_rules(demo))
        for body in bodies.values():
            api = k.api_body(body)
            assert set(api) <= CREATE_RULE_KEYS_8_19, body["name"]
            assert set(api["params"]) <= ES_QUERY_PARAMS_8_19, body["name"]
            for action in api["actions"]:
                assert set(action) <= ACTION_KEYS_8_19
                assert set(action["frequency"]) <= FREQUENCY_KEYS_8_19


class TestParams:
    def test_quality_regression_params(self, demo: Baseline) -> None:
        """quality_regression is a count rule over a day of the drift index."""
        rs = default_rules(demo)
        rule = next(r for r in rs.rules if r.id == "quality_regression")
        params = k.render_rules(rs)[0][k.rule_uuid(rule)]["params"]
        assert params["index"] == ["predwatch-drift-demo"]
        assert (params["aggType"], params["thresholdComparator"], params["threshold"]) == (
            "count", ">", [0.0]
        )  # fmt: skip
        assert (params["timeWindowSize"], params["timeWindowUnit"]) == (1, "d")
        assert "quality." in json.dumps(params)


class FakeKibana:
    """Just enough of Kibana's rule and connector API to test installation."""

    def __init__(self, status: int | None = None) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, code: int, body: Any = None) -> None:
                data = json.dumps(body or {}).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(n)) if n else None
                outer.requests.append((self.command, self.path, dict(self.headers)))
                if status:
                    return self._reply(status, {"message": "nope"})
                if self.command == "GET":
                    obj = outer.objects.get(self.path)
                    return self._reply(200 if obj else 404, obj)
                if self.command == "POST" and self.path in outer.objects:
                    return self._reply(409, {"message": "conflict"})
                outer.objects[self.path] = body
                return self._reply(200, body)

            do_GET = do_POST = do_PUT = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def kibana() -> Iterator[FakeKibana]:
    fake = FakeKibana()
    yield fake
    fake.close()


class TestInstall:
    def _ruleset(self, demo: Baseline) -> RuleSet:
        rs = default_rules(demo, destinations=("log", "team"))
        return dataclasses.replace(
            rs, destinations={"team": Destination("team", "slack", url="https://hooks.slack/x")}
        )

    def test_creates_then_updates(self, demo: Baseline, kibana: FakeKibana) -> None:
        """First run creates connectors and rules, the second updates the same ids."""
        cfg = KibanaConfig(kibana.url, username="u", password="p", space="ml")
        client = KibanaClient(cfg)
        rs = self._ruleset(demo)
        first = k.install_rules(client, rs)
        results = {(kind, res) for kind, _, res in first}
        assert results == {("rule", "skipped"), ("connector", "created"), ("rule", "created")}
        connectors = [p for p in kibana.objects if "/api/actions/connector/" in p]
        assert len(connectors) == 3  # log, slack, alerts index
        assert all(p.startswith("/s/ml/") for p in kibana.objects)
        slack = next(v for v in kibana.objects.values() if v.get("connector_type_id") == ".slack")
        assert slack["secrets"] == {"webhookUrl": "https://hooks.slack/x"}
        second = k.install_rules(client, rs)
        assert {res for _, _, res in second} == {"skipped", "updated"}
        _, _, headers = kibana.requests[0]
        assert headers["kbn-xsrf"] == "true" and headers["Authorization"].startswith("Basic ")

    def test_refused_credentials(self, demo: Baseline) -> None:
        """A 401 from Kibana becomes one clear error naming the privileges needed."""
        fake = FakeKibana(status=401)
        try:
            client = KibanaClient(KibanaConfig(fake.url, api_key="secret"))
            with pytest.raises(KibanaError, match="check the credentials"):
                k.install_rules(client, self._ruleset(demo))
            assert fake.requests[0][2]["Authorization"] == "ApiKey secret"
        finally:
            fake.close()

    def test_unreachable(self, demo: Baseline) -> None:
        """No Kibana listening: the error names the URL and the setting to change."""
        client = KibanaClient(KibanaConfig("http://127.0.0.1:9", request_timeout=2))
        with pytest.raises(KibanaError, match="PREDWATCH_KIBANA_URL"):
            k.install_rules(client, self._ruleset(demo))


class TestSetupCommand:
    def test_kibana_url_space_and_credentials_from_the_environment(
        self, kibana: FakeKibana
    ) -> None:
        """`setup kibana-rules` reads PREDWATCH_KIBANA_URL / _SPACE and sends Elasticsearch's
        credentials to Kibana, like `setup kibana`."""
        env = {
            "PREDWATCH_KIBANA_URL": kibana.url,
            "PREDWATCH_KIBANA_SPACE": "ml",
            "PREDWATCH_ES_USERNAME": "u",
            "PREDWATCH_ES_PASSWORD": "p",
        }
        res = CliRunner().invoke(setup_kibana_rules, ["--baseline", str(DEMO)], env=env)
        assert res.exit_code == 0, res.output
        assert "created  rule" in res.output
        assert kibana.objects and all(p.startswith("/s/ml/") for p in kibana.objects)
        assert all(h["Authorization"].startswith("Basic ") for _, _, h in kibana.requests)
