"""Elasticsearch-style durations (`30s`, `15m`, `2h`, `1d`) of rule windows, throttles and
schedules."""

from __future__ import annotations

import re

from predwatch.alerts.model import RulesError

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
