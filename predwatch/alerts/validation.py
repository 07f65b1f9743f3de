"""Validation of rules and parsing of a rule file's structure into a `RuleSet`; every error
names the bad part (`rules[3] ('oov_rate.country'): ...`). Pure: the environment for
`${VAR}` references is passed in."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from typing import Any

from predwatch import schema
from predwatch.alerts.durations import duration_seconds
from predwatch.alerts.kinds import KINDS, SEVERITIES
from predwatch.alerts.model import (
    DEST_TYPES,
    FORMAT,
    FORMAT_VERSION,
    Destination,
    Rule,
    RulesError,
    RuleSet,
)

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(value: str, env: Mapping[str, str], where: str) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in env:
            raise RulesError(f"{where}: environment variable {name} is not set")
        return env[name]

    return _ENV_REF.sub(sub, value)


def _bad(where: str, msg: str) -> RulesError:
    return RulesError(f"{where}: {msg}")


def _rate(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad(where, f"threshold must be a number, got {value!r}")
    return float(value)


def validate_rule(rule: Rule, where: str | None = None) -> Rule:
    """Return `rule` if it is usable, else raise RulesError naming the bad part."""
    where = where or f"rule {rule.id!r}"
    if not rule.id or not re.match(r"^[A-Za-z0-9_.:-]+$", rule.id.split(".", 1)[0]):
        raise _bad(where, "id must start with letters, digits, _ . : or -")
    spec = KINDS.get(rule.kind)
    if spec is None:
        raise _bad(where, f"unknown kind {rule.kind!r}; one of {', '.join(KINDS)}")
    try:
        schema.validate_model_name(rule.model)
        if rule.feature is not None:
            schema.validate_feature_name(rule.feature)
    except schema.SchemaError as exc:
        raise _bad(where, str(exc)) from None
    if spec.feature_types and rule.feature is None:
        raise _bad(where, f"kind {rule.kind} needs a `feature`")
    if not spec.feature_types and rule.feature is not None:
        raise _bad(where, f"kind {rule.kind} takes no `feature`")
    if rule.feature_type is not None and rule.feature_type not in spec.feature_types:
        raise _bad(where, f"kind {rule.kind} takes feature_type {' or '.join(spec.feature_types)}")
    if rule.kind == "oov_rate" and rule.feature_type is None:
        raise _bad(where, "kind oov_rate needs `feature_type: categorical` or `text`")
    for name in ("window", "throttle", "every"):
        duration_seconds(getattr(rule, name), f"{where}: {name}")
    if rule.severity not in SEVERITIES:
        raise _bad(where, f"severity must be one of {', '.join(SEVERITIES)}")
    if rule.min_count < 0:
        raise _bad(where, "min_count must be >= 0")
    if spec.band:
        t = rule.threshold
        if not isinstance(t, tuple) or len(t) != 2 or not t[0] < t[1]:
            raise _bad(where, "threshold must be a band [low, high] with low < high")
        _rate(t[0], where), _rate(t[1], where)
    else:
        if isinstance(rule.threshold, tuple):
            raise _bad(where, "threshold must be one number")
        value = _rate(rule.threshold, where)
        if spec.unit == "rate" and not 0 <= value <= 1:
            raise _bad(where, f"threshold {value} is a rate and must be within [0, 1]")
    if rule.kind == "version_change" and not rule.expected_version:
        raise _bad(where, "kind version_change needs `expected_version`")
    if rule.kind == "staleness":
        if not rule.max_age:
            raise _bad(where, "kind staleness needs `max_age` (e.g. 90d)")
        duration_seconds(rule.max_age, f"{where}: max_age")
    elif rule.max_age is not None:
        raise _bad(where, f"kind {rule.kind} takes no `max_age`")
    if not rule.destinations:
        raise _bad(where, "needs at least one destination (e.g. [log])")
    return rule


_RULE_KEYS = {
    "id", "kind", "feature", "feature_type", "window", "threshold", "severity", "throttle", "every",
    "min_count", "destinations", "enabled", "expected_version", "max_age", "description",
}  # fmt: skip
_DEST_KEYS = {
    "type", "url", "headers", "to", "sender", "smtp_host", "smtp_port", "smtp_username",
    "smtp_password", "smtp_starttls", "channel", "account", "kibana_connector_id",
}  # fmt: skip


def _parse_destination(name: str, raw: Any, env: Mapping[str, str]) -> Destination:
    where = f"destination {name!r}"
    if not isinstance(raw, Mapping):
        raise _bad(where, "must be a mapping with a `type`")
    unknown = set(raw) - _DEST_KEYS
    if unknown:
        raise _bad(where, f"unknown key(s) {', '.join(sorted(unknown))}")
    kind = raw.get("type")
    if kind not in DEST_TYPES:
        raise _bad(where, f"type must be one of {', '.join(DEST_TYPES)}, got {kind!r}")

    def text(key: str) -> str | None:
        v = raw.get(key)
        return None if v is None else expand_env(str(v), env, f"{where}.{key}")

    to = raw.get("to", ())
    to = (to,) if isinstance(to, str) else tuple(str(x) for x in to)
    dest = Destination(
        name=name,
        type=str(kind),
        url=text("url"),
        headers={
            str(k): expand_env(str(v), env, where) for k, v in (raw.get("headers") or {}).items()
        },
        to=tuple(expand_env(x, env, where) for x in to),
        sender=text("sender"),
        smtp_host=text("smtp_host"),
        smtp_port=int(raw.get("smtp_port", 25)),
        smtp_username=text("smtp_username"),
        smtp_password=text("smtp_password"),
        smtp_starttls=bool(raw.get("smtp_starttls", False)),
        channel=text("channel"),
        account=text("account"),
        kibana_connector_id=text("kibana_connector_id"),
    )
    if kind in ("webhook", "slack") and not dest.url:
        raise _bad(where, f"type {kind} needs a `url`")
    if kind == "webhook" and not re.match(r"^https?://", dest.url or ""):
        raise _bad(where, "url must start with http:// or https://")
    if kind == "email" and not dest.to:
        raise _bad(where, "type email needs `to` (one or more addresses)")
    return dest


def _parse_rule(raw: Any, i: int, model: str, defaults: Mapping[str, Any]) -> Rule:
    where = f"rules[{i}]" + (f" ({raw.get('id')!r})" if isinstance(raw, Mapping) else "")
    if not isinstance(raw, Mapping):
        raise _bad(where, "must be a mapping")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise _bad(where, f"unknown key(s) {', '.join(sorted(unknown))}")
    merged = {**defaults, **raw}
    for key in ("id", "kind"):
        if key not in merged:
            raise _bad(where, f"missing `{key}`")
    threshold = merged.get("threshold", 0.0)
    if isinstance(threshold, list):
        threshold = tuple(_rate(x, where) for x in threshold)
    dests = merged.get("destinations", ["log"])
    dests = (dests,) if isinstance(dests, str) else tuple(str(d) for d in dests)
    feature = merged.get("feature")
    ftype = merged.get("feature_type")
    rule = Rule(
        id=str(merged["id"]),
        kind=str(merged["kind"]),
        model=model,
        feature=None if feature is None else str(feature),
        feature_type=None if ftype is None else str(ftype),
        window=str(merged.get("window", "15m")),
        threshold=threshold,
        severity=str(merged.get("severity", "warning")),
        throttle=str(merged.get("throttle", "30m")),
        every=str(merged.get("every", "1m")),
        min_count=int(merged.get("min_count", 0)),
        destinations=dests,
        enabled=bool(merged.get("enabled", True)),
        expected_version=(
            None if merged.get("expected_version") is None else str(merged["expected_version"])
        ),
        max_age=None if merged.get("max_age") is None else str(merged["max_age"]),
        description=str(merged.get("description", "")),
    )
    return validate_rule(rule, where)


def rules_from_dict(
    data: Any, env: Mapping[str, str] | None = None, source: str = "rules"
) -> RuleSet:
    """Validate a parsed rule file; RulesError says which part is wrong."""
    env = os.environ if env is None else env
    if not isinstance(data, Mapping):
        raise RulesError(f"{source}: expected a mapping at the top level")
    if data.get("format") != FORMAT:
        raise RulesError(f"{source}: not a predwatch rule file (format must be {FORMAT!r})")
    version = data.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise RulesError(
            f"{source}: format_version {version!r} is not supported (this predwatch reads "
            f"{FORMAT_VERSION}); upgrade predwatch"
        )
    model = data.get("model")
    try:
        schema.validate_model_name(str(model or ""))
    except schema.SchemaError as exc:
        raise RulesError(f"{source}: {exc}") from None
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, Mapping) or set(defaults) - _RULE_KEYS:
        raise RulesError(f"{source}: `defaults` may only hold rule keys")
    dests = {
        str(n): _parse_destination(str(n), d, env)
        for n, d in (data.get("destinations") or {}).items()
    }
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list):
        raise RulesError(f"{source}: `rules` must be a list")
    rules = tuple(_parse_rule(r, i, str(model), defaults) for i, r in enumerate(raw_rules))
    seen: set[str] = set()
    ruleset = RuleSet(str(model), rules, dests, data.get("baseline"))
    for r in rules:
        if r.id in seen:
            raise RulesError(f"{source}: rule id {r.id!r} appears twice")
        seen.add(r.id)
        for d in r.destinations:
            try:
                ruleset.destination(d)
            except RulesError as exc:
                raise RulesError(f"{source}: rule {r.id!r}: {exc}") from None
    return ruleset
