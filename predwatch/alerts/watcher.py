"""Render rules as Elasticsearch Watcher watches, check their structure, install them.

A watch = interval trigger (`every`), search input (the rule's shared search body),
`compare`/`array_compare` condition, and one action per destination, each with the rule's
`throttle_period`, plus an `index` action recording the alert in `predwatch-alerts`.

Needs on the cluster: Watcher (gold/platinum/enterprise or trial licence). Slack and email
actions send through accounts configured in elasticsearch.yml / the keystore
(`xpack.notification.slack.account.<name>.secure_url`, `xpack.notification.email.account.<name>`);
the rule file's `account` picks one (omitted: the default account).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from elasticsearch import Elasticsearch

from predwatch import es as es_mod
from predwatch import schema as s
from predwatch.alerts.conditions import OPS, SYMBOLS, Check
from predwatch.alerts.durations import duration_seconds
from predwatch.alerts.model import Destination, Rule, RuleSet
from predwatch.alerts.queries import RuleSearch, searches
from predwatch.config import ESConfig
from predwatch.errors import PredwatchError

Body = dict[str, Any]
WATCH_LICENSES = ("gold", "platinum", "enterprise", "trial")
LOG_LEVEL = {"critical": "error", "warning": "warn", "info": "info"}
ACTION_TYPES = ("logging", "webhook", "email", "slack", "index")
# What Watcher's parsers read, the same in 8.19 and 9.x (x-pack WatchField and
# WatcherSearchTemplateRequest); any other key makes the PUT fail on either line.
WATCH_KEYS = frozenset(
    {"trigger", "input", "condition", "actions", "transform", "metadata", "throttle_period",
     "throttle_period_in_millis"}
)  # fmt: skip
SEARCH_REQUEST_KEYS = frozenset(
    {"indices", "body", "search_type", "indices_options", "template", "rest_total_hits_as_int"}
)


class WatcherUnavailable(PredwatchError):
    """The cluster cannot run watches (no Watcher module, or a licence without it)."""

    exit_code = 0  # a supported situation: the alternatives are named in the message


def watch_id(rule: Rule, key: str = "") -> str:
    """`predwatch-<model>-<rule id>[-<key>]`, with unsafe characters replaced (+ a hash)."""
    raw = rule.id + (f"-{key}" if key else "")
    safe = re.sub(r"[^a-z0-9_.-]+", "_", raw.lower())
    if safe != raw:
        safe += "-" + hashlib.sha256(raw.encode()).hexdigest()[:6]
    return f"predwatch-{rule.model}-{safe}"


def message_template(rule: Rule, search: RuleSearch) -> str:
    """The notification text, with mustache for the values Watcher fills in."""
    check = search.check
    return (
        f"[{rule.severity}] predwatch {rule.model}: {rule.title}: value {check.mustache_value()}"
        f" {SYMBOLS[check.op]} {search.bound:g} over the last {rule.window}"
        " (watch {{ctx.watch_id}}, {{ctx.execution_time}})"
    )


def _painless_path(path: str) -> str:
    """A null-safe painless expression for a dot path (`?.`: a missing part gives null)."""
    out = []
    for part in path.split("."):
        if part.isdigit():
            out.append(f"[{part}]")
        elif re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", part):
            out.append(f"?.{part}" if out else part)
        else:  # pragma: no cover - the searches only use plain names
            raise ValueError(f"path part {part!r} cannot be written in painless")
    return "".join(out)


def _value_script(check: Check) -> str:
    if check.elem_path is None:
        return f"def v = {_painless_path(check.path)};"
    elem = _painless_path("b." + check.elem_path).removeprefix("b").removeprefix("?")
    return (
        f"def b = {_painless_path(check.path)}; "
        f"def v = (b == null || b.isEmpty()) ? null : b[0]{elem};"
    )


def index_action(rule: Rule, search: RuleSearch, destinations: list[str]) -> Body:
    """Record the alert in predwatch-alerts. Its transform reshapes the payload into an
    alert document, the one place a watch needs a script (Watcher clusters have painless)."""
    source = (
        _value_script(search.check)
        + " return ['model': ['name': params.model], 'rule': ['id': params.rule_id,"
        " 'name': params.name, 'kind': params.kind, 'feature': params.feature],"
        " 'severity': params.severity, 'status': 'fired', 'value': v,"
        " 'threshold': params.threshold, 'message': params.message,"
        " 'destinations': params.destinations, 'source': 'watcher', 'watch_id': ctx.watch_id];"
    )
    params = {
        "model": rule.model,
        "rule_id": rule.id,
        "name": rule.title,
        "kind": rule.kind,
        "feature": rule.feature,
        "severity": rule.severity,
        "threshold": search.bound,
        "message": f"{rule.title} ({SYMBOLS[search.check.op]} {search.bound:g}, {rule.window})",
        "destinations": destinations,
    }
    return {
        "throttle_period": rule.throttle,
        "transform": {"script": {"lang": "painless", "source": source, "params": params}},
        "index": {"index": s.index_name("alerts"), "execution_time_field": s.TIMESTAMP},
    }


def _webhook(dest: Destination, body: str) -> Body:
    url = urlsplit(dest.url or "")
    hook: Body = {
        "scheme": url.scheme,
        "host": url.hostname,
        "port": url.port or (443 if url.scheme == "https" else 80),
        "method": "post",
        "path": url.path or "/",
        "headers": {"Content-Type": "application/json", **dest.headers},
        "body": body,
    }
    if url.query:
        hook["params"] = dict(parse_qsl(url.query))
    return {"webhook": hook}


def _json_body(rule: Rule, search: RuleSearch) -> str:
    doc = {
        "source": "watcher",
        "watch_id": "{{ctx.watch_id}}",
        "time": "{{ctx.execution_time}}",
        "model": rule.model,
        "rule": {"id": rule.id, "kind": rule.kind, "feature": rule.feature},
        "severity": rule.severity,
        "status": "fired",
        "value": search.check.mustache_value(),
        "threshold": search.bound,
        "window": rule.window,
        "message": message_template(rule, search),
    }
    return json.dumps(doc)


def destination_action(dest: Destination, rule: Rule, search: RuleSearch) -> Body:
    text = message_template(rule, search)
    action: Body
    if dest.type in ("log", "stdout"):
        action = {"logging": {"level": LOG_LEVEL[rule.severity], "text": text}}
    elif dest.type == "webhook":
        action = _webhook(dest, _json_body(rule, search))
    elif dest.type == "slack":
        message: Body = {"from": "predwatch", "text": text}
        if dest.channel:
            message["to"] = [dest.channel]
        action = {"slack": {"message": message}}
        if dest.account:
            action["slack"]["account"] = dest.account
    elif dest.type == "email":
        email: Body = {
            "to": list(dest.to),
            "subject": f"[{rule.severity}] predwatch {rule.model}: {rule.title}",
            "body": {"text": text},
        }
        if dest.sender:
            email["from"] = dest.sender
        if dest.account:
            email["account"] = dest.account
        action = {"email": email}
    else:  # pragma: no cover - destination types are validated when read
        raise ValueError(f"destination type {dest.type!r}")
    return {"throttle_period": rule.throttle, **action}


def render_watch(ruleset: RuleSet, rule: Rule, search: RuleSearch) -> Body:
    actions: Body = {}
    for name in rule.destinations:
        key = re.sub(r"[^A-Za-z0-9_]+", "_", name)
        actions[key] = destination_action(ruleset.destination(name), rule, search)
    actions["record_alert"] = index_action(rule, search, list(rule.destinations))
    return {
        "metadata": {
            "predwatch": {
                "model": rule.model,
                "rule_id": rule.id,
                "kind": rule.kind,
                "feature": rule.feature,
                "severity": rule.severity,
                "window": rule.window,
                "threshold": search.bound,
                "title": rule.title,
            }
        },
        "trigger": {"schedule": {"interval": rule.every}},
        "input": {
            "search": {
                "request": {
                    "indices": list(search.indices),
                    "rest_total_hits_as_int": True,
                    "body": search.body,
                }
            }
        },
        "condition": search.check.watcher_condition(),
        "actions": actions,
    }


def render_watches(ruleset: RuleSet) -> dict[str, Body]:
    """Every enabled rule's watch(es), by watch id."""
    out: dict[str, Body] = {}
    for rule in ruleset.enabled("elasticsearch"):
        for search in searches(rule):
            out[watch_id(rule, search.key)] = render_watch(ruleset, rule, search)
    return out


def write_watches(watches: dict[str, Body], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for wid, body in sorted(watches.items()):
        path = folder / f"{wid}.json"
        path.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


# --- structure check --------------------------------------------------------------------
def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, str | int | float | bool)


def validate_watch(body: Body) -> list[str]:
    """Problems Watcher's parser would reject (empty list: the watch is well formed), on
    8.19 and on 9.x alike."""
    errs: list[str] = []
    unknown_keys = set(body) - WATCH_KEYS
    if unknown_keys:
        errs.append(f"unknown watch key(s) {sorted(unknown_keys)}")
    try:
        duration_seconds(body["trigger"]["schedule"]["interval"])
    except Exception:
        errs.append("trigger.schedule.interval must be a duration like 1m")
    req = body.get("input", {}).get("search", {}).get("request", {})
    if not isinstance(req.get("indices"), list) or not req["indices"]:
        errs.append("input.search.request.indices must be a non-empty list")
    if not isinstance(req.get("body"), dict) or "query" not in req.get("body", {}):
        errs.append("input.search.request.body must hold a query")
    if "{{" in json.dumps(req.get("body", {})):
        errs.append("the search body is a mustache template in Watcher: no {{ allowed")
    if set(req) - SEARCH_REQUEST_KEYS:
        errs.append(f"unknown search request key(s) {sorted(set(req) - SEARCH_REQUEST_KEYS)}")
    # Conditions compare ctx.payload.hits.total as a number: say so rather than rely on
    # Watcher's default (true, marked in its source as kept for 7.x compatibility only).
    if req.get("rest_total_hits_as_int") is not True:
        errs.append("input.search.request.rest_total_hits_as_int must be true")
    errs += _validate_condition(body.get("condition"))
    actions = body.get("actions")
    if not isinstance(actions, dict) or not actions:
        errs.append("actions must be a non-empty object")
        return errs
    for name, action in actions.items():
        kinds = [k for k in action if k in ACTION_TYPES]
        if len(kinds) != 1:
            errs.append(f"action {name} must have exactly one of {', '.join(ACTION_TYPES)}")
        unknown = set(action) - {*ACTION_TYPES, "throttle_period", "transform", "condition"}
        if unknown:
            errs.append(f"action {name} has unknown key(s) {sorted(unknown)}")
        try:
            duration_seconds(action.get("throttle_period", ""))
        except Exception:
            errs.append(f"action {name} needs a throttle_period like 30m")
    return errs


def _validate_condition(cond: Any) -> list[str]:
    if not isinstance(cond, dict) or len(cond) != 1:
        return ["condition must have exactly one type"]
    ((kind, spec),) = cond.items()
    if kind not in ("compare", "array_compare") or not isinstance(spec, dict) or len(spec) != 1:
        return ["condition must be one compare or array_compare"]
    ((path, inner),) = spec.items()
    if not path.startswith("ctx.payload."):
        return [f"condition path {path} must start with ctx.payload."]
    if kind == "compare":
        if not isinstance(inner, dict) or len(inner) != 1:
            return ["compare takes exactly one operator"]
        ((op, value),) = inner.items()
        ok = op in OPS and _scalar(value)
        return [] if ok else [f"compare {op}: {value!r} is not an operator and a scalar"]
    ops = [k for k in inner if k != "path"]
    if len(ops) != 1 or ops[0] not in OPS or not isinstance(inner.get("path", ""), str):
        return ["array_compare takes a path and exactly one operator"]
    opv = inner[ops[0]]
    if (
        not isinstance(opv, dict)
        or not _scalar(opv.get("value"))
        or set(opv) - {"value", "quantifier"}
    ):
        return ["array_compare operator takes {value, quantifier}"]
    if opv.get("quantifier", "some") not in ("some", "all"):
        return ["array_compare quantifier is some or all"]
    return []


# --- installation -----------------------------------------------------------------------
@dataclass(frozen=True)
class WatcherSupport:
    available: bool
    license: str
    reason: str = ""


ALTERNATIVES = (
    "use Kibana rules instead (`predwatch setup kibana-rules`, basic licence) or let predwatch "
    "evaluate the same rules itself (`predwatch alerts check --every 1m`)"
)


def detect_watcher(es: Elasticsearch, cfg: ESConfig) -> WatcherSupport:
    """Whether the cluster serves the Watcher API under a licence that runs watches."""
    lic = "unknown"
    try:
        resp = es_mod.call(cfg, lambda: es.license.get())
        lic = str(resp.body.get("license", {}).get("type", "unknown"))
    except PredwatchError:
        pass
    if not es_mod.has_api(es, cfg, "/_watcher/stats"):
        return WatcherSupport(False, lic, "this cluster has no Watcher module")
    if lic not in WATCH_LICENSES:
        return WatcherSupport(False, lic, f"Watcher needs a gold+ or trial licence; this is {lic}")
    return WatcherSupport(True, lic)


def install_watches(
    es: Elasticsearch, cfg: ESConfig, watches: dict[str, Body]
) -> list[tuple[str, str]]:
    """PUT every watch (after checking its structure); returns (watch id, result) pairs."""
    support = detect_watcher(es, cfg)
    if not support.available:
        raise WatcherUnavailable(f"skipped: {support.reason}; {ALTERNATIVES}")
    results = []
    for wid, body in sorted(watches.items()):
        problems = validate_watch(body)
        if problems:
            raise PredwatchError(f"watch {wid} is malformed: {'; '.join(problems)}")
        resp = es_mod.call(
            cfg,
            lambda wid=wid, body=body: es.perform_request(  # type: ignore[misc]
                "PUT",
                f"/_watcher/watch/{wid}",
                headers={"content-type": "application/json", "accept": "application/json"},
                body=body,
            ),
        )
        created = bool(getattr(resp, "body", {}).get("created", False))
        results.append((wid, "created" if created else "updated"))
    return results
