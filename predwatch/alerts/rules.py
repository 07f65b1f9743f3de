"""Alert rules, declared once per model: the public face of the rule modules (`kinds`,
`model`, `durations`, `validation`, `rulefile`, `defaults`). Pure apart from `load_rules` /
`save_rules`.

File format (YAML or JSON, the same structure; `predwatch alerts rules -o FILE` writes one)::

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

from predwatch.alerts.defaults import (
    DEFAULT_LATENCY_MS,
    DEFAULT_MAX_AGE,
    DEFAULT_MIN_COUNT,
    DEFAULT_SIGMA,
    DEFAULT_UNSEEN_RATE,
    THROTTLE_BY_SEVERITY,
    default_rules,
    spike_threshold,
)
from predwatch.alerts.durations import duration_seconds, split_duration
from predwatch.alerts.kinds import KINDS, SEVERITIES, KindSpec
from predwatch.alerts.model import (
    BUILTIN_DESTINATIONS,
    DEST_TYPES,
    FORMAT,
    FORMAT_VERSION,
    Destination,
    Rule,
    RulesError,
    RuleSet,
)
from predwatch.alerts.rulefile import dumps_rules, load_rules, save_rules
from predwatch.alerts.validation import expand_env, rules_from_dict, validate_rule

__all__ = [
    "BUILTIN_DESTINATIONS",
    "DEFAULT_LATENCY_MS",
    "DEFAULT_MAX_AGE",
    "DEFAULT_MIN_COUNT",
    "DEFAULT_SIGMA",
    "DEFAULT_UNSEEN_RATE",
    "DEST_TYPES",
    "FORMAT",
    "FORMAT_VERSION",
    "KINDS",
    "SEVERITIES",
    "THROTTLE_BY_SEVERITY",
    "Destination",
    "KindSpec",
    "Rule",
    "RuleSet",
    "RulesError",
    "default_rules",
    "dumps_rules",
    "duration_seconds",
    "expand_env",
    "load_rules",
    "rules_from_dict",
    "save_rules",
    "spike_threshold",
    "split_duration",
    "validate_rule",
]
