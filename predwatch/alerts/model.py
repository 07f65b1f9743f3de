"""The rule model: `Rule`, `Destination`, `RuleSet` (frozen dataclasses) and their dict form
as the rule file holds it. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from predwatch.alerts.kinds import KINDS
from predwatch.errors import PredwatchError

FORMAT = "predwatch-rules"
FORMAT_VERSION = 1

DEST_TYPES = ("webhook", "slack", "email", "log", "stdout")
BUILTIN_DESTINATIONS = ("log", "stdout")


class RulesError(PredwatchError):
    """A rule file or rule that cannot be used (the message names the bad part)."""


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

    def enabled(self, source: str | None = None) -> list[Rule]:
        """The enabled rules; with `source`, only those whose kind's signal lives there."""
        from predwatch.alerts.kinds import KINDS

        return [
            r
            for r in self.rules
            if r.enabled and (source is None or KINDS[r.kind].source == source)
        ]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION}
        out["model"] = self.model
        if self.baseline:
            out["baseline"] = self.baseline
        out["destinations"] = {n: d.to_dict() for n, d in self.destinations.items()}
        out["rules"] = [r.to_dict() for r in self.rules]
        return out
