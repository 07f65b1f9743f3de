"""Alert rules, declared once per model: the dataclasses, the file format and the defaults
derived from a baseline. Pure apart from `load_rules` / `save_rules`.

File format (YAML or JSON, the same structure; see `example_file()`)::

    format: predwatch-rules
    format_version: 1
    model: credit
    baseline: credit@1.2          # informational: where the defaults came from
    defaults: {every: 1m, destinations: [log]}
    destinations:                 # `log` and `stdout` exist without being declared
      oncall: {type: webhook, url: "${ONCALL_WEBHOOK_URL}"}
      team: {type: slack, url: "${SLACK_WEBHOOK_URL}", channel: "#ml-alerts", account: ml}
      mail: {type: email, to: [ml@example.org], smtp_host: smtp.example.org}
    rules:
      - {id: oov_rate.country, kind: oov_rate, feature: country, window: 15m,
         threshold: 0.05, min_count: 50, severity: warning, throttle: 30m,
         destinations: [oncall]}

`${VAR}` in a destination value is replaced by the environment variable when the rule file
is read, so webhook URLs and passwords stay out of the file.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from predwatch import schema
from predwatch.errors import PredwatchError

if TYPE_CHECKING:
    from predwatch.baseline import Baseline

FORMAT = "predwatch-rules"
FORMAT_VERSION = 1

SEVERITIES = ("info", "warning", "critical")
DEST_TYPES = ("webhook", "slack", "email", "log", "stdout")
BUILTIN_DESTINATIONS = ("log", "stdout")


@dataclass(frozen=True)
class KindSpec:
    """What a rule kind needs and means (the registry below documents every kind)."""

    title: str
    feature_types: tuple[str, ...] = ()  # non-empty: the rule needs a feature of these types
    band: bool = False  # threshold is [low, high]
    unit: str = ""


KINDS: dict[str, KindSpec] = {
    "drift": KindSpec("drift detected (analyzer results)", unit="drifted features"),
    # From `predwatch quality` (record_type "metric" in predwatch-drift-<model>).
    "quality_regression": KindSpec("prediction quality regressed", unit="regressed metrics"),
    "oov_rate": KindSpec("out-of-vocabulary rate spike", ("categorical", "text"), unit="rate"),
    "missing_rate": KindSpec(
        "missing-rate spike (feature vanished)", ("numeric", "categorical", "text"), unit="rate"
    ),
    "unseen": KindSpec("unseen categorical values", ("categorical",), unit="rate"),
    "prediction_mean": KindSpec("prediction mean outside the baseline band", band=True),
    "nonfinite": KindSpec("non-finite values (NaN/inf)", unit="predictions"),
    "version_change": KindSpec("model version differs from the baseline's", unit="predictions"),
    "multiple_versions": KindSpec("more than one model version live", unit="versions"),
    "no_traffic": KindSpec("no traffic", unit="predictions"),
    "latency_p95": KindSpec("latency p95 above the bound", unit="ms"),
    "deadletter": KindSpec("dead letters appearing", unit="documents"),
    # From predwatch-deployments (the shipper's deployment documents): distinct values per
    # model version in the window.
    "dependency_change": KindSpec(
        "dependencies changed within a model version", unit="fingerprints"
    ),
    "model_hash_change": KindSpec("model hash changed within a model version", unit="hashes"),
    "staleness": KindSpec("stale model serving (trained before max_age)", unit="predictions"),
}


class RulesError(PredwatchError):
    """A rule file or rule that cannot be used (the message names the bad part)."""


# --- durations --------------------------------------------------------------------------
_DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(text: str, what: str = "duration") -> int:
    """Seconds of an Elasticsearch-style duration: `30s`, `15m`, `2h`, `1d`."""
    m = _DURATION.match(str(text).strip())
    if not m or int(m.group(1)) <= 0:
        raise RulesError(f"{what} {text!r} is not a duration like 30s, 15m, 2h or 1d")
    return int(m.group(1)) * _UNIT_SECONDS[m.group(2)]


def split_duration(text: str) -> tuple[int, str]:
    """(size, unit) of a duration, e.g. ("15m") -> (15, "m") (Kibana's timeWindowSize/Unit)."""
    duration_seconds(text)
    m = _DURATION.match(text.strip())
    assert m is not None
    return int(m.group(1)), m.group(2)


# --- dataclasses ------------------------------------------------------------------------
@dataclass(frozen=True)
class Destination:
    """Where a fired alert goes. Secrets come from `${ENV}` references, never from code."""

    name: str
    type: str
    url: str | None = None  # webhook / slack incoming-webhook URL
    headers: Mapping[str, str] = field(default_factory=dict)
    to: tuple[str, ...] = ()  # email recipients
    sender: str | None = None  # email From
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    channel: str | None = None  # slack channel (Watcher: message.to)
    account: str | None = None  # Watcher slack/email account in elasticsearch.yml
    kibana_connector_id: str | None = None  # use this existing Kibana connector

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        for key in ("url", "sender", "smtp_host", "channel", "account", "kibana_connector_id"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.headers:
            out["headers"] = dict(self.headers)
        if self.to:
            out["to"] = list(self.to)
        if self.type == "email":
            out["smtp_port"] = self.smtp_port
            out["smtp_starttls"] = self.smtp_starttls
            if self.smtp_username is not None:
                out["smtp_username"] = self.smtp_username
            if self.smtp_password is not None:
                out["smtp_password"] = self.smtp_password
        return out


@dataclass(frozen=True)
class Rule:
    """One alert rule of one model.

    `threshold` is compared with the rule's value (see KINDS): a rate in [0, 1], a count, a
    latency in ms, or for `prediction_mean` the band (low, high). `min_count` is the smallest
    number of predictions in the window a rate/mean/latency rule needs before it may fire.
    """

    id: str
    kind: str
    model: str
    feature: str | None = None
    feature_type: str | None = None  # oov_rate: categorical (flags) or text (token rates)
    window: str = "15m"
    threshold: float | tuple[float, float] = 0.0
    severity: str = "warning"
    throttle: str = "30m"
    every: str = "1m"
    min_count: int = 0
    destinations: tuple[str, ...] = ("log",)
    enabled: bool = True
    expected_version: str | None = None  # version_change
    max_age: str | None = None  # staleness: a model trained longer ago than this is stale
    description: str = ""

    @property
    def title(self) -> str:
        base = KINDS[self.kind].title
        return f"{base} [{self.feature}]" if self.feature else base

    @property
    def band(self) -> tuple[float, float]:
        if not isinstance(self.threshold, tuple):
            raise RulesError(f"rule {self.id!r}: threshold is not a band")
        return self.threshold

    @property
    def bound(self) -> float:
        if isinstance(self.threshold, tuple):
            raise RulesError(f"rule {self.id!r}: threshold is a band, not a single bound")
        return self.threshold

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "kind": self.kind}
        if self.feature is not None:
            out["feature"] = self.feature
        if self.feature_type is not None:
            out["feature_type"] = self.feature_type
        out["window"] = self.window
        out["threshold"] = (
            list(self.threshold) if isinstance(self.threshold, tuple) else self.threshold
        )
        if self.min_count:
            out["min_count"] = self.min_count
        out.update(severity=self.severity, throttle=self.throttle, every=self.every)
        out["destinations"] = list(self.destinations)
        if not self.enabled:
            out["enabled"] = False
        if self.expected_version is not None:
            out["expected_version"] = self.expected_version
        if self.max_age is not None:
            out["max_age"] = self.max_age
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class RuleSet:
    """Every rule of one model plus the destinations they name."""

    model: str
    rules: tuple[Rule, ...]
    destinations: Mapping[str, Destination] = field(default_factory=dict)
    baseline: str | None = None

    def destination(self, name: str) -> Destination:
        if name in self.destinations:
            return self.destinations[name]
        if name in BUILTIN_DESTINATIONS:
            return Destination(name, name)
        raise RulesError(f"destination {name!r} is not declared under `destinations`")

    def enabled(self) -> list[Rule]:
        return [r for r in self.rules if r.enabled]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION}
        out["model"] = self.model
        if self.baseline:
            out["baseline"] = self.baseline
        out["destinations"] = {n: d.to_dict() for n, d in self.destinations.items()}
        out["rules"] = [r.to_dict() for r in self.rules]
        return out


# --- validation / parsing ---------------------------------------------------------------
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


def _yaml() -> Any:
    try:
        import yaml
    except ImportError:  # pragma: no cover - pyyaml is a dependency
        raise RulesError("reading YAML rule files needs PyYAML (pip install pyyaml)") from None
    return yaml


def load_rules(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> RuleSet:
    """Read a rule file (.yaml/.yml or .json)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"cannot read rule file {p}: {exc.strerror}") from None
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            yaml = _yaml()
            data = yaml.safe_load(text)
    except ValueError as exc:  # json.JSONDecodeError and yaml.YAMLError's messages
        raise RulesError(f"{p} is not valid JSON: {exc}") from None
    except Exception as exc:
        raise RulesError(f"{p} is not valid YAML: {str(exc).splitlines()[0]}") from None
    return rules_from_dict(data, env, str(p))


def dumps_rules(ruleset: RuleSet, fmt: str = "yaml") -> str:
    data = ruleset.to_dict()
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    header = (
        "# predwatch alert rules (predwatch alerts rules ...). Edit thresholds freely;\n"
        "# `${VAR}` in destinations is read from the environment.\n"
    )
    return header + str(_yaml().safe_dump(data, sort_keys=False, allow_unicode=True, width=100))


def save_rules(ruleset: RuleSet, path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(dumps_rules(ruleset, "json" if p.suffix.lower() == ".json" else "yaml"), "utf-8")
    return p


# --- defaults from a baseline -----------------------------------------------------------
DEFAULT_MIN_COUNT = 50
DEFAULT_SIGMA = 4.0  # two-sided normal tail ~6e-5 per check: ~1 false alarm in 11 days at 1/min
DEFAULT_LATENCY_MS = 1000.0
DEFAULT_UNSEEN_RATE = 0.01
DEFAULT_MAX_AGE = "90d"  # set it to the model's retraining cadence
THROTTLE_BY_SEVERITY = {"critical": "15m", "warning": "30m", "info": "2h"}


def spike_threshold(expected: float) -> float:
    """The rate above which an OOV/missing rate counts as a spike over `expected`.

    max(3x expected, expected + 0.05), kept below 1 for large expected rates (halfway to 1).
    """
    expected = min(max(expected, 0.0), 1.0)
    return round(max(expected + 0.05, min(3 * expected, (1 + expected) / 2)), 6)


def default_rules(
    baseline: Baseline,
    model: str | None = None,
    *,
    destinations: Sequence[str] = ("log",),
    min_count: int = DEFAULT_MIN_COUNT,
    sigma: float = DEFAULT_SIGMA,
    latency_ms: float = DEFAULT_LATENCY_MS,
) -> RuleSet:
    """Every rule kind, with thresholds derived from `baseline` (see the README table)."""
    model = schema.validate_model_name(model or baseline.model)
    if model != baseline.model:  # another model's thresholds would be silently wrong
        raise RulesError(
            f"the baseline is for model {baseline.model!r}, not {model!r}; pass the right "
            "--baseline or --model"
        )
    dests = tuple(destinations)
    out: list[Rule] = []

    def add(rule_id: str, kind: str, severity: str, **kw: Any) -> None:
        kw.setdefault("throttle", THROTTLE_BY_SEVERITY[severity])
        out.append(Rule(rule_id, kind, model, severity=severity, destinations=dests, **kw))

    add(
        "drift",
        "drift",
        "warning",
        window="1h",
        every="5m",
        threshold=0.0,
        throttle="1h",
        description="a feature drifted in an analyzer run (predwatch-drift-<model>)",
    )
    add(
        "quality_regression",
        "quality_regression",
        "warning",
        window="1d",
        every="15m",
        threshold=0.0,
        throttle="1d",
        description="a metric regressed in a predwatch quality run (predwatch-drift-<model>)",
    )
    for f in baseline.features:
        expected_missing = f.missing_rate
        add(
            f"missing_rate.{f.name}",
            "missing_rate",
            "critical",
            feature=f.name,
            feature_type=str(f.type),
            threshold=spike_threshold(expected_missing),
            min_count=min_count,
            description=f"training missing rate {expected_missing:.4f}",
        )
        if f.categorical is not None:
            # A truncated vocabulary makes some OOV normal: the values outside the kept
            # vocabulary are at most `other` of n.
            cat = f.categorical
            expected = cat.other / cat.n if cat.vocabulary_truncated and cat.n else 0.0
            add(
                f"oov_rate.{f.name}",
                "oov_rate",
                "warning",
                feature=f.name,
                feature_type="categorical",
                threshold=spike_threshold(expected),
                min_count=min_count,
                description=f"expected OOV rate {expected:.4f}",
            )
            add(
                f"unseen.{f.name}",
                "unseen",
                "info",
                feature=f.name,
                feature_type="categorical",
                threshold=round(max(DEFAULT_UNSEEN_RATE, expected), 6),
                min_count=min_count,
                description="unseen categorical values appear (top values listed)",
            )
        if f.text is not None:
            expected = f.text.expected_oov_rate
            add(
                f"oov_rate.{f.name}",
                "oov_rate",
                "warning",
                feature=f.name,
                feature_type="text",
                threshold=spike_threshold(expected),
                min_count=min_count,
                description=f"expected token OOV rate {expected:.4f} (held-out split)",
            )
    pred = baseline.prediction
    if pred is not None and pred.value is not None and pred.value.n > 1:
        v = pred.value
        if math.isfinite(v.mean) and math.isfinite(v.var):
            n = max(min_count, 1)
            half = sigma * math.sqrt(max(v.var, 0.0) / n)
            if half > 0:
                add(
                    "prediction_mean",
                    "prediction_mean",
                    "warning",
                    threshold=(round(v.mean - half, 9), round(v.mean + half, 9)),
                    min_count=min_count,
                    description=f"baseline mean {v.mean:.6g} +/- {sigma:g} x std/sqrt({n})",
                )
    add(
        "nonfinite",
        "nonfinite",
        "critical",
        threshold=0.0,
        description="NaN/inf in inputs or prediction (monitor.nonfinite)",
    )
    add(
        "version_change",
        "version_change",
        "warning",
        threshold=0.0,
        expected_version=baseline.version,
        description=f"a version other than the baseline's {baseline.version} serves traffic",
    )
    add("multiple_versions", "multiple_versions", "info", threshold=1.0)
    add(
        "dependency_change",
        "dependency_change",
        "warning",
        window="1d",
        every="5m",
        throttle="1d",
        threshold=1.0,
        description="a model version served with another set of packages (or Python)",
    )
    add(
        "model_hash_change",
        "model_hash_change",
        "warning",
        window="1d",
        every="5m",
        throttle="1d",
        threshold=1.0,
        description="a model version served with another model hash (retrained, same version)",
    )
    add(
        "staleness",
        "staleness",
        "warning",
        window="1h",
        every="1h",
        throttle="1d",
        threshold=0.0,
        max_age=DEFAULT_MAX_AGE,
        description="predictions from a model trained more than max_age ago (model.trained_at)",
    )
    add("no_traffic", "no_traffic", "critical", window="10m", threshold=0.0)
    add(
        "latency_p95",
        "latency_p95",
        "warning",
        threshold=latency_ms,
        min_count=20,
        description="the baseline has no latency: set the bound for your service",
    )
    add("deadletter", "deadletter", "warning", threshold=0.0)
    rules = tuple(validate_rule(r) for r in out)
    return RuleSet(model, rules, {}, baseline.id)


def with_destinations(ruleset: RuleSet, destinations: Mapping[str, Destination]) -> RuleSet:
    return replace(ruleset, destinations={**ruleset.destinations, **destinations})
