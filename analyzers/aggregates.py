"""Value objects an analyzer run works on: time windows and what Elasticsearch aggregated
for one window (per-feature bin counts, summaries, category cells, text token sums,
prediction trends, per-version groups, latency percentiles).

Pure: no I/O. `queries.py` builds the requests and parses responses into these objects;
`compare.py` compares two of them. Their size is O(features x bins), never O(rows).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from predwatch.analyzers.stats import Summary
from predwatch.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}

# Labels of the two extra category cells (outside the baseline's top values).
OTHER = "(other)"
UNSEEN = "(unseen)"


MAX_DURATION_S = 100 * 366 * 86400.0  # beyond this, datetimes overflow long before it matters


def parse_duration(text: str) -> dt.timedelta:
    """`15m`, `1h`, `7d`, `90s`, `2w` -> timedelta; ConfigError when malformed or not > 0."""
    m = _DURATION.match(str(text))
    if not m:
        raise ConfigError(
            f"{text!r} is not a duration; write a number and a unit, e.g. 15m, 1h, 7d"
        )
    seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds <= 0:
        raise ConfigError(f"duration {text!r} must be longer than zero")
    if seconds > MAX_DURATION_S:
        raise ConfigError(f"duration {text!r} is longer than 100 years; give a shorter one")
    return dt.timedelta(seconds=seconds)


def format_duration(delta: dt.timedelta) -> str:
    """The shortest exact `<n><unit>` form of `delta` (`3600s` -> `1h`)."""
    ms = round(delta.total_seconds() * 1000)
    for unit, factor in (
        ("w", 604800000),
        ("d", 86400000),
        ("h", 3600000),
        ("m", 60000),
        ("s", 1000),
    ):
        if ms and ms % factor == 0:
            return f"{ms // factor}{unit}"
    return f"{ms}ms"


def parse_time(text: str) -> dt.datetime:
    """An ISO 8601 date or date-time; naive values are UTC. ConfigError when malformed."""
    raw = str(text).strip()
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00") if raw.endswith("Z") else raw)
    except ValueError:
        raise ConfigError(
            f"{text!r} is not an ISO 8601 time; write e.g. 2026-03-01T12:00:00Z"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def iso(t: dt.datetime) -> str:
    """UTC ISO 8601 with millisecond precision and a `Z`."""
    return t.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Window:
    """A half-open UTC time range [start, end)."""

    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value.tzinfo is None:
                object.__setattr__(self, name, value.replace(tzinfo=dt.UTC))
        if not self.end > self.start:
            raise ConfigError(
                f"the window end {iso(self.end)} must be after its start {iso(self.start)}"
            )

    @classmethod
    def ending(cls, end: dt.datetime, length: dt.timedelta) -> Window:
        return cls(end - length, end)

    @classmethod
    def parse_range(cls, text: str) -> Window:
        """`T1..T2` -> Window(T1, T2)."""
        start, sep, end = str(text).partition("..")
        if not sep:
            raise ConfigError(f"{text!r} is not a time range; write START..END in ISO 8601")
        return cls(parse_time(start), parse_time(end))

    @property
    def length(self) -> dt.timedelta:
        return self.end - self.start

    def previous(self) -> Window:
        """The window of the same length right before this one."""
        return Window(self.start - self.length, self.start)

    def to_dict(self) -> dict[str, str]:
        return {"start": iso(self.start), "end": iso(self.end)}


@dataclass(frozen=True)
class NumericAggs:
    """One numeric column in one window: counts per baseline bin and a summary."""

    bins: tuple[float, ...]
    summary: Summary
    total: float  # documents in the window
    missing: float  # documents without a (finite, numeric) value
    out_of_range: float = 0.0  # values outside the baseline's [min, max]
    bin_sums: tuple[float, ...] | None = None  # sum of the values per bin (None: unknown)

    @property
    def n(self) -> float:
        return math.fsum(self.bins)


@dataclass(frozen=True)
class CategoricalAggs:
    """One categorical column in one window, folded onto the baseline's cells.

    `top` counts the baseline's frequent values, `other` the rest of its vocabulary,
    `unseen` the values outside the vocabulary (exact: from complete terms or composite
    paging). `unseen_top` lists the most frequent unseen values, for reports.
    """

    top: Mapping[str, float]
    other: float
    unseen: float
    total: float
    missing: float
    unseen_top: tuple[tuple[str, float], ...] = ()
    note: str = ""
    unseen_known: bool = True  # False: a truncated baseline vocabulary hides the unseen share

    @property
    def n(self) -> float:
        return math.fsum(self.top.values()) + self.other + self.unseen

    def cells(self, *, merge_unseen: bool = False) -> dict[str, float]:
        """Counts per cell: each top value, `(other)` and `(unseen)` (or unseen in other)."""
        out = dict(self.top)
        if merge_unseen:
            out[OTHER] = self.other + self.unseen
        else:
            out[OTHER] = self.other
            out[UNSEEN] = self.unseen
        return out


@dataclass(frozen=True)
class TextAggs:
    """One text column in one window: document and token counts."""

    total: float
    missing: float
    tokens: float  # tokens in all documents with the text
    oov_tokens: float  # of which outside the baseline vocabulary
    length: Summary  # tokens per document
    oov_terms: tuple[tuple[str, float], ...] = ()

    @property
    def n(self) -> float:
        return self.total - self.missing


@dataclass(frozen=True)
class TrendBucket:
    """Basic statistics of the predictions in one time bucket."""

    start: dt.datetime
    count: float
    mean: float | None
    median: float | None
    std: float | None
    min: float | None
    max: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": iso(self.start),
            "count": self.count,
            "mean": self.mean,
            "median": self.median,
            "std": self.std,
            "min": self.min,
            "max": self.max,
        }


@dataclass(frozen=True)
class VersionGroup:
    """Predictions of one model version in the window."""

    version: str
    count: float
    summary: Summary | None  # of prediction.value
    bins: tuple[float, ...]  # prediction.value per baseline bin
    labels: Mapping[str, float]  # prediction.label counts
    trained_at: dt.datetime | None


@dataclass(frozen=True)
class Latency:
    """Latency of the predictions in one window (milliseconds)."""

    count: float
    percentiles: Mapping[str, float | None]  # "50", "90", "95", "99"
    mean: float | None = None
    max: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "mean": self.mean,
            "max": self.max,
            "percentiles": dict(self.percentiles),
        }


@dataclass(frozen=True)
class PredictionAggs:
    """What the predictions looked like in one window."""

    value: NumericAggs | None
    label: CategoricalAggs | None
    median: float | None = None
    nonfinite_docs: float = 0.0  # documents with NaN/inf anywhere
    nonfinite_predictions: float = 0.0  # ... and no prediction value (a regression model)


FeatureAggs = NumericAggs | CategoricalAggs | TextAggs


@dataclass(frozen=True)
class WindowAggregates:
    """Everything the aggregations returned for one window."""

    window: Window | None  # None for a reference derived from the baseline
    total: float
    features: Mapping[str, FeatureAggs]
    prediction: PredictionAggs | None = None
    trend: tuple[TrendBucket, ...] = ()
    trend_interval: str = ""
    versions: tuple[VersionGroup, ...] = ()
    latency: Latency | None = None
    trained_at: dt.datetime | None = None
    notes: tuple[str, ...] = field(default=())
    # `analyze --segment-by`: the same aggregates per (field, segment value); (other) pools
    # every document outside the top segments.
    segments: Mapping[tuple[str, str], WindowAggregates] = field(default_factory=dict)
