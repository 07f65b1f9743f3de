"""The baseline: a training-data profile every other part of predwatch reads.

A baseline holds, per feature, what the training data looked like (quantile bins, frequency
tables, token vocabularies, missing rates) plus the model's metadata. The shipper annotates
predictions with it (OOV, out of range), the analyzers compare serving data against it, the
templates and dashboards are generated from it.

JSON layout (``format_version`` 1)::

    {"format": "predwatch-baseline", "format_version": 1,
     "model": {"name", "version", "trained_at", "hash"}, "created_at", "rows",
     "features": [{"name", "type", "count", "missing", "numeric"|"categorical"|"text": {...}}],
     "prediction": {"kind", "value", "label", "classes"} | null,
     "metrics": {"roc_auc": 0.93, ...}, "metrics_rows": 5000}   # both optional

`metrics` are the model's held-out quality metrics (names as `predwatch quality` uses them:
accuracy, precision, recall, f1, roc_auc, log_loss, mae, rmse, r2), `metrics_rows` the rows
they were measured on; `predwatch quality --reference baseline` compares against them.

Non-finite floats (the mean of an all-missing column, the variance of one value) are written
as ``null`` and read back as NaN, so the file is strict JSON. Pure: only `load_baseline` and
`save_baseline` touch the disk; Elasticsearch storage lives in `predwatch.baseline_store`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from predwatch import schema
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

    def __post_init__(self) -> None:
        try:
            _read_metrics(self.metrics, self.metrics_rows)
        except _Bad as exc:
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
        out: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model": {
                "name": self.model,
                "version": self.version,
                "trained_at": self.trained_at,
                "hash": self.hash,
            },
            "created_at": self.created_at,
            "rows": self.rows,
            "features": [_feature_to_dict(f) for f in self.features],
            "prediction": _prediction_to_dict(self.prediction) if self.prediction else None,
        }
        # Written only when present, so files without metrics stay byte-identical.
        if self.metrics:
            out["metrics"] = {k: float(v) for k, v in sorted(self.metrics.items())}
        if self.metrics_rows is not None:
            out["metrics_rows"] = self.metrics_rows
        return out

    @classmethod
    def from_dict(cls, d: Any, source: str = "baseline") -> Baseline:
        """Validate and read a baseline dict; BaselineError names the path of a bad field."""
        return _read_baseline(d, source)


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def check_metrics(metrics: Any, rows: Any = None) -> tuple[dict[str, float], int | None]:
    """Validated held-out metrics and row count (BaselineError names the bad one)."""
    try:
        return _read_metrics(metrics, rows)
    except _Bad as exc:
        raise BaselineError(str(exc)) from None


def save_baseline(baseline: Baseline, path: str | os.PathLike[str]) -> Path:
    """Write `baseline` as strict JSON, atomically (a reader never sees half a file)."""
    target = Path(path)
    text = json.dumps(baseline.to_dict(), allow_nan=False, ensure_ascii=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    # A unique sibling opened with "x" (not mkstemp) so the file gets the usual umask mode.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tmp.open("x", encoding="utf-8") as fh:
            fh.write(text + "\n")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def load_baseline(path: str | os.PathLike[str]) -> Baseline:
    """Read and validate a baseline file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise BaselineError(f"baseline file {p} does not exist") from None
    except OSError as exc:
        raise BaselineError(f"cannot read baseline file {p}: {exc.strerror}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BaselineError(f"{p} is not JSON: it is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{p} is not JSON: {exc.msg} (line {exc.lineno})") from None
    return Baseline.from_dict(data, source=str(p))


# --- to dict --------------------------------------------------------------------------
def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _numeric_to_dict(p: NumericProfile) -> dict[str, Any]:
    return {
        "edges": [float(e) for e in p.edges],
        "counts": [float(c) for c in p.counts],
        "mean": _num(p.mean),
        "var": _num(p.var),
        "min": _num(p.min),
        "max": _num(p.max),
        "n": p.n,
        **({} if p.bin_means is None else {"bin_means": [_num(m) for m in p.bin_means]}),
    }


def _categorical_to_dict(p: CategoricalProfile) -> dict[str, Any]:
    freq = sorted(p.frequencies.items(), key=lambda kv: (-kv[1], kv[0]))
    return {
        "frequencies": dict(freq),
        "other": p.other,
        "vocabulary": sorted(p.vocabulary),
        "vocabulary_truncated": p.vocabulary_truncated,
        "n": p.n,
        **({} if p.singletons is None else {"singletons": p.singletons}),
    }


def _text_to_dict(p: TextProfile) -> dict[str, Any]:
    vocab = sorted(p.vocabulary.items(), key=lambda kv: (-kv[1], kv[0]))
    return {
        "tokenizer": {"pattern": p.tokenizer.pattern, "lowercase": p.tokenizer.lowercase},
        "vocabulary": dict(vocab),
        "expected_oov_rate": p.expected_oov_rate,
        "length": _numeric_to_dict(p.length),
        "n": p.n,
    }


def _feature_to_dict(f: FeatureProfile) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": f.name,
        "type": str(f.type),
        "count": f.count,
        "missing": f.missing,
    }
    if f.numeric is not None:
        out["numeric"] = _numeric_to_dict(f.numeric)
    if f.categorical is not None:
        out["categorical"] = _categorical_to_dict(f.categorical)
    if f.text is not None:
        out["text"] = _text_to_dict(f.text)
    return out


def _prediction_to_dict(p: PredictionProfile) -> dict[str, Any]:
    return {
        "kind": p.kind,
        "value": _numeric_to_dict(p.value) if p.value else None,
        "label": _categorical_to_dict(p.label) if p.label else None,
        "classes": list(p.classes),
    }


# --- from dict (validating) -----------------------------------------------------------
class _Bad(Exception):
    """Internal: a validation failure at `path`."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")


_JSON_TYPES: dict[type, str] = {dict: "object", list: "array", str: "string"}


def _type_name(v: Any) -> str:
    return "null" if v is None else _JSON_TYPES.get(type(v), type(v).__name__)


def _get(d: Mapping[str, Any], key: str, path: str, *, optional: bool = False) -> Any:
    if key not in d:
        if optional:
            return None
        raise _Bad(f"{path}.{key}" if path else key, "is missing")
    return d[key]


def _obj(v: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(v, dict):
        raise _Bad(path, f"expected an object, got {_type_name(v)}")
    return v


def _str(v: Any, path: str, *, nullable: bool = False) -> str | None:
    if v is None and nullable:
        return None
    if not isinstance(v, str) or not v:
        raise _Bad(path, f"expected a non-empty string, got {_type_name(v)}")
    return v


def _iso(v: Any, path: str, *, nullable: bool = False) -> str | None:
    s = _str(v, path, nullable=nullable)
    if s is not None:
        try:
            dt.datetime.fromisoformat(s)
        except ValueError:
            raise _Bad(path, f"{s!r} is not an ISO 8601 date/time") from None
    return s


def _int(v: Any, path: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise _Bad(path, f"expected a count, got {_type_name(v)}")
    if not math.isfinite(v) or v < 0 or not float(v).is_integer():
        raise _Bad(path, f"expected a non-negative whole number, got {v!r}")
    return int(v)


def _float(v: Any, path: str, *, nullable: bool = False) -> float:
    if v is None and nullable:
        return math.nan
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise _Bad(path, f"expected a finite number, got {v!r}")
    return float(v)


def _floats(v: Any, path: str, expected: int | None = None) -> tuple[float, ...]:
    if not isinstance(v, list):
        raise _Bad(path, f"expected an array of numbers, got {_type_name(v)}")
    if expected is not None and len(v) != expected:
        raise _Bad(path, f"expected {expected} numbers, got {len(v)}")
    return tuple(_float(x, f"{path}[{i}]") for i, x in enumerate(v))


def _same_n(total: float, n: int, path: str, what: str) -> None:
    if abs(total - n) > 1e-6 * max(1.0, n) + 1e-9:
        raise _Bad(path, f"{what} add up to {total:g} but n is {n}")


def _read_numeric(v: Any, path: str) -> NumericProfile:
    d = _obj(v, path)
    edges = _floats(_get(d, "edges", path), f"{path}.edges")
    for i in range(1, len(edges)):
        if not edges[i] > edges[i - 1]:
            raise _Bad(f"{path}.edges[{i}]", "edges must be strictly increasing")
    counts = _floats(_get(d, "counts", path), f"{path}.counts", len(edges) + 1)
    if any(c < 0 for c in counts):
        raise _Bad(f"{path}.counts", "counts must not be negative")
    n = _int(_get(d, "n", path), f"{path}.n")
    _same_n(math.fsum(counts), n, f"{path}.counts", "counts")
    stats = {
        k: _float(_get(d, k, path), f"{path}.{k}", nullable=True)
        for k in ("mean", "var", "min", "max")
    }
    if n and not (stats["min"] <= stats["max"]):
        raise _Bad(f"{path}.min", f"min {stats['min']!r} is not <= max {stats['max']!r}")
    if stats["var"] < 0:
        raise _Bad(f"{path}.var", "variance must not be negative")
    means_raw = _get(d, "bin_means", path, optional=True)
    means = None
    if means_raw is not None:
        if not isinstance(means_raw, list) or len(means_raw) != len(counts):
            raise _Bad(f"{path}.bin_means", f"expected {len(counts)} numbers or nulls")
        means = tuple(
            _float(m, f"{path}.bin_means[{i}]", nullable=True) for i, m in enumerate(means_raw)
        )
    return NumericProfile(edges=edges, counts=counts, n=n, **stats, bin_means=means)


def _read_categorical(v: Any, path: str) -> CategoricalProfile:
    d = _obj(v, path)
    freq_raw = _obj(_get(d, "frequencies", path), f"{path}.frequencies")
    freq = {str(k): _int(c, f"{path}.frequencies[{k!r}]") for k, c in freq_raw.items()}
    other = _int(_get(d, "other", path), f"{path}.other")
    vocab_raw = _get(d, "vocabulary", path)
    if not isinstance(vocab_raw, list) or not all(isinstance(x, str) for x in vocab_raw):
        raise _Bad(f"{path}.vocabulary", "expected an array of strings")
    vocab = frozenset(vocab_raw)
    missing = sorted(set(freq) - vocab)
    if missing:
        raise _Bad(f"{path}.vocabulary", f"lacks frequent value {missing[0]!r}")
    n = _int(_get(d, "n", path), f"{path}.n")
    _same_n(sum(freq.values()) + other, n, f"{path}.frequencies", "frequencies + other")
    truncated = _get(d, "vocabulary_truncated", path, optional=True) or False
    if not isinstance(truncated, bool):
        raise _Bad(f"{path}.vocabulary_truncated", "expected true or false")
    ones_raw = _get(d, "singletons", path, optional=True)
    ones = None if ones_raw is None else _int(ones_raw, f"{path}.singletons")
    if ones is not None and ones > min(n, len(vocab)):
        raise _Bad(f"{path}.singletons", f"{ones} values seen once exceed the vocabulary")
    return CategoricalProfile(freq, other, vocab, n, truncated, ones)


def _read_text(v: Any, path: str) -> TextProfile:
    d = _obj(v, path)
    tok = _obj(_get(d, "tokenizer", path), f"{path}.tokenizer")
    pattern = _str(_get(tok, "pattern", f"{path}.tokenizer"), f"{path}.tokenizer.pattern")
    lower = _get(tok, "lowercase", f"{path}.tokenizer")
    if not isinstance(lower, bool):
        raise _Bad(f"{path}.tokenizer.lowercase", "expected true or false")
    try:
        tokenizer = Tokenizer(str(pattern), lower)
    except BaselineError as exc:
        raise _Bad(f"{path}.tokenizer.pattern", str(exc)) from None
    vocab_raw = _obj(_get(d, "vocabulary", path), f"{path}.vocabulary")
    vocab = {str(k): _int(c, f"{path}.vocabulary[{k!r}]") for k, c in vocab_raw.items()}
    rate = _float(_get(d, "expected_oov_rate", path), f"{path}.expected_oov_rate")
    if not 0.0 <= rate <= 1.0:
        raise _Bad(f"{path}.expected_oov_rate", f"expected a rate in [0, 1], got {rate!r}")
    length = _read_numeric(_get(d, "length", path), f"{path}.length")
    n = _int(_get(d, "n", path), f"{path}.n")
    return TextProfile(tokenizer, vocab, rate, length, n)


_READERS: dict[schema.FeatureType, tuple[str, Any]] = {
    schema.FeatureType.NUMERIC: ("numeric", _read_numeric),
    schema.FeatureType.CATEGORICAL: ("categorical", _read_categorical),
    schema.FeatureType.TEXT: ("text", _read_text),
}


def _read_feature(v: Any, path: str, rows: int) -> FeatureProfile:
    d = _obj(v, path)
    name = _str(_get(d, "name", path), f"{path}.name") or ""
    try:
        schema.validate_feature_name(name)
    except schema.SchemaError as exc:
        raise _Bad(f"{path}.name", str(exc)) from None
    type_raw = _get(d, "type", path)
    try:
        ftype = schema.FeatureType(type_raw)
    except ValueError:
        kinds = ", ".join(t.value for t in schema.FeatureType)
        raise _Bad(f"{path}.type", f"{type_raw!r} is not one of {kinds}") from None
    count = _int(_get(d, "count", path), f"{path}.count")
    if count != rows:
        raise _Bad(f"{path}.count", f"is {count} but the baseline has {rows} rows")
    missing = _int(_get(d, "missing", path), f"{path}.missing")
    if missing > count:
        raise _Bad(f"{path}.missing", f"{missing} is more than count {count}")
    key, reader = _READERS[ftype]
    profiles: dict[str, Any] = {}
    for other_key, _ in _READERS.values():
        if other_key != key and d.get(other_key) is not None:
            raise _Bad(f"{path}.{other_key}", f"a {ftype} feature cannot have a {other_key} part")
    profile = reader(_get(d, key, path), f"{path}.{key}")
    if profile.n != count - missing:
        raise _Bad(f"{path}.{key}.n", f"is {profile.n} but count - missing is {count - missing}")
    profiles[key] = profile
    return FeatureProfile(name, ftype, count, missing, **profiles)


def _read_prediction(v: Any, path: str) -> PredictionProfile | None:
    if v is None:
        return None
    d = _obj(v, path)
    kind = _get(d, "kind", path)
    if kind not in KINDS:
        raise _Bad(f"{path}.kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    value_raw = _get(d, "value", path, optional=True)
    label_raw = _get(d, "label", path, optional=True)
    value = _read_numeric(value_raw, f"{path}.value") if value_raw is not None else None
    label = _read_categorical(label_raw, f"{path}.label") if label_raw is not None else None
    classes_raw = _get(d, "classes", path, optional=True) or []
    if not isinstance(classes_raw, list) or not all(isinstance(c, str) for c in classes_raw):
        raise _Bad(f"{path}.classes", "expected an array of strings")
    if kind == "regression" and value is None:
        raise _Bad(f"{path}.value", "a regression prediction needs a value profile")
    if kind == "classification" and value is None and label is None:
        raise _Bad(path, "a classification prediction needs a label or a value profile")
    return PredictionProfile(kind, value, label, tuple(classes_raw))


def _read_metrics(v: Any, rows_raw: Any) -> tuple[dict[str, float], int | None]:
    """Held-out metrics: metric name -> finite number; `metrics_rows` a count or null."""
    metrics: dict[str, float] = {}
    if v is not None:
        for k, x in _obj(v, "metrics").items():
            if not isinstance(k, str) or not k.strip():
                raise _Bad("metrics", f"metric names must be non-empty strings, got {k!r}")
            metrics[k] = _float(x, f"metrics[{k!r}]")
    rows = None if rows_raw is None else _int(rows_raw, "metrics_rows")
    return metrics, rows


def _read_baseline(data: Any, source: str) -> Baseline:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BaselineError(f'{source} is not a predwatch baseline (no "format": "{FORMAT}")')
    version = data.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise BaselineError(
            f"{source}: format_version must be a whole number >= 1, got {version!r}"
        )
    if version > FORMAT_VERSION:
        raise BaselineError(
            f"{source} was written by a newer predwatch (format {version}); upgrade predwatch"
        )
    try:
        model = _obj(_get(data, "model", ""), "model")
        name = _str(_get(model, "name", "model"), "model.name") or ""
        try:
            schema.validate_model_name(name)
        except schema.SchemaError as exc:
            raise _Bad("model.name", str(exc)) from None
        mversion = _str(_get(model, "version", "model"), "model.version") or ""
        trained_at = _iso(model.get("trained_at"), "model.trained_at", nullable=True)
        mhash = _str(model.get("hash"), "model.hash", nullable=True)
        created_at = _iso(_get(data, "created_at", ""), "created_at") or ""
        rows = _int(_get(data, "rows", ""), "rows")
        feats_raw = _get(data, "features", "")
        if not isinstance(feats_raw, list):
            raise _Bad("features", f"expected an array, got {_type_name(feats_raw)}")
        features = tuple(_read_feature(f, f"features[{i}]", rows) for i, f in enumerate(feats_raw))
        try:
            schema.validate_features(schema.Feature(f.name, f.type) for f in features)
        except schema.SchemaError as exc:
            raise _Bad("features", str(exc)) from None
        prediction = _read_prediction(data.get("prediction"), "prediction")
        metrics, metrics_rows = _read_metrics(data.get("metrics"), data.get("metrics_rows"))
    except _Bad as exc:
        raise BaselineError(f"{source}: {exc}") from None
    return Baseline(
        name, mversion, trained_at, mhash, created_at, rows, features, prediction,
        metrics, metrics_rows,
    )  # fmt: skip


__all__ = [
    "DEFAULT_TOKEN_PATTERN",
    "FORMAT",
    "FORMAT_VERSION",
    "Baseline",
    "BaselineError",
    "CategoricalProfile",
    "FeatureProfile",
    "NumericProfile",
    "PredictionProfile",
    "TextProfile",
    "Tokenizer",
    "category_key",
    "check_metrics",
    "load_baseline",
    "now_iso",
    "save_baseline",
]
