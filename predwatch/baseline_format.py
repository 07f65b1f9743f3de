"""The baseline file layout: `Baseline` to a JSON-ready dict and back, validating.

JSON layout (``format_version`` 1)::

    {"format": "predwatch-baseline", "format_version": 1,
     "model": {"name", "version", "trained_at", "hash"}, "created_at", "rows",
     "features": [{"name", "type", "count", "missing", "numeric"|"categorical"|"text": {...}}],
     "prediction": {"kind", "value", "label", "classes"} | null,
     "metrics": {"roc_auc": 0.93, ...}, "metrics_rows": 5000,   # both optional
     "estimation": {"kind": "binary", "score_field", "positive", "threshold", "grid", "edges",
                    "calibration": {"method", "rows", "blocks"}, "reference"}}  # optional
                   | {"kind": "multiclass", "score_field", "classes", "grid",
                      "per_class": {<class>: {"calibration", "edges"}}, "reference"}

`metrics` are the model's held-out quality metrics (names as `predwatch quality` uses them:
accuracy, precision, recall, f1, roc_auc, log_loss, mae, rmse, r2), `metrics_rows` the rows
they were measured on; `predwatch quality --reference baseline` compares against them.
`estimation` (from `baseline build --target-column`) is what `predwatch quality --estimate`
needs: the calibration map of the scores and the reference's metrics
(`baseline_checks.read_estimation`). Optional fields: format 1 readers ignore them.

Non-finite floats (the mean of an all-missing column, the variance of one value) are written
as ``null`` and read back as NaN, so the file is strict JSON. Reading checks every field and
the rules between fields (bin counts add up to n, every feature counts every row, ...);
a `BaselineError` names the path of the first bad field. Pure.

The checks are hand-written (`baseline_checks`) rather than a JSON Schema or pydantic model:
jsonschema and pydantic pull compiled dependencies (rpds-py, pydantic-core) into every serving
image that loads a baseline, and most rules here relate fields to each other, which a schema
cannot say.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from predwatch import baseline_checks as c
from predwatch import schema
from predwatch.baseline_model import (
    FORMAT,
    FORMAT_VERSION,
    KINDS,
    Baseline,
    BaselineError,
    CategoricalProfile,
    FeatureProfile,
    NumericProfile,
    PredictionProfile,
    TextProfile,
    Tokenizer,
)


def baseline_to_dict(b: Baseline) -> dict[str, Any]:
    """The JSON-ready dict of a baseline file (strict JSON: non-finite numbers as null)."""
    out: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": {
            "name": b.model,
            "version": b.version,
            "trained_at": b.trained_at,
            "hash": b.hash,
        },
        "created_at": b.created_at,
        "rows": b.rows,
        "features": [_feature_to_dict(f) for f in b.features],
        "prediction": _prediction_to_dict(b.prediction) if b.prediction else None,
    }
    # Written only when present, so files without metrics stay byte-identical.
    if b.metrics:
        out["metrics"] = {k: float(v) for k, v in sorted(b.metrics.items())}
    if b.metrics_rows is not None:
        out["metrics_rows"] = b.metrics_rows
    if b.segments:
        from predwatch.baseline_segments import segments_to_list

        out["segments"] = segments_to_list(b)
    if b.estimation is not None:
        out["estimation"] = b.estimation
    return out


def check_metrics(metrics: Any, rows: Any = None) -> tuple[dict[str, float], int | None]:
    """Validated held-out metrics and row count (BaselineError names the bad one)."""
    try:
        return c.read_metrics(metrics, rows)
    except c.Invalid as exc:
        raise BaselineError(str(exc)) from None


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _numeric_to_dict(p: NumericProfile) -> dict[str, Any]:
    return {
        "edges": [float(e) for e in p.edges],
        "counts": [float(x) for x in p.counts],
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
def _read_numeric(v: Any, path: str) -> NumericProfile:
    f = c.Fields(v, path)
    edges = f.numbers("edges")
    for i in range(1, len(edges)):
        if not edges[i] > edges[i - 1]:
            raise c.Invalid(f"{path}.edges[{i}]", "edges must be strictly increasing")
    counts = f.numbers("counts", len(edges) + 1)
    if any(x < 0 for x in counts):
        raise c.Invalid(f.at("counts"), "counts must not be negative")
    n = f.count("n")
    c.same_n(math.fsum(counts), n, f.at("counts"), "counts")
    stats = {k: f.number_or_nan(k) for k in ("mean", "var", "min", "max")}
    if n and not (stats["min"] <= stats["max"]):
        raise c.Invalid(f.at("min"), f"min {stats['min']!r} is not <= max {stats['max']!r}")
    if stats["var"] < 0:
        raise c.Invalid(f.at("var"), "variance must not be negative")
    means_raw = f.get("bin_means", optional=True)
    means = None
    if means_raw is not None:
        if not isinstance(means_raw, list) or len(means_raw) != len(counts):
            raise c.Invalid(f.at("bin_means"), f"expected {len(counts)} numbers or nulls")
        means = tuple(
            c.number(m, f"{path}.bin_means[{i}]", nullable=True) for i, m in enumerate(means_raw)
        )
    return NumericProfile(edges=edges, counts=counts, n=n, **stats, bin_means=means)


def _read_categorical(v: Any, path: str) -> CategoricalProfile:
    f = c.Fields(v, path)
    freq = f.counts("frequencies")
    other = f.count("other")
    vocab = frozenset(f.strings("vocabulary"))
    missing = sorted(set(freq) - vocab)
    if missing:
        raise c.Invalid(f.at("vocabulary"), f"lacks frequent value {missing[0]!r}")
    n = f.count("n")
    c.same_n(sum(freq.values()) + other, n, f.at("frequencies"), "frequencies + other")
    truncated = f.flag("vocabulary_truncated", default=False)
    ones = f.count_or_none("singletons")
    if ones is not None and ones > min(n, len(vocab)):
        raise c.Invalid(f.at("singletons"), f"{ones} values seen once exceed the vocabulary")
    return CategoricalProfile(freq, other, vocab, n, truncated, ones)


def _read_text(v: Any, path: str) -> TextProfile:
    f = c.Fields(v, path)
    tok = f.obj("tokenizer")
    pattern = tok.string("pattern")
    lower = tok.flag("lowercase")
    try:
        tokenizer = Tokenizer(pattern, lower)
    except BaselineError as exc:
        raise c.Invalid(tok.at("pattern"), str(exc)) from None
    vocab = f.counts("vocabulary")
    rate = f.number("expected_oov_rate")
    if not 0.0 <= rate <= 1.0:
        raise c.Invalid(f.at("expected_oov_rate"), f"expected a rate in [0, 1], got {rate!r}")
    length = _read_numeric(f.get("length"), f.at("length"))
    return TextProfile(tokenizer, vocab, rate, length, f.count("n"))


_READERS: dict[schema.FeatureType, tuple[str, Any]] = {
    schema.FeatureType.NUMERIC: ("numeric", _read_numeric),
    schema.FeatureType.CATEGORICAL: ("categorical", _read_categorical),
    schema.FeatureType.TEXT: ("text", _read_text),
}


def _read_feature(v: Any, path: str, rows: int) -> FeatureProfile:
    f = c.Fields(v, path)
    name = f.string("name")
    try:
        schema.validate_feature_name(name)
    except schema.SchemaError as exc:
        raise c.Invalid(f.at("name"), str(exc)) from None
    type_raw = f.get("type")
    try:
        ftype = schema.FeatureType(type_raw)
    except ValueError:
        kinds = ", ".join(t.value for t in schema.FeatureType)
        raise c.Invalid(f.at("type"), f"{type_raw!r} is not one of {kinds}") from None
    count = f.count("count")
    if count != rows:
        raise c.Invalid(f.at("count"), f"is {count} but the baseline has {rows} rows")
    missing = f.count("missing")
    if missing > count:
        raise c.Invalid(f.at("missing"), f"{missing} is more than count {count}")
    key, reader = _READERS[ftype]
    for other_key, _ in _READERS.values():
        if other_key != key and f.data.get(other_key) is not None:
            why = f"a {ftype} feature cannot have a {other_key} part"
            raise c.Invalid(f.at(other_key), why)
    profile = reader(f.get(key), f.at(key))
    if profile.n != count - missing:
        why = f"is {profile.n} but count - missing is {count - missing}"
        raise c.Invalid(f"{path}.{key}.n", why)
    return FeatureProfile(name, ftype, count, missing, **{key: profile})


def _read_prediction(v: Any, path: str) -> PredictionProfile | None:
    if v is None:
        return None
    f = c.Fields(v, path)
    kind = f.get("kind")
    if kind not in KINDS:
        raise c.Invalid(f.at("kind"), f"{kind!r} is not one of {', '.join(KINDS)}")
    value_raw = f.get("value", optional=True)
    label_raw = f.get("label", optional=True)
    value = _read_numeric(value_raw, f.at("value")) if value_raw is not None else None
    label = _read_categorical(label_raw, f.at("label")) if label_raw is not None else None
    classes = f.strings("classes", optional=True)
    if kind == "regression" and value is None:
        raise c.Invalid(f.at("value"), "a regression prediction needs a value profile")
    if kind == "classification" and value is None and label is None:
        raise c.Invalid(path, "a classification prediction needs a label or a value profile")
    return PredictionProfile(kind, value, label, classes)


def read_baseline(data: Any, source: str) -> Baseline:
    """Validate and read a baseline dict; BaselineError names the path of a bad field."""
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
        root = c.Fields(data, "")
        model = root.obj("model")
        name = model.string("name")
        try:
            schema.validate_model_name(name)
        except schema.SchemaError as exc:
            raise c.Invalid(model.at("name"), str(exc)) from None
        mversion = model.string("version")
        trained_at = model.iso_or_none("trained_at")
        mhash = model.string_or_none("hash")
        created_at = root.iso("created_at")
        rows = root.count("rows")
        feats_raw = root.get("features")
        if not isinstance(feats_raw, list):
            raise c.Invalid("features", f"expected an array, got {c.type_name(feats_raw)}")
        features = tuple(_read_feature(f, f"features[{i}]", rows) for i, f in enumerate(feats_raw))
        try:
            schema.validate_features(schema.Feature(f.name, f.type) for f in features)
        except schema.SchemaError as exc:
            raise c.Invalid("features", str(exc)) from None
        prediction = _read_prediction(data.get("prediction"), "prediction")
        metrics, metrics_rows = c.read_metrics(data.get("metrics"), data.get("metrics_rows"))
        estimation = c.read_estimation(data.get("estimation"))
    except c.Invalid as exc:
        raise BaselineError(f"{source}: {exc}") from None
    b = Baseline(
        name, mversion, trained_at, mhash, created_at, rows, features, prediction,
        metrics, metrics_rows, estimation,
    )  # fmt: skip
    if data.get("segments") is None:
        return b
    from predwatch.baseline_segments import read_segments

    try:
        return dataclasses.replace(b, segments=read_segments(data["segments"], b))
    except c.Invalid as exc:
        raise BaselineError(f"{source}: {exc}") from None
