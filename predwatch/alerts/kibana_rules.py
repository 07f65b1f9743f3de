"""Render rules as Kibana "Elasticsearch query" rules (rule type `.es-query`, basic licence)
and install them, with their connectors, through Kibana's HTTP API.

Kibana runs the rule's query over `timeWindowSize/Unit` back from each run and compares
`count` or `avg(aggField)` with `threshold` (the alert tests reproduce that request on a real
node: Kibana cannot run there).
Kibana cannot express a distinct count (multiple_versions, dependency_change,
model_hash_change: skipped) or a percentile (latency_p95 is approximated by a count of slow
requests); each rule's description says so.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from predwatch import schema as s
from predwatch.alerts.durations import split_duration
from predwatch.alerts.kinds import KINDS
from predwatch.alerts.model import Destination, Rule, RuleSet
from predwatch.alerts.queries import KibanaSpec, kibana_spec
from predwatch.kibana.client import KibanaClient

Body = dict[str, Any]
RULE_TYPE = ".es-query"
CONSUMER = "stackAlerts"
ACTION_GROUP = "query matched"  # the .es-query rule type's only action group
INDEX_DESTINATION = "predwatch-alerts-index"


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
        s.TIMESTAMP: "{{context.date}}",
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
        if KINDS[rule.kind].source != "elasticsearch":
            skipped.append(
                f"{rule.id}: {rule.kind} is seen by the shipper's Prometheus metrics only; "
                "`predwatch alerts render --target prometheus` covers it"
            )
            continue
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


# --- installation -----------------------------------------------------------------------
RULES_PRIVILEGE = "the Stack Rules and Connectors privileges"


def upsert(client: KibanaClient, kind: str, oid: str, create: Body, update: Body) -> str:
    """Create the rule or connector `oid`, or update it where it exists."""
    base = "/api/alerting/rule" if kind == "rule" else "/api/actions/connector"
    path = f"{base}/{oid}"
    found = client.request("GET", path, allow=(404,), privilege=RULES_PRIVILEGE)
    if found.status_code == 404:
        client.request("POST", path, json=create, privilege=RULES_PRIVILEGE)
        return "created"
    client.request("PUT", path, json=update, privilege=RULES_PRIVILEGE)
    return "updated"


_RULE_UPDATE_KEYS = ("name", "tags", "schedule", "params", "actions")


def install_rules(client: KibanaClient, ruleset: RuleSet) -> list[tuple[str, str, str]]:
    """Create or update the connectors and rules; returns (kind, name, result) rows."""
    rules, skipped = render_rules(ruleset)
    rows: list[tuple[str, str, str]] = [("rule", note, "skipped") for note in skipped]
    needed: dict[str, Body] = {}
    for rule in ruleset.enabled("elasticsearch"):
        for name in rule.destinations:
            dest = ruleset.destination(name)
            if not dest.kibana_connector_id:
                needed[connector_uuid(rule.model, name)] = connector_body(dest)
    if rules:
        needed[connector_uuid(ruleset.model, INDEX_DESTINATION)] = index_connector_body()
    for cid, body in needed.items():
        update = {k: body[k] for k in ("name", "config", "secrets")}
        rows.append(("connector", body["name"], upsert(client, "connector", cid, body, update)))
    for rid, body in rules.items():
        api = api_body(body)
        update = {k: api[k] for k in _RULE_UPDATE_KEYS}
        rows.append(("rule", body["name"], upsert(client, "rule", rid, api, update)))
    return rows
