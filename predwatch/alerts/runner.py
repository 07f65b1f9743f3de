"""`predwatch alerts check`: evaluate the rules against Elasticsearch, notify, throttle, and
record every fired/resolved alert in `predwatch-alerts`.

State lives in that index (the last record of each rule), so throttling survives restarts
and several runners, and Kibana can show the alert history. A rule that fired and whose
condition clears (with enough data to say so) is recorded and notified as `resolved`.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch

from predwatch import es as es_mod
from predwatch import mappings
from predwatch import schema as s
from predwatch.alerts.conditions import SYMBOLS, resolve
from predwatch.alerts.durations import duration_seconds
from predwatch.alerts.model import Destination, Rule, RuleSet
from predwatch.alerts.notify import Alert, DeliveryError, deliver
from predwatch.alerts.queries import (
    DISTINCT_FIELD,
    RuleSearch,
    deployment_changes,
    deployment_docs_search,
    searches,
)
from predwatch.config import ESConfig
from predwatch.errors import PredwatchError

Sender = Callable[[Destination, Alert], None]
Clock = Callable[[], dt.datetime]
ALERTS_INDEX = s.index_name("alerts")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class RuleState:
    status: str  # fired | resolved
    time: dt.datetime


@dataclass(frozen=True)
class Outcome:
    """What one check did with one rule."""

    rule: Rule
    fired: bool
    enough_data: bool
    value: Any
    bound: float
    action: str  # notified | throttled | resolved | ok | insufficient_data | delivery_failed
    delivered: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    alert: Alert | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.id,
            "kind": self.rule.kind,
            "fired": self.fired,
            "enough_data": self.enough_data,
            "value": self.value,
            "threshold": self.bound,
            "action": self.action,
            "delivered": list(self.delivered),
            "errors": list(self.errors),
        }


def _details(response: Mapping[str, Any]) -> dict[str, Any]:
    """Count and the top values behind an alert (unseen values, versions, drifted features)."""
    out: dict[str, Any] = {"count": resolve("hits.total", response)}
    for path in ("aggregations.top.buckets", "aggregations.guard.buckets.0.top.buckets"):
        buckets = resolve(path, response)
        if buckets:
            out["top"] = {str(b["key"]): b["doc_count"] for b in buckets}
    return out


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


class Runner:
    """Evaluates one rule set; `check()` once, or `loop()` every interval."""

    def __init__(
        self,
        es: Elasticsearch,
        cfg: ESConfig,
        ruleset: RuleSet,
        *,
        clock: Clock = utcnow,
        sender: Sender = deliver,
        notify_resolved: bool = True,
    ) -> None:
        self.es = es
        self.cfg = cfg
        self.ruleset = ruleset
        self.clock = clock
        self.sender = sender
        self.notify_resolved = notify_resolved
        self._state: dict[str, RuleState] | None = None
        self._last_eval: dict[str, dt.datetime] = {}

    # --- state in predwatch-alerts ---------------------------------------------------
    def ensure_index(self) -> None:
        """Create predwatch-alerts with its mapping when set-up has not (idempotent)."""
        exists = es_mod.call(self.cfg, lambda: self.es.indices.exists(index=ALERTS_INDEX))
        if exists:
            return
        es_mod.call(
            self.cfg,
            lambda: self.es.options(ignore_status=400).indices.create(
                index=ALERTS_INDEX,
                mappings=mappings.alerts_mapping(),
                settings={"number_of_shards": 1, "auto_expand_replicas": "0-1"},
            ),
        )

    def load_state(self) -> dict[str, RuleState]:
        """The last fired/resolved record of each rule of this model."""
        self.ensure_index()
        resp = es_mod.call(
            self.cfg,
            lambda: self.es.search(
                index=ALERTS_INDEX,
                size=0,
                query={
                    "bool": {
                        "filter": [
                            {"term": {s.MODEL_NAME: self.ruleset.model}},
                            {"terms": {"status": ["fired", "resolved"]}},
                        ]
                    }
                },
                aggs={
                    "rules": {
                        "terms": {"field": "rule.id", "size": max(10, 2 * len(self.ruleset.rules))},
                        "aggs": {
                            "last": {
                                "top_hits": {
                                    "size": 1,
                                    "sort": [{s.TIMESTAMP: "desc"}],
                                    "_source": ["status", s.TIMESTAMP],
                                }
                            }
                        },
                    }
                },
            ),
        )
        state: dict[str, RuleState] = {}
        for b in resp.body.get("aggregations", {}).get("rules", {}).get("buckets", []):
            src = b["last"]["hits"]["hits"][0]["_source"]
            when = dt.datetime.fromisoformat(str(src[s.TIMESTAMP]).replace("Z", "+00:00"))
            state[str(b["key"])] = RuleState(str(src["status"]), when)
        return state

    @property
    def state(self) -> dict[str, RuleState]:
        if self._state is None:
            self._state = self.load_state()
        return self._state

    def record(self, alert: Alert, delivered: tuple[str, ...]) -> None:
        doc = {
            s.TIMESTAMP: alert.time,
            "model": {"name": alert.model},
            "rule": {
                "id": alert.rule_id,
                "name": alert.title,
                "kind": alert.kind,
                "feature": alert.feature,
            },
            "severity": alert.severity,
            "status": alert.status,
            "value": alert.value if isinstance(alert.value, int | float) else None,
            "threshold": alert.threshold,
            "message": alert.message,
            "destinations": list(delivered),
            "source": "predwatch",
            "window": alert.window,
            "details": alert.details,
        }
        es_mod.call(self.cfg, lambda: self.es.index(index=ALERTS_INDEX, document=doc, refresh=True))

    # --- evaluation ------------------------------------------------------------------
    def _search(self, search: RuleSearch, cache: dict[str, Mapping[str, Any]]) -> Mapping[str, Any]:
        key = json.dumps([search.indices, search.body], sort_keys=True)
        if key not in cache:
            resp = es_mod.call(self.cfg, lambda: self.es.search(**search.params(), **search.body))
            cache[key] = resp.body
        return cache[key]

    def evaluate(self, rule: Rule) -> tuple[bool, bool, Any, float, Mapping[str, Any]]:
        """(fired, enough data, value, bound, response) of one rule, as its watch decides."""
        cache: dict[str, Mapping[str, Any]] = {}
        result = None
        for search in searches(rule):
            response = self._search(search, cache)
            ev = search.check.evaluate(response)
            if result is None or (ev.fired and not result[0]):
                result = (ev.fired, ev.enough_data, ev.value, search.bound, response)
        assert result is not None
        return result

    def _alert(
        self,
        rule: Rule,
        status: str,
        value: Any,
        bound: float,
        response: Mapping[str, Any],
        now: dt.datetime,
    ) -> Alert:
        op = next(x.check.op for x in searches(rule) if x.bound == bound)
        if status == "fired":
            message = (
                f"{rule.title}: {_fmt(value)} {SYMBOLS[op]} {bound:g} over the last {rule.window}"
            )
        else:
            message = f"{rule.title}: back to normal ({_fmt(value)}) over the last {rule.window}"
        details = _details(response)
        if details.get("top"):
            message += " (top: " + ", ".join(list(details["top"])[:5]) + ")"
        if status == "fired" and rule.kind in DISTINCT_FIELD:
            details.update(self._deployment_details(rule, response, bound))
            changed = details.get("changes") or {}
            if changed:
                shown = [f"{k} {' -> '.join(reversed(v))}" for k, v in list(changed.items())[:5]]
                more = f" and {len(changed) - 5} more" if len(changed) > 5 else ""
                message += f" (version {details['version']}: {', '.join(shown)}{more})"
        number = float(value) if isinstance(value, int | float) else None
        return Alert(
            rule.id,
            rule.kind,
            rule.model,
            rule.title,
            rule.severity,
            status,
            number,
            bound,
            rule.window,
            message,
            _iso(now),
            rule.feature,
            details,
        )

    def _deployment_details(
        self, rule: Rule, response: Mapping[str, Any], bound: float
    ) -> dict[str, Any]:
        """Which version changed and what differs between its deployments (one search)."""
        buckets = resolve("aggregations.versions.buckets", response) or []
        version = next(
            (b["key"] for b in buckets if (resolve("distinct.value", b) or 0) > bound), None
        )
        if version is None:
            return {}
        body = deployment_docs_search(rule, str(version))
        index = s.index_name("deployments")
        resp = es_mod.call(self.cfg, lambda: self.es.search(index=index, **body))
        return {"version": str(version), "changes": deployment_changes(rule, resp.body)}

    def _notify(self, rule: Rule, alert: Alert) -> tuple[tuple[str, ...], tuple[str, ...]]:
        delivered, errors = [], []
        for name in rule.destinations:
            try:
                self.sender(self.ruleset.destination(name), alert)
                delivered.append(name)
            except (DeliveryError, PredwatchError) as exc:
                errors.append(f"{name}: {exc}")
        return tuple(delivered), tuple(errors)

    def check_rule(self, rule: Rule, now: dt.datetime) -> Outcome:
        fired, enough, value, bound, response = self.evaluate(rule)
        prev = self.state.get(rule.id)
        firing = prev is not None and prev.status == "fired"
        if fired:
            age = (now - prev.time).total_seconds() if prev else None
            if firing and age is not None and age < duration_seconds(rule.throttle):
                return Outcome(rule, True, enough, value, bound, "throttled")
            alert = self._alert(rule, "fired", value, bound, response, now)
            delivered, errors = self._notify(rule, alert)
            if errors and not delivered:
                # Not recorded: the next check tries again (at-least-once delivery).
                return Outcome(
                    rule, True, enough, value, bound, "delivery_failed", (), errors, alert
                )
            self.record(alert, delivered)
            self.state[rule.id] = RuleState("fired", now)
            return Outcome(rule, True, enough, value, bound, "notified", delivered, errors, alert)
        if not enough:
            return Outcome(rule, False, False, value, bound, "insufficient_data")
        if firing and self.notify_resolved:
            alert = self._alert(rule, "resolved", value, bound, response, now)
            delivered, errors = self._notify(rule, alert)
            self.record(alert, delivered)
            self.state[rule.id] = RuleState("resolved", now)
            return Outcome(rule, False, True, value, bound, "resolved", delivered, errors, alert)
        return Outcome(rule, False, True, value, bound, "ok")

    def check(self, only_due: bool = False) -> list[Outcome]:
        """Evaluate every enabled rule (with `only_due`, those whose `every` has passed)."""
        now = self.clock()
        out = []
        for rule in self.ruleset.enabled("elasticsearch"):
            last = self._last_eval.get(rule.id)
            if only_due and last and (now - last).total_seconds() < duration_seconds(rule.every):
                continue
            self._last_eval[rule.id] = now
            out.append(self.check_rule(rule, now))
        return out


def run_loop(
    runners: list[Runner],
    every_s: float,
    on_round: Callable[[list[Outcome]], None],
    on_error: Callable[[PredwatchError], None],
    rounds: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Check every `every_s` seconds (each rule when its `every` is due) until interrupted
    or `rounds` rounds; an Elasticsearch outage is reported and retried, never fatal."""
    done = 0
    while rounds is None or done < rounds:
        started = time.monotonic()
        for runner in runners:
            try:
                on_round(runner.check(only_due=True))
            except PredwatchError as exc:
                on_error(exc)
        done += 1
        if rounds is None or done < rounds:
            sleep(max(0.0, every_s - (time.monotonic() - started)))
