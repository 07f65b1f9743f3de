"""The baseline file layout: `Baseline` to a JSON-ready dict and back, validating.

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
as ``null`` and read back as NaN, so the file is strict JSON. Reading checks every field and
the rules between fields (bin counts add up to n, every feature counts every row, ...);
a `BaselineError` names the path of the first bad field. Pure.

The checks are hand-written (`baseline_checks`) rather than a JSON Schema or pydantic model:
jsonschema and pydantic pull compiled dependencies (rpds-py, pydantic-core) into every serving
image that loads a baseline, and most rules here relate fields to each other, which a schema
cannot say.
"""

from __future__ import annotations

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
    d = c.obj(v, path)
    edges = c.numbers(c.get(d, "edges", path), f"{path}.edges")
    for i in range(1, len(edges)):
        if not edges[i] > edges[i - 1]:
            raise c.Invalid(f"{path}.edges[{i}]", "edges must be strictly increasing")
    counts = c.numbers(c.get(d, "counts", path), f"{path}.counts", len(edges) + 1)
    if any(x < 0 for x in counts):
        raise c.Invalid(f"{path}.counts", "counts must not be negative")
    n = c.count(c.get(d, "n", path), f"{path}.n")
    c.same_n(math.fsum(counts), n, f"{path}.counts", "counts")
    stats = {
        k: c.number(c.get(d, k, path), f"{path}.{k}", nullable=True)
        for k in ("mean", "var", "min", "max")
    }
    if n and not (stats["min"] <= stats["max"]):
        raise c.Invalid(f"{path}.min", f"min {stats['min']!r} is not <= max {stats['max']!r}")
    if stats["var"] < 0:
        raise c.Invalid(f"{path}.var", "variance must not be negative")
    means_raw = c.get(d, "bin_means", path, optional=True)
    means = None
    if means_raw is not None:
        if not isinstance(means_raw, list) or len(means_raw) != len(counts):
            raise c.Invalid(f"{path}.bin_means", f"expected {len(counts)} numbers or nulls")
        means = tuple(
            c.number(m, f"{path}.bin_means[{i}]", nullable=True) for i, m in enumerate(means_raw)
        )
    return NumericProfile(edges=edges, counts=counts, n=n, **stats, bin_means=means)


def _read_categorical(v: Any, path: str) -> CategoricalProfile:
    d = c.obj(v, path)
    freq_raw = c.obj(c.get(d, "frequencies", path), f"{path}.frequencies")
    freq = {str(k): c.count(x, f"{path}.frequencies[{k!r}]") for k, x in freq_raw.items()}
    other = c.count(c.get(d, "other", path), f"{path}.other")
    vocab_raw = c.get(d, "vocabulary", path)
    if not isinstance(vocab_raw, list) or not all(isinstance(x, str) for x in vocab_raw):
        raise c.Invalid(f"{path}.vocabulary", "expected an array of strings")
    vocab = frozenset(vocab_raw)
    missing = sorted(set(freq) - vocab)
    if missing:
        raise c.Invalid(f"{path}.vocabulary", f"lacks frequent value {missing[0]!r}")
    n = c.count(c.get(d, "n", path), f"{path}.n")
    c.same_n(sum(freq.values()) + other, n, f"{path}.frequencies", "frequencies + other")
    truncated = c.get(d, "vocabulary_truncated", path, optional=True) or False
    if not isinstance(truncated, bool):
        raise c.Invalid(f"{path}.vocabulary_truncated", "expected true or false")
    ones_raw = c.get(d, "singletons", path, optional=True)
    ones = None if ones_raw is None else c.count(ones_raw, f"{path}.singletons")
    if ones is not None and ones > min(n, len(vocab)):
        raise c.Invalid(f"{path}.singletons", f"{ones} values seen once exceed the vocabulary")
    return CategoricalProfile(freq, other, vocab, n, truncated, ones)


def _read_text(v: Any, path: str) -> TextProfile:
    d = c.obj(v, path)
    tok = c.obj(c.get(d, "tokenizer", path), f"{path}.tokenizer")
    pattern = c.string(c.get(tok, "pattern", f"{path}.tokenizer"), f"{path}.tokenizer.pattern")
    lower = c.get(tok, "lowercase", f"{path}.tokenizer")
    if not isinstance(lower, bool):
        raise c.Invalid(f"{path}.tokenizer.lowercase", "expected true or false")
    try:
        tokenizer = Tokenizer(str(pattern), lower)
    except BaselineError as exc:
        raise c.Invalid(f"{path}.tokenizer.pattern", str(exc)) from None
    vocab_raw = c.obj(c.get(d, "vocabulary", path), f"{path}.vocabulary")
    vocab = {str(k): c.count(x, f"{path}.vocabulary[{k!r}]") for k, x in vocab_raw.items()}
    rate = c.number(c.get(d, "expected_oov_rate", path), f"{path}.expected_oov_rate")
    if not 0.0 <= rate <= 1.0:
        raise c.Invalid(f"{path}.expected_oov_rate", f"expected a rate in [0, 1], got {rate!r}")
    length = _read_numeric(c.get(d, "length", path), f"{path}.length")
    n = c.count(c.get(d, "n", path), f"{path}.n")
    return TextProfile(tokenizer, vocab, rate, length, n)


_READERS: dict[schema.FeatureType, tuple[str, Any]] = {
    schema.FeatureType.NUMERIC: ("numeric", _read_numeric),
    schema.FeatureType.CATEGORICAL: ("categorical", _read_categorical),
    schema.FeatureType.TEXT: ("text", _read_text),
}


def _read_feature(v: Any, path: str, rows: int) -> FeatureProfile:
    d = c.obj(v, path)
    name = c.string(c.get(d, "name", path), f"{path}.name") or ""
    try:
        schema.validate_feature_name(name)
    except schema.SchemaError as exc:
        raise c.Invalid(f"{path}.name", str(exc)) from None
    type_raw = c.get(d, "type", path)
    try:
        ftype = schema.FeatureType(type_raw)
    except ValueError:
        kinds = ", ".join(t.value for t in schema.FeatureType)
        raise c.Invalid(f"{path}.type", f"{type_raw!r} is not one of {kinds}") from None
    count = c.count(c.get(d, "count", path), f"{path}.count")
    if count != rows:
        raise c.Invalid(f"{path}.count", f"is {count} but the baseline has {rows} rows")
    missing = c.count(c.get(d, "missing", path), f"{path}.missing")
    if missing > count:
        raise c.Invalid(f"{path}.missing", f"{missing} is more than count {count}")
    key, reader = _READERS[ftype]
    profiles: dict[str, Any] = {}
    for other_key, _ in _READERS.values():
        if other_key != key and d.get(other_key) is not None:
            raise c.Invalid(
                f"{path}.{other_key}", f"a {ftype} feature cannot have a {other_key} part"
            )
    profile = reader(c.get(d, key, path), f"{path}.{key}")
    if profile.n != count - missing:
        raise c.Invalid(
            f"{path}.{key}.n", f"is {profile.n} but count - missing is {count - missing}"
        )
    profiles[key] = profile
    return FeatureProfile(name, ftype, count, missing, **profiles)


def _read_prediction(v: Any, path: str) -> PredictionProfile | None:
    if v is None:
        return None
    d = c.obj(v, path)
    kind = c.get(d, "kind", path)
    if kind not in KINDS:
        raise c.Invalid(f"{path}.kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    value_raw = c.get(d, "value", path, optional=True)
    label_raw = c.get(d, "label", path, optional=True)
    value = _read_numeric(value_raw, f"{path}.value") if value_raw is not None else None
    label = _read_categorical(label_raw, f"{path}.label") if label_raw is not None else None
    classes_raw = c.get(d, "classes", path, optional=True) or []
    if not isinstance(classes_raw, list) or not all(isinstance(x, str) for x in classes_raw):
        raise c.Invalid(f"{path}.classes", "expected an array of strings")
    if kind == "regression" and value is None:
        raise c.Invalid(f"{path}.value", "a regression prediction needs a value profile")
    if kind == "classification" and value is None and label is None:
        raise c.Invalid(path, "a classification prediction needs a label or a value profile")
    return PredictionProfile(kind, value, label, tuple(classes_raw))


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
        model = c.obj(c.get(data, "model", ""), "model")
        name = c.string(c.get(model, "name", "model"), "model.name") or ""
        try:
            schema.validate_model_name(name)
        except schema.SchemaError as exc:
            raise c.Invalid("model.name", str(exc)) from None
        mversion = c.string(c.get(model, "version", "model"), "model.version") or ""
        trained_at = c.iso(model.get("trained_at"), "model.trained_at", nullable=True)
        mhash = c.string(model.get("hash"), "model.hash", nullable=True)
        created_at = c.iso(c.get(data, "created_at", ""), "created_at") or ""
        rows = c.count(c.get(data, "rows", ""), "rows")
        feats_raw = c.get(data, "features", "")
        if not isinstance(feats_raw, list):
            raise c.Invalid("features", f"expected an array, got {c.type_name(feats_raw)}")
        features = tuple(_read_feature(f, f"features[{i}]", rows) for i, f in enumerate(feats_raw))
        try:
            schema.validate_features(schema.Feature(f.name, f.type) for f in features)
        except schema.SchemaError as exc:
            raise c.Invalid("features", str(exc)) from None
        prediction = _read_prediction(data.get("prediction"), "prediction")
        metrics, metrics_rows = c.read_metrics(data.get("metrics"), data.get("metrics_rows"))
    except c.Invalid as exc:
        raise BaselineError(f"{source}: {exc}") from None
    return Baseline(
        name, mversion, trained_at, mhash, created_at, rows, features, prediction,
        metrics, metrics_rows,
    )  # fmt: skip
