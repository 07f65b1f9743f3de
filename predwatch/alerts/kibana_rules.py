"""Render rules as Kibana "Elasticsearch query" rules (rule type `.es-query`, basic licence)
and install them, with their connectors, through Kibana's HTTP API.

Kibana runs the rule's query over `timeWindowSize/Unit` back from each run and compares
`count` or `avg(aggField)` with `threshold` (see `simulated_search`, which reproduces the
request Kibana builds, so tests can run it on a real node without Kibana).
Kibana cannot express a distinct count (multiple_versions, dependency_change,
model_hash_change: skipped) or a percentile (latency_p95 is approximated by a count of slow
requests); each rule's description says so.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from predwatch import schema as s
from predwatch.alerts.queries import KibanaSpec, kibana_spec
from predwatch.alerts.rules import Destination, Rule, RuleSet, split_duration
from predwatch.config import ESConfig
from predwatch.errors import PredwatchError

Body = dict[str, Any]
RULE_TYPE = ".es-query"
CONSUMER = "stackAlerts"
ACTION_GROUP = "query matched"  # the .es-query rule type's only action group
INDEX_DESTINATION = "predwatch-alerts-index"
DEFAULT_KIBANA_URL = "http://localhost:5601"
COMPARATORS = (">", ">=", "<", "<=", "between", "notBetween")


class KibanaError(PredwatchError):
    """Kibana refused or could not be reached."""


def stable_uuid(name: str) -> str:
    """A UUID v4-shaped id derived from `name` (Kibana takes v1/v4 ids), so re-running
    set-up updates the same rule instead of creating a copy."""
    return str(uuid.UUID(bytes=hashlib.sha256(name.encode()).digest()[:16], version=4))


def rule_uuid(rule: Rule) -> str:
    return stable_uuid(f"predwatch-rule/{rule.model}/{rule.id}")


def connector_uuid(model: str, dest_name: str) -> str:
    return stable_uuid(f"predwatch-connector/{model}/{dest_name}")


def _text(rule: Rule) -> str:
    return (
        f"[{rule.severity}] predwatch {rule.model}: {rule.title}: {{{{context.message}}}} "
        f"(rule {{{{rule.name}}}}, {{{{context.date}}}})"
    )


def _alert_doc(rule: Rule, spec: KibanaSpec) -> Body:
    # Mustache values stay strings; the alerts mapping is dynamic=false so nothing breaks.
    return {
        "@timestamp": "{{context.date}}",
        "model": {"name": rule.model},
        "rule": {"id": rule.id, "name": rule.title, "kind": rule.kind, "feature": rule.feature},
        "severity": rule.severity,
        "status": "fired",
        "value": "{{context.value}}",
        "threshold": spec.threshold[-1],
        "message": "{{context.message}}",
        "destinations": list(rule.destinations),
        "source": "kibana",
    }


def action_params(dest: Destination, rule: Rule, spec: KibanaSpec) -> tuple[str, Body]:
    """(connector type, action params) for one destination of one rule."""
    text = _text(rule)
    if dest.type in ("log", "stdout"):
        level = {"critical": "error", "warning": "warn", "info": "info"}[rule.severity]
        return ".server-log", {"level": level, "message": text}
    if dest.type == "webhook":
        body = {
            "source": "kibana",
            "rule": {"id": rule.id, "kind": rule.kind},
            "model": rule.model,
            "severity": rule.severity,
            "value": "{{context.value}}",
            "message": text,
        }
        return ".webhook", {"body": json.dumps(body)}
    if dest.type == "slack":
        return ".slack", {"message": text}
    if dest.type == "email":
        subject = f"[{rule.severity}] predwatch {rule.model}: {rule.title}"
        return ".email", {"to": list(dest.to), "subject": subject, "message": text}
    raise ValueError(f"destination type {dest.type!r}")  # pragma: no cover


def connector_body(dest: Destination) -> Body:
    """Create-connector body for a destination predwatch manages itself."""
    name = f"predwatch {dest.name}"
    if dest.type in ("log", "stdout"):
        return {"name": name, "connector_type_id": ".server-log", "config": {}, "secrets": {}}
    if dest.type == "webhook":
        return {
            "name": name,
            "connector_type_id": ".webhook",
            "config": {
                "url": dest.url,
                "method": "post",
                "hasAuth": False,
                "headers": {"Content-Type": "application/json", **dest.headers},
            },
            "secrets": {},
        }
    if dest.type == "slack":
        return {
            "name": name,
            "connector_type_id": ".slack",
            "config": {},
            "secrets": {"webhookUrl": dest.url},
        }
    if dest.type == "email":
        auth = dest.smtp_username is not None
        return {
            "name": name,
            "connector_type_id": ".email",
            "config": {
                "service": "other",
                "from": dest.sender or "predwatch@localhost",
                "host": dest.smtp_host,
                "port": dest.smtp_port,
                "secure": False,
                "hasAuth": auth,
            },
            "secrets": {"user": dest.smtp_username, "password": dest.smtp_password} if auth else {},
        }
    raise ValueError(f"destination type {dest.type!r}")  # pragma: no cover


def index_connector_body() -> Body:
    return {
        "name": "predwatch alerts index",
        "connector_type_id": ".index",
        "config": {
            "index": s.index_name("alerts"),
            "refresh": False,
            "executionTimeField": s.TIMESTAMP,
        },
        "secrets": {},
    }


def rule_params(rule: Rule, spec: KibanaSpec) -> Body:
    size, unit = split_duration(rule.window)
    params: Body = {
        "searchType": "esQuery",
        "esQuery": json.dumps({"query": spec.query}),
        "index": list(spec.indices),
        "timeField": s.TIMESTAMP,
        "timeWindowSize": size,
        "timeWindowUnit": unit,
        "threshold": list(spec.threshold),
        "thresholdComparator": spec.comparator,
        "size": 0,
        "aggType": spec.agg_type,
        "groupBy": "all",
        # Rates and "no traffic" are about the whole window, not only documents new since
        # the previous run (Kibana's default excludes those).
        "excludeHitsFromPreviousRun": False,
    }
    if spec.agg_field:
        params["aggField"] = spec.agg_field
    return params


def render_rule(ruleset: RuleSet, rule: Rule, spec: KibanaSpec, with_index: bool = True) -> Body:
    """The body of `POST /api/alerting/rule/{id}` (action `id`s are connector ids)."""
    frequency = {"summary": False, "notify_when": "onThrottleInterval", "throttle": rule.throttle}
    actions = []
    for name in rule.destinations:
        dest = ruleset.destination(name)
        _, params = action_params(dest, rule, spec)
        cid = dest.kibana_connector_id or connector_uuid(rule.model, name)
        actions.append({"group": ACTION_GROUP, "id": cid, "params": params, "frequency": frequency})
    if with_index:
        actions.append(
            {
                "group": ACTION_GROUP,
                "id": connector_uuid(rule.model, INDEX_DESTINATION),
                "params": {"documents": [_alert_doc(rule, spec)]},
                "frequency": frequency,
            }
        )
    notes = " ".join(spec.notes)
    return {
        "name": f"predwatch {rule.model}: {rule.title}",
        "rule_type_id": RULE_TYPE,
        "consumer": CONSUMER,
        "enabled": True,
        "schedule": {"interval": rule.every},
        "tags": [
            "predwatch",
            f"model:{rule.model}",
            f"kind:{rule.kind}",
            f"severity:{rule.severity}",
        ],
        "params": rule_params(rule, spec),
        "actions": actions,
        **({"description_note": notes} if notes else {}),
    }


def render_rules(ruleset: RuleSet) -> tuple[dict[str, Body], list[str]]:
    """(rules by Kibana id, notes on rules Kibana cannot express)."""
    out: dict[str, Body] = {}
    skipped: list[str] = []
    for rule in ruleset.enabled():
        spec = kibana_spec(rule)
        if spec is None:
            skipped.append(
                f"{rule.id}: {rule.kind} has no Kibana es-query form; "
                "Watcher or `predwatch alerts check` covers it"
            )
            continue
        out[rule_uuid(rule)] = render_rule(ruleset, rule, spec)
    return out, skipped


def api_body(rule: Body) -> Body:
    """The rule as the API takes it (predwatch's own keys removed)."""
    return {k: v for k, v in rule.items() if k != "description_note"}


# --- what Kibana runs (for tests and `--explain`) --------------------------------------
def simulated_search(params: Mapping[str, Any], date_end: str | None = None) -> Body:
    """The search Kibana's es-query executor sends for non-grouped `params` (fetch_es_query:
    the rule query filtered to the time window, plus `metricAgg` for non-count types)."""
    size, unit = params["timeWindowSize"], params["timeWindowUnit"]
    end = date_end or "now"
    rng = {
        "gte": f"{end}-{size}{unit}" if end == "now" else f"{end}||-{size}{unit}",
        "lte": end,
        "format": "strict_date_optional_time",
    }
    body: Body = {
        "size": params.get("size", 0),
        "track_total_hits": True,
        "query": {
            "bool": {
                "filter": [
                    {"range": {params["timeField"]: rng}},
                    json.loads(params["esQuery"])["query"],
                ]
            }
        },
    }
    if params.get("aggType", "count") != "count":
        body["aggs"] = {"metricAgg": {params["aggType"]: {"field": params["aggField"]}}}
    return body


def evaluate_params(params: Mapping[str, Any], response: Mapping[str, Any]) -> tuple[bool, Any]:
    """(condition met, value) as Kibana decides it for a non-grouped es-query rule."""
    if params.get("aggType", "count") == "count":
        total = response["hits"]["total"]
        value: Any = total["value"] if isinstance(total, Mapping) else total
    else:
        value = response.get("aggregations", {}).get("metricAgg", {}).get("value")
    if value is None:
        return False, None
    t = params["threshold"]
    c = params["thresholdComparator"]
    met = {
        ">": lambda: value > t[0],
        ">=": lambda: value >= t[0],
        "<": lambda: value < t[0],
        "<=": lambda: value <= t[0],
        "between": lambda: t[0] <= value <= t[1],
        "notBetween": lambda: value < t[0] or value > t[1],
    }[c]()
    return bool(met), value


# --- installation -----------------------------------------------------------------------
@dataclass
class KibanaClient:
    url: str
    cfg: ESConfig
    space: str | None = None
    timeout: float = 30.0

    def __post_init__(self) -> None:
        self.session = requests.Session()
        self.session.headers.update({"kbn-xsrf": "true", "Content-Type": "application/json"})
        if self.cfg.api_key:
            self.session.headers["Authorization"] = f"ApiKey {self.cfg.api_key}"
        elif self.cfg.username and self.cfg.password:
            self.session.auth = (self.cfg.username, self.cfg.password)
        if self.cfg.ca_cert:
            self.session.verify = self.cfg.ca_cert

    def _url(self, path: str) -> str:
        prefix = f"/s/{self.space}" if self.space else ""
        return self.url.rstrip("/") + prefix + path

    def request(self, method: str, path: str, body: Body | None = None) -> requests.Response:
        try:
            resp = self.session.request(method, self._url(path), json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise KibanaError(
                f"Kibana at {self.url} could not be reached ({type(exc).__name__}); set "
                "--kibana-url or PREDWATCH_KIBANA_URL"
            ) from None
        if resp.status_code in (401, 403):
            raise KibanaError(
                f"Kibana at {self.url} refused {method} {path} ({resp.status_code}): check the "
                "credentials and the Stack Rules / Connectors privileges"
            )
        if resp.status_code >= 400 and resp.status_code != 404:
            raise KibanaError(
                f"Kibana at {self.url} refused {method} {path}: {resp.status_code} "
                f"{self.cfg.redact(resp.text[:300])}"
            )
        return resp

    def upsert(self, kind: str, oid: str, create: Body, update: Body) -> str:
        base = "/api/alerting/rule" if kind == "rule" else "/api/actions/connector"
        if self.request("GET", f"{base}/{oid}").status_code == 404:
            self.request("POST", f"{base}/{oid}", create)
            return "created"
        self.request("PUT", f"{base}/{oid}", update)
        return "updated"


_RULE_UPDATE_KEYS = ("name", "tags", "schedule", "params", "actions")


def install_rules(client: KibanaClient, ruleset: RuleSet) -> list[tuple[str, str, str]]:
    """Create or update the connectors and rules; returns (kind, name, result) rows."""
    rules, skipped = render_rules(ruleset)
    rows: list[tuple[str, str, str]] = [("rule", note, "skipped") for note in skipped]
    needed: dict[str, Body] = {}
    for rule in ruleset.enabled():
        for name in rule.destinations:
            dest = ruleset.destination(name)
            if not dest.kibana_connector_id:
                needed[connector_uuid(rule.model, name)] = connector_body(dest)
    if rules:
        needed[connector_uuid(ruleset.model, INDEX_DESTINATION)] = index_connector_body()
    for cid, body in needed.items():
        update = {k: body[k] for k in ("name", "config", "secrets")}
        rows.append(("connector", body["name"], client.upsert("connector", cid, body, update)))
    for rid, body in rules.items():
        api = api_body(body)
        update = {k: api[k] for k in _RULE_UPDATE_KEYS}
        rows.append(("rule", body["name"], client.upsert("rule", rid, api, update)))
    return rows
