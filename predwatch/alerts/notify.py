"""Deliver an alert to a destination: webhook (JSON POST), Slack incoming webhook, email
(SMTP), the `predwatch.alerts` logger, or stdout. Each sender returns nothing and raises
`DeliveryError` with a one-line reason; the runner decides what a failure means.
"""

from __future__ import annotations

import contextlib
import json
import logging
import smtplib
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, TextIO

import requests

from predwatch.alerts.model import Destination
from predwatch.errors import PredwatchError

log = logging.getLogger("predwatch.alerts")
LEVELS = {"critical": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO}
TIMEOUT_S = 10.0


class DeliveryError(PredwatchError):
    """A notification could not be delivered."""


@dataclass(frozen=True)
class Alert:
    """What is sent: one rule's state change (fired or resolved)."""

    rule_id: str
    kind: str
    model: str
    title: str
    severity: str
    status: str  # fired | resolved
    value: float | None
    threshold: float
    window: str
    message: str
    time: str
    feature: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": "predwatch",
            "time": self.time,
            "model": self.model,
            "rule": {
                "id": self.rule_id,
                "kind": self.kind,
                "name": self.title,
                "feature": self.feature,
            },
            "severity": self.severity,
            "status": self.status,
            "value": self.value,
            "threshold": self.threshold,
            "window": self.window,
            "message": self.message,
            "details": self.details,
        }

    def line(self) -> str:
        return f"[{self.severity}] {self.status.upper()} predwatch {self.model}: {self.message}"


def _post(url: str, payload: dict[str, Any], headers: dict[str, str], what: str) -> None:
    try:
        resp = requests.post(
            url,
            data=json.dumps(payload, default=str),
            headers={"Content-Type": "application/json", **headers},
            timeout=TIMEOUT_S,
        )
    except requests.RequestException as exc:
        raise DeliveryError(f"{what}: {type(exc).__name__}") from None
    if resp.status_code >= 300:
        raise DeliveryError(f"{what}: HTTP {resp.status_code} {resp.text[:200]}")


def send_webhook(dest: Destination, alert: Alert) -> None:
    _post(dest.url or "", alert.to_dict(), dict(dest.headers), f"webhook {dest.name}")


def send_slack(dest: Destination, alert: Alert) -> None:
    icon = {"critical": ":red_circle:", "warning": ":warning:", "info": ":information_source:"}
    mark = ":white_check_mark:" if alert.status == "resolved" else icon[alert.severity]
    payload: dict[str, Any] = {"text": f"{mark} {alert.line()}"}
    if dest.channel:
        payload["channel"] = dest.channel
    _post(dest.url or "", payload, dict(dest.headers), f"slack {dest.name}")


def send_email(dest: Destination, alert: Alert) -> None:
    msg = EmailMessage()
    msg["Subject"] = f"[{alert.severity}] {alert.status} predwatch {alert.model}: {alert.title}"
    msg["From"] = dest.sender or "predwatch@localhost"
    msg["To"] = ", ".join(dest.to)
    msg.set_content(alert.line() + "\n\n" + json.dumps(alert.to_dict(), indent=2, default=str))
    host = dest.smtp_host or "localhost"
    try:
        with smtplib.SMTP(host, dest.smtp_port, timeout=TIMEOUT_S) as smtp:
            if dest.smtp_starttls:
                smtp.starttls()
            if dest.smtp_username and dest.smtp_password:
                smtp.login(dest.smtp_username, dest.smtp_password)
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"email {dest.name} via {host}:{dest.smtp_port}: {exc}") from None


def send_log(dest: Destination, alert: Alert) -> None:
    level = logging.INFO if alert.status == "resolved" else LEVELS[alert.severity]
    log.log(level, alert.line(), extra={"predwatch_alert": alert.to_dict()})


@contextlib.contextmanager
def log_to_stderr() -> Iterator[None]:
    """While running a CLI command: the `log` destination prints every alert, info-severity
    and resolved notices included, on stderr. Nobody configures logging in the `predwatch`
    process, so without this only WARNING and above would show (Python's last resort)
    while the command says the alert was delivered. A logger the embedding application has
    given handlers is left alone."""
    if log.handlers:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    level, propagate = log.level, log.propagate
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False  # printed once, here, not again by a root handler
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
        log.propagate = propagate


def send_stdout(dest: Destination, alert: Alert, stream: TextIO | None = None) -> None:
    print(alert.line(), file=stream or sys.stdout, flush=True)


SENDERS = {
    "webhook": send_webhook,
    "slack": send_slack,
    "email": send_email,
    "log": send_log,
    "stdout": send_stdout,
}


def deliver(dest: Destination, alert: Alert) -> None:
    SENDERS[dest.type](dest, alert)
