"""The prediction document contract: field names, name rules, index names and mappings.

Everything that reads or writes predwatch documents (shipper, templates, dashboards,
watches, analyzers) takes field names from here, so a rename happens in one place.
Pure: no I/O.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from predwatch.errors import PredwatchError

SCHEMA_VERSION = 1

# --- field names (docs/architecture.md "The prediction document") ---------------------
TIMESTAMP = "@timestamp"
PREDICTION_ID = "prediction_id"
MODEL_NAME = "model.name"
MODEL_VERSION = "model.version"
MODEL_HASH = "model.hash"
MODEL_TRAINED_AT = "model.trained_at"
SERVICE_NAME = "service.name"
SERVICE_VERSION = "service.version"
SERVICE_ENVIRONMENT = "service.environment"
HOST_NAME = "host.name"
PROCESS_PID = "process.pid"  # ECS: which worker process of a multi-worker app logged it
INPUTS = "inputs"
FEATURES = "features"  # served (computed) feature values, for feature-computation skew
PREDICTION_VALUE = "prediction.value"
PREDICTION_LABEL = "prediction.label"
PREDICTION_SCORES = "prediction.scores"
PREDICTION = "prediction"  # the object holding value / label / scores
LATENCY_MS = "latency_ms"
PYTHON_VERSION = "python.version"  # deployments index
PACKAGES = "packages"  # deployments index: packages.<distribution> = version
FINGERPRINT = "fingerprint"  # deployments index: hash of the installed packages
OUTCOME_VALUE = "outcome.value"  # ground truth (outcomes index): a number ...
OUTCOME_LABEL = "outcome.label"  # ... or a class
OUTCOME = "outcome"  # the object holding value / label
LABELS = "labels"  # free-form context (ECS labels: keywords)
MESSAGE = "message"  # the log record's message, when the prediction came through logging
LOG_LOGGER = "log.logger"
LOG_LEVEL = "log.level"
MISSING = "monitor.missing"
OOV = "monitor.oov"
UNSEEN = "monitor.unseen"
OUT_OF_RANGE = "monitor.out_of_range"
TEXT = "monitor.text"
TEXT_TOKENS = "tokens"
TEXT_OOV_TOKENS = "oov_tokens"
TEXT_OOV_RATE = "oov_rate"
TEXT_OOV_TERMS = "oov_terms"
NONFINITE = "monitor.nonfinite"
TRUNCATED = "monitor.truncated"  # 0/1: a string, a name or a container was cut
UNSERIALIZABLE = "monitor.unserializable"  # count of values stored as text or a placeholder
UNINDEXED_COUNT = "monitor.unindexed_count"  # count of values moved under UNINDEXED
# Values past the per-document field cap: kept in _source, never mapped (see mappings).
UNINDEXED = "unindexed"
MISSING_COUNT = "monitor.missing_count"
OOV_COUNT = "monitor.oov_count"
BASELINE = "monitor.baseline"

INDEX_PREFIX = "predwatch"
KINDS = ("predictions", "outcomes", "drift", "baselines", "deadletter", "alerts", "deployments")
DAILY_KINDS = ("predictions", "outcomes")  # one index per model and UTC day
PER_MODEL_KINDS = ("predictions", "outcomes", "drift")

MAX_MODEL_NAME = 48
MAX_FEATURE_NAME = 200
MAX_FEATURES = 2000
KEYWORD_IGNORE_ABOVE = 1024
TEXT_KEYWORD_IGNORE_ABOVE = 256
# index.mapping.total_fields.limit of the generic template (Elasticsearch's default);
# configurable with PREDWATCH_TOTAL_FIELDS_LIMIT / --total-fields-limit.
DEFAULT_TOTAL_FIELDS_LIMIT = 1000
# Free-form field names (keys of inputs, features, labels, nested mappings) are cut to this
# many characters: a name Elasticsearch lists in `_ignored` (a malformed value, a field past
# the limit) must stay under Lucene's 32,766-byte term limit, or the whole document fails.
MAX_FIELD_NAME = 256
EMPTY_NAME = "(empty)"  # a key that is "" or only white space
# Fields one feature costs in the mapping (input + monitor flags), used to size
# index.mapping.total_fields.limit for wide models.
FIELDS_PER_FEATURE = {"numeric": 3, "categorical": 4, "text": 7}


class SchemaError(PredwatchError, ValueError):
    """A name or a baseline that cannot be turned into predwatch documents or mappings."""


class FeatureType(StrEnum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    TEXT = "text"


@dataclass(frozen=True)
class Feature:
    name: str
    type: FeatureType


# --- names ----------------------------------------------------------------------------
_MODEL_RE = re.compile(r"^[a-z0-9_]+$")
_BAD_FEATURE_CHARS = re.compile(r'[*?"\\#\x00-\x1f\x7f]')


def suggest_model_name(name: str) -> str:
    """The closest valid model name: lower case, anything else becomes `_`."""
    return re.sub(r"[^a-z0-9_]+", "_", name.strip().lower()).strip("_")[:MAX_MODEL_NAME]


def validate_model_name(name: str) -> str:
    """Return `name` if it is a valid model name, else raise SchemaError saying why."""
    if not isinstance(name, str) or not name:
        raise SchemaError("model name is empty; use lower-case letters, digits and _")
    if len(name) > MAX_MODEL_NAME:
        raise SchemaError(f"model name {name!r} is longer than {MAX_MODEL_NAME} characters")
    if not _MODEL_RE.match(name):
        hint = suggest_model_name(name)
        raise SchemaError(
            f"model name {name!r} may only contain a-z, 0-9 and _ (the hyphen separates the "
            f"parts of index names)" + (f"; try {hint!r}" if hint else "")
        )
    return name


def validate_feature_name(name: str) -> str:
    """Return `name` if Elasticsearch and Kibana can hold it as a field, else raise SchemaError.

    Dots, spaces and capitals are kept as they are: `inputs` and the `monitor.*` objects
    are mapped with `subobjects: false`, so `user.age` stays one leaf field.
    """
    if not isinstance(name, str) or not name.strip():
        raise SchemaError("feature name is empty or blank")
    if len(name) > MAX_FEATURE_NAME:
        raise SchemaError(
            f"feature name {name[:40]!r}... is {len(name)} characters; the limit is "
            f"{MAX_FEATURE_NAME}"
        )
    if name != name.strip():
        raise SchemaError(f"feature name {name!r} starts or ends with white space")
    if name.startswith(".") or name.endswith(".") or ".." in name:
        raise SchemaError(
            f"feature name {name!r} has an empty part between dots; Elasticsearch cannot map it"
        )
    bad = _BAD_FEATURE_CHARS.search(name)
    if bad:
        raise SchemaError(
            f"feature name {name!r} contains {bad.group()!r}; wildcards, quotes, backslashes, "
            "'#' and control characters are not allowed in field names"
        )
    return name


def validate_features(features: Iterable[Feature]) -> list[Feature]:
    """Validate every feature name, reject duplicates and too-wide models."""
    out: list[Feature] = []
    seen: set[str] = set()
    for f in features:
        validate_feature_name(f.name)
        if f.name in seen:
            raise SchemaError(f"feature {f.name!r} appears twice")
        seen.add(f.name)
        out.append(Feature(f.name, FeatureType(f.type)))
    if len(out) > MAX_FEATURES:
        raise SchemaError(
            f"{len(out)} features is more than the {MAX_FEATURES} predwatch maps; exclude some "
            "(--exclude) or log them under `features` instead of `inputs`"
        )
    return out


# --- index names ----------------------------------------------------------------------
def index_name(kind: str, model: str | None = None, when: dt.datetime | None = None) -> str:
    """Concrete index name, e.g. `predwatch-predictions-credit-2026.11.27` (UTC day of `when`)."""
    if kind not in KINDS:
        raise SchemaError(f"unknown index kind {kind!r}; one of {', '.join(KINDS)}")
    if kind not in PER_MODEL_KINDS:
        return f"{INDEX_PREFIX}-{kind}"
    validate_model_name(model or "")
    if kind not in DAILY_KINDS:
        return f"{INDEX_PREFIX}-{kind}-{model}"
    if when is None:
        raise SchemaError(f"{kind} indices are daily: an event time is needed")
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return f"{INDEX_PREFIX}-{kind}-{model}-{when.astimezone(dt.UTC):%Y.%m.%d}"


def index_pattern(kind: str, model: str | None = None) -> str:
    """Pattern matching every index of `kind` (for one model, or all models with None)."""
    if kind not in KINDS:
        raise SchemaError(f"unknown index kind {kind!r}; one of {', '.join(KINDS)}")
    if kind not in PER_MODEL_KINDS:
        return f"{INDEX_PREFIX}-{kind}"
    if model is None:
        return f"{INDEX_PREFIX}-{kind}-*"
    validate_model_name(model)
    if kind in DAILY_KINDS:
        return f"{INDEX_PREFIX}-{kind}-{model}-*"
    return f"{INDEX_PREFIX}-{kind}-{model}"


MAX_WINDOW_INDICES = 200  # names per window before falling back to the model's pattern


def window_indices(kind: str, model: str, start: dt.datetime, end: dt.datetime) -> list[str]:
    """The daily indices that can hold `model`'s `kind` documents of [start, end): the
    index of each UTC day the window touches (`index_name` names a document's index after
    its own timestamp's day), a whole month as `...-YYYY.MM.*` and a whole year as
    `...-YYYY.*`; the model's pattern past MAX_WINDOW_INDICES names. Search them with
    `ignore_unavailable`: a day without documents has no index.

    Naming them spares Elasticsearch the other days' shards: a search on the pattern goes
    to every daily index, and each costs a shard request even when none of its documents
    is in the window (a one-day window among 273 daily indices: 13 ms against 1 ms)."""
    if kind not in DAILY_KINDS:
        raise SchemaError(f"{kind} indices are not daily: use index_name")
    prefix = index_pattern(kind, model)[:-1]  # "predwatch-<kind>-<model>-"
    last = (end.astimezone(dt.UTC) - dt.timedelta(microseconds=1)).date()
    day = start.astimezone(dt.UTC).date()
    out: list[str] = []
    while day <= last:
        month_end = dt.date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
        if day.month == 1 and day.day == 1 and dt.date(day.year, 12, 31) <= last:
            out.append(f"{prefix}{day:%Y}.*")
            through = dt.date(day.year, 12, 31)
        elif day.day == 1 and month_end <= last:
            out.append(f"{prefix}{day:%Y.%m}.*")
            through = month_end
        else:
            out.append(f"{prefix}{day:%Y.%m.%d}")
            through = day
        if len(out) > MAX_WINDOW_INDICES:
            return [index_pattern(kind, model)]
        if through == last:
            break
        day = through + dt.timedelta(days=1)
    return out


# --- document helpers -----------------------------------------------------------------
def set_path(doc: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `value` at a dotted path of nested dicts (for the fixed, dot-free common fields)."""
    parts = dotted.split(".")
    cur = doc
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = value


def get_path(doc: Mapping[str, Any], dotted: str, default: Any = None) -> Any:
    cur: Any = doc
    for p in dotted.split("."):
        if not isinstance(cur, Mapping) or p not in cur:
            return default
        cur = cur[p]
    return cur


def free_field_name(text: str) -> tuple[str, bool]:
    """A key of a free-form mapping as Elasticsearch can index it, and whether it was cut.

    Dots, spaces, capitals and any other characters are kept (the free-form objects are
    mapped with `subobjects: false`). Only what Elasticsearch refuses changes: "" and
    white-space-only keys become `(empty)`; keys longer than `MAX_FIELD_NAME` are cut.
    """
    cut = len(text) > MAX_FIELD_NAME
    if cut:
        text = text[:MAX_FIELD_NAME]
    if not text or text.isspace():
        return EMPTY_NAME, cut
    return text, cut


def unique_field_name(name: str, taken: Container[str]) -> str:
    """`name`, or when it is taken `name (2)`, `name (3)`, ...: colliding keys keep their values."""
    if name not in taken:
        return name
    n = 2
    while f"{name} ({n})" in taken:
        n += 1
    return f"{name} ({n})"


def text_field(feature: str, part: str) -> str:
    """Full field name of one text-monitoring value, e.g. `monitor.text.comment.oov_rate`."""
    return f"{TEXT}.{feature}.{part}"


def feature_field(group: str, feature: str) -> str:
    """Full field name of `feature` under `group` (INPUTS, MISSING, OOV, ...)."""
    return f"{group}.{feature}"
