"""The baseline model: a training-data profile every other part of predwatch reads.

A baseline holds, per feature, what the training data looked like (quantile bins, frequency
tables, token vocabularies, missing rates) plus the model's metadata. The shipper annotates
predictions with it (OOV, out of range), the analyzers compare serving data against it, the
templates and dashboards are generated from it. Plain frozen dataclasses: the file layout and
its validation live in `baseline_format`, disk I/O in `baseline_io`, Elasticsearch storage in
`baseline_store`; `predwatch.baseline` is the public face of all of them.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from predwatch import schema
from predwatch.baseline_checks import Invalid, read_estimation, read_metrics
from predwatch.errors import PredwatchError

FORMAT = "predwatch-baseline"
FORMAT_VERSION = 1
DEFAULT_TOKEN_PATTERN = r"[a-z0-9']+"
PredictionKind = Literal["regression", "classification"]
KINDS: tuple[str, ...] = ("regression", "classification")


class BaselineError(PredwatchError):
    """A baseline that cannot be built, read or used (the message names the bad part)."""


def category_key(value: Any) -> str | None:
    """The canonical string of a categorical value, or None when it counts as missing.

    The same rule must be applied when building a baseline and when annotating a
    prediction: booleans become "true"/"false" (what Elasticsearch indexes for a JSON
    boolean in a keyword field), integral floats lose their ".0" (CSV readers turn an int
    column with gaps into floats), None/NaN/"" are missing.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):  # numpy float64 included (a float subclass)
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() else repr(float(value))
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) == 0:  # other numpy scalars
        return category_key(item())
    return str(value)


@dataclass(frozen=True)
class Tokenizer:
    """How text is cut into tokens: every match of `pattern` (after lower-casing)."""

    pattern: str = DEFAULT_TOKEN_PATTERN
    lowercase: bool = True

    def __post_init__(self) -> None:
        try:
            compiled = re.compile(self.pattern)
        except re.error as exc:
            raise BaselineError(f"token pattern {self.pattern!r} is not a regex: {exc}") from None
        if compiled.groups:
            raise BaselineError(
                f"token pattern {self.pattern!r} has capturing groups; use (?:...) instead"
            )

    @cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.pattern)

    def tokens(self, text: str) -> list[str]:
        """The tokens of `text` in order (duplicates kept)."""
        return self.regex.findall(text.lower() if self.lowercase else text)


@dataclass(frozen=True)
class NumericProfile:
    """Quantile bins and summary statistics of one numeric column.

    `edges` are the INNER edges e1 < ... < e(K-1) of K bins (-inf,e1), [e1,e2), ...,
    [e(K-1),+inf): the buckets of an ES `range` agg {"to":e1}, {"from":e1,"to":e2}, ...
    """

    edges: tuple[float, ...]
    counts: tuple[float, ...]
    mean: float
    var: float
    min: float
    max: float
    n: int
    # Mean of the values in each bin (NaN for an empty bin); None in baselines written before
    # predwatch recorded it. Wasserstein places each bin's mass there: midpoints misplace the
    # open tail bins of heavy-tailed columns.
    bin_means: tuple[float, ...] | None = None

    @property
    def bin_sums(self) -> tuple[float, ...] | None:
        """Sum of the values in each bin (0 for an empty one), or None when unknown."""
        if self.bin_means is None:
            return None
        return tuple(
            c * m if c > 0 and math.isfinite(m) else 0.0
            for c, m in zip(self.counts, self.bin_means, strict=True)
        )

    def range_buckets(self) -> list[dict[str, float]]:
        """The `ranges` of an Elasticsearch `range` aggregation with exactly these bins."""
        if not self.edges:
            return [{}]
        out: list[dict[str, float]] = [{"to": self.edges[0]}]
        out += [{"from": a, "to": b} for a, b in zip(self.edges, self.edges[1:], strict=False)]
        out.append({"from": self.edges[-1]})
        return out


@dataclass(frozen=True)
class CategoricalProfile:
    """Frequency table (top-K + `other`) and the vocabulary of one categorical column.

    `vocabulary_truncated` is True when more distinct values were seen than the cap kept:
    then a value outside `vocabulary` may still have occurred in training.
    `singletons` counts the values seen exactly once (None in baselines written before it
    was recorded): singletons / n is the Good-Turing estimate of the share of serving values
    that are outside the vocabulary when nothing changed (`unseen_share`).
    """

    frequencies: dict[str, int]
    other: int
    vocabulary: frozenset[str]
    n: int
    vocabulary_truncated: bool = False
    singletons: int | None = None

    @property
    def unseen_share(self) -> float | None:
        """Expected share of unseen values with no drift (None when it cannot be known)."""
        if self.vocabulary_truncated or self.n <= 0:
            return None
        ones = self.singletons
        if ones is None and len(self.frequencies) == len(self.vocabulary):
            ones = sum(1 for c in self.frequencies.values() if c == 1)
        return None if ones is None else ones / self.n


@dataclass(frozen=True)
class TextProfile:
    """Token vocabulary, expected OOV rate (held-out split) and document lengths in tokens."""

    tokenizer: Tokenizer
    vocabulary: dict[str, int]
    expected_oov_rate: float
    length: NumericProfile
    n: int


@dataclass(frozen=True)
class FeatureProfile:
    name: str
    type: schema.FeatureType
    count: int
    missing: int
    numeric: NumericProfile | None = None
    categorical: CategoricalProfile | None = None
    text: TextProfile | None = None

    @property
    def missing_rate(self) -> float:
        return self.missing / self.count if self.count else 0.0


@dataclass(frozen=True)
class PredictionProfile:
    kind: PredictionKind
    value: NumericProfile | None = None
    label: CategoricalProfile | None = None
    classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SegmentProfile:
    """The training rows of one segment (`baseline build --segment-by`), profiled on the
    baseline's own bins and frequency table so serving segments fold onto the same cells."""

    value: str
    rows: int
    features: tuple[FeatureProfile, ...]  # numeric and categorical features only
    prediction: PredictionProfile | None = None


@dataclass(frozen=True)
class SegmentProfiles:
    """The top segments of one field by training rows; the last one, "(other)", pools the rest
    (other values and rows without the field)."""

    field: str
    segments: tuple[SegmentProfile, ...]


@dataclass(frozen=True)
class Baseline:
    model: str
    version: str
    trained_at: str | None
    hash: str | None
    created_at: str
    rows: int
    features: tuple[FeatureProfile, ...]
    prediction: PredictionProfile | None = None
    metrics: dict[str, float] = field(default_factory=dict)  # held-out quality metrics
    metrics_rows: int | None = None  # rows the metrics were measured on
    # Calibration map and reference metrics for `quality --estimate` (baseline_checks)
    estimation: dict[str, Any] | None = None
    segments: tuple[SegmentProfiles, ...] = ()  # per-segment profiles (skew by segment)

    def __post_init__(self) -> None:
        try:
            read_metrics(self.metrics, self.metrics_rows)
            read_estimation(self.estimation)
        except Invalid as exc:
            raise BaselineError(f"baseline {self.id}: {exc}") from None

    @property
    def id(self) -> str:
        return f"{self.model}@{self.version}"

    def __hash__(self) -> int:
        # The generated hash would fail on the dicts inside; equal baselines share these.
        return hash((self.model, self.version, self.created_at, self.rows))

    @cached_property
    def _by_name(self) -> dict[str, FeatureProfile]:
        return {f.name: f for f in self.features}

    def feature(self, name: str) -> FeatureProfile | None:
        """The profile of feature `name`, or None when the baseline does not have it."""
        return self._by_name.get(name)

    def schema_features(self) -> list[schema.Feature]:
        return [schema.Feature(f.name, f.type) for f in self.features]

    @property
    def classes(self) -> tuple[str, ...]:
        return self.prediction.classes if self.prediction else ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON layout of the baseline file (`baseline_format`)."""
        # Imported here: baseline_format builds these dataclasses, so it imports this module.
        from predwatch.baseline_format import baseline_to_dict

        return baseline_to_dict(self)

    @classmethod
    def from_dict(cls, d: Any, source: str = "baseline") -> Baseline:
        """Validate and read a baseline dict; BaselineError names the path of a bad field."""
        from predwatch.baseline_format import read_baseline

        return read_baseline(d, source)


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
