"""Build a baseline (training-data profile) from a DataFrame or from chunks of one.

Type inference (override with `categorical=` / `numeric=` / `text=`):
- bool, pandas category, datetime and mixed-type columns -> categorical;
- int and float columns -> numeric, including integers with few distinct values: they
  keep range checks and numeric tests, and their bins are one per value anyway (edges are
  deduplicated for discrete data). Give a code-like integer column with `categorical=`;
- string columns -> text when, in the first 1,000 values, the median value has >= 3 words
  and at least half the values are distinct; otherwise categorical.
Missing: None/NaN for every type, +-inf for numeric, "" for categorical and text.

Prediction columns (`prediction_columns`, the CLI's repeatable `--prediction-column`):
one numeric column -> regression (value profile); one categorical column -> classification
(label profile); two columns, a score and a label -> classification, e.g.
`--prediction-column proba --prediction-column label`. The label is the categorical one, or
the integer/bool one when both are numeric. Classes are the label's values, sorted.

Passes: the first pass computes everything but the bin counts of numeric columns with more
than 10,000 distinct values and more values than their reservoir (profile_stats.py);
those take a second pass. A DataFrame, a list of frames or a `FrameSource` can be read
twice; a one-shot iterator cannot, and then such a column is an error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import statistics
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from predwatch import schema
from predwatch.analyzers.profile_frames import DEFAULT_CHUNKSIZE, FrameSource, iter_frames
from predwatch.analyzers.profile_stats import (
    CategoricalAccumulator,
    NumericAccumulator,
    TextAccumulator,
    holdout_mask,
    numeric_values,
    reservoir_size,
)
from predwatch.baseline import (
    Baseline,
    BaselineError,
    FeatureProfile,
    PredictionKind,
    PredictionProfile,
    Tokenizer,
    now_iso,
)

FT = schema.FeatureType
DEFAULT_BINS = 100
DEFAULT_TOP_K = 1_000
DEFAULT_VOCAB_CAP = 50_000
INFER_SAMPLE = 1_000
TEXT_MIN_WORDS = 3

__all__ = [
    "FrameSource",
    "build_baseline",
    "build_baseline_from_file",
    "infer_type",
    "iter_frames",
    "model_file_hash",
]


def infer_type(s: pd.Series) -> FT:
    """The feature type a column gets when none is given (see the module docstring)."""
    if pd.api.types.is_bool_dtype(s) or isinstance(s.dtype, pd.CategoricalDtype):
        return FT.CATEGORICAL
    if pd.api.types.is_numeric_dtype(s):
        return FT.NUMERIC
    if not (pd.api.types.is_string_dtype(s) or pd.api.types.is_object_dtype(s)):
        return FT.CATEGORICAL  # datetimes, periods, intervals: compared as strings
    values = [v for v in s.dropna().head(INFER_SAMPLE * 2).tolist() if v != ""][:INFER_SAMPLE]
    if values and all(
        isinstance(v, int | float | np.number) and not isinstance(v, bool | np.bool_)
        for v in values
    ):
        return FT.NUMERIC
    if not values or not all(isinstance(v, str) for v in values):
        return FT.CATEGORICAL
    words = statistics.median(len(v.split()) for v in values)
    if words >= TEXT_MIN_WORDS and len(set(values)) >= 0.5 * len(values):
        return FT.TEXT
    return FT.CATEGORICAL


@dataclass
class _Column:
    name: str  # feature name (str of the column label)
    label: Any  # the DataFrame column label
    type: FT
    acc: Any  # NumericAccumulator | CategoricalAccumulator | TextAccumulator
    missing: int = 0


def _check_names(frame: pd.DataFrame, given: dict[str, Sequence[str]]) -> None:
    cols = [str(c) for c in frame.columns]
    dupes = sorted({c for c in cols if cols.count(c) > 1})
    if dupes:
        raise BaselineError(f"the data has more than one column named {dupes[0]!r}")
    known = set(cols)
    for option, names in given.items():
        for name in names:
            if name not in known:
                shown = ", ".join(cols[:10]) + (", ..." if len(cols) > 10 else "")
                raise BaselineError(
                    f"column {name!r} given to {option} is not in the data (columns: {shown})"
                )


def _overrides(
    categorical: Iterable[str], numeric: Iterable[str], text: Iterable[str]
) -> dict[str, FT]:
    out: dict[str, FT] = {}
    for names, t in ((categorical, FT.CATEGORICAL), (numeric, FT.NUMERIC), (text, FT.TEXT)):
        for n in names:
            if n in out and out[n] != t:
                raise BaselineError(f"column {n!r} is given as both {out[n]} and {t}")
            out[n] = t
    return out


def _prediction_types(
    frame: pd.DataFrame, cols: Sequence[str], forced: dict[str, FT]
) -> dict[str, FT]:
    """Type of each prediction column: the label is categorical, the score numeric."""
    types = {c: forced.get(c) or infer_type(frame[c]) for c in cols}
    if len(cols) > 2:
        raise BaselineError(
            "give at most two prediction columns (a score and a label); per-class score "
            "columns are not profiled"
        )
    if len(cols) == 2 and list(types.values()).count(FT.NUMERIC) == 2:
        ints = [c for c in cols if c not in forced and _integral(frame[c])]
        if len(ints) != 1:
            raise BaselineError(
                f"cannot tell which of the prediction columns {cols[0]!r} and {cols[1]!r} is "
                "the label; give the label with --categorical"
            )
        types[ints[0]] = FT.CATEGORICAL
    if len(cols) == 2 and sorted(types.values()) != sorted([FT.CATEGORICAL, FT.NUMERIC]):
        raise BaselineError(
            "two prediction columns must be one numeric score and one label; got "
            + ", ".join(f"{c!r} ({t})" for c, t in types.items())
        )
    for c, t in types.items():
        if t is FT.TEXT:
            raise BaselineError(f"prediction column {c!r} is text; give it with --categorical")
    return types


def _integral(s: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_integer_dtype(s):
        return True
    if not pd.api.types.is_float_dtype(s):
        return False
    v = s.dropna().to_numpy(dtype=np.float64)
    return bool(len(v)) and bool(np.all(np.isfinite(v) & (v == np.round(v))))


class _Source:
    """The input as something readable once or twice."""

    def __init__(self, data: pd.DataFrame | Iterable[pd.DataFrame]) -> None:
        self.data = data
        # Generators, file readers and other iterators are consumed by one pass.
        self.reiterable = not isinstance(data, Iterator)

    def frames(self) -> Iterator[pd.DataFrame]:
        if isinstance(self.data, pd.DataFrame):
            return iter([self.data])
        return iter(self.data)


def build_baseline(
    data: pd.DataFrame | Iterable[pd.DataFrame],
    *,
    model: str,
    version: str,
    prediction_columns: Sequence[str] = (),
    categorical: Collection[str] = (),
    numeric: Collection[str] = (),
    text: Collection[str] = (),
    exclude: Collection[str] = (),
    bins: int = DEFAULT_BINS,
    top_k: int = DEFAULT_TOP_K,
    vocab_cap: int = DEFAULT_VOCAB_CAP,
    holdout: float = 0.1,
    trained_at: str | dt.datetime | None = None,
    model_hash: str | None = None,
    seed: int = 0,
    tokenizer: Tokenizer | None = None,
    metrics: Mapping[str, float] | None = None,
    metrics_rows: int | None = None,
    segment_by: Sequence[str] = (),
    segments: int = 20,
) -> Baseline:
    """Profile training data: one DataFrame, or an iterable of chunks of one.

    Every column except `exclude` and the prediction columns becomes a feature.
    `metrics` (held-out quality metrics, e.g. {"roc_auc": 0.93}) and `metrics_rows` are
    stored as given, for `predwatch quality --reference baseline`.
    Raises BaselineError for unusable input (unknown columns, no rows, bad names).
    """
    _check_args(model, version, bins, top_k, vocab_cap, holdout)
    src = _Source(data)
    forced = _overrides(categorical, numeric, text)
    tok = tokenizer or Tokenizer()
    cols: list[_Column] = []
    pred: dict[str, FT] = {}
    rows = 0
    for i, frame in enumerate(src.frames()):
        if i == 0:
            cols, pred = _plan(
                frame, forced, prediction_columns, exclude, bins, vocab_cap, tok, seed
            )
        elif len(frame) == 0:
            continue
        _pass1(frame, cols, rows, holdout, seed, i)
        rows += len(frame)
    if rows == 0:
        raise BaselineError("the data has no rows")
    for c in cols:
        if isinstance(c.acc, NumericAccumulator):
            c.acc.finish_pass1(bins)
    second = [c for c in cols if isinstance(c.acc, NumericAccumulator) and c.acc.needs_second_pass]
    if second:
        _pass2(src, second, rows)
    b = _assemble(cols, pred, rows, model, version, trained_at, model_hash, top_k, bins)
    if metrics or metrics_rows is not None:
        b = dataclasses.replace(b, metrics=dict(metrics or {}), metrics_rows=metrics_rows)
    if segment_by:
        roles = {
            ("value" if t is FT.NUMERIC else "label"): next(c.label for c in cols if c.name == n)
            for n, t in pred.items()
        }
        b = _with_segments(src, b, segment_by, segments, roles, holdout, seed)
    return b


def _with_segments(
    src: _Source,
    b: Baseline,
    fields: Sequence[str],
    top: int,
    predictions: Mapping[str, Any],
    holdout: float,
    seed: int,
) -> Baseline:
    """`b` with per-segment profiles of `fields` (two more passes over the data)."""
    from predwatch.analyzers.profile_segments import segment_profiles

    if not src.reiterable:
        raise BaselineError(
            "per-segment profiles need to read the data again; pass a DataFrame, a list of "
            "chunks or a file, not a one-shot iterator"
        )
    profiles = segment_profiles(
        src.frames, b, fields, top, predictions=predictions, holdout=holdout, seed=seed
    )
    b = dataclasses.replace(b, segments=profiles)
    return Baseline.from_dict(b.to_dict(), source="the built baseline")


def _check_args(
    model: str, version: str, bins: int, top_k: int, vocab_cap: int, holdout: float
) -> None:
    try:
        schema.validate_model_name(model)
    except schema.SchemaError as exc:
        raise BaselineError(str(exc)) from None
    if not isinstance(version, str) or not version.strip():
        raise BaselineError("the model version is empty; give --version")
    if bins < 1:
        raise BaselineError(f"bins must be >= 1, got {bins}")
    if top_k < 1 or vocab_cap < top_k:
        raise BaselineError(
            f"need 1 <= top_k <= vocab_cap, got top_k={top_k}, vocab_cap={vocab_cap}"
        )
    if not 0.0 <= holdout < 1.0:
        raise BaselineError(f"holdout must be in [0, 1), got {holdout}")


def _plan(
    frame: pd.DataFrame,
    forced: dict[str, FT],
    prediction_columns: Sequence[str],
    exclude: Collection[str],
    bins: int,
    vocab_cap: int,
    tok: Tokenizer,
    seed: int,
) -> tuple[list[_Column], dict[str, FT]]:
    given: dict[str, Sequence[str]] = {
        "--prediction-column": list(prediction_columns),
        "--exclude": list(exclude),
        **{f"--{t}": [n for n, ft in forced.items() if ft is t] for t in FT},
    }
    _check_names(frame, given)
    ex = set(exclude)
    clash = ex & (set(forced) | set(prediction_columns))
    if clash:
        raise BaselineError(f"column {sorted(clash)[0]!r} is both excluded and used")
    labels = {str(c): c for c in frame.columns}
    pred = _prediction_types(frame.rename(columns=str), list(prediction_columns), forced)
    names = [n for n in labels if n not in ex and n not in pred]
    types = {n: forced.get(n) or infer_type(frame[labels[n]]) for n in names}
    try:
        schema.validate_features(schema.Feature(n, t) for n, t in types.items())
    except schema.SchemaError as exc:
        raise BaselineError(f"{exc}; rename the column or --exclude it") from None
    types.update(pred)
    k = reservoir_size(sum(t is FT.NUMERIC for t in types.values()))
    cols = []
    for i, (n, t) in enumerate(types.items()):
        acc: Any
        if t is FT.NUMERIC:
            acc = NumericAccumulator(k, seed=seed * 1_000_003 + i)
        elif t is FT.CATEGORICAL:
            acc = CategoricalAccumulator(vocab_cap)
        else:
            acc = TextAccumulator(tok, vocab_cap, seed)
        cols.append(_Column(n, labels[n], t, acc))
    return cols, pred


def _pass1(
    frame: pd.DataFrame, cols: list[_Column], first_row: int, holdout: float, seed: int, i: int
) -> None:
    held = None
    for c in cols:
        if c.label not in frame.columns:
            raise BaselineError(f"chunk {i + 1} of the data lacks column {c.name!r}")
        s = frame[c.label]
        if c.type is FT.NUMERIC:
            values, missing = numeric_values(s, c.name)
            c.missing += missing
            c.acc.add(values)
        elif c.type is FT.CATEGORICAL:
            c.acc.add(s)
        else:
            if held is None:
                held = holdout_mask(first_row, len(frame), holdout, seed)
            c.acc.add(s, held)


def _pass2(src: _Source, cols: list[_Column], rows: int) -> None:
    if not src.reiterable:
        raise BaselineError(
            f"column {cols[0].name!r} needs a second pass for its bin counts (too many distinct "
            "values for one pass), but the data is a one-shot iterator; pass a DataFrame, a "
            "list of frames or a FrameSource"
        )
    seen = 0
    for frame in src.frames():
        seen += len(frame)
        for c in cols:
            values, _ = numeric_values(frame[c.label], c.name)
            c.acc.add_pass2(values)
    if seen != rows:
        raise BaselineError(f"the data changed between passes ({rows} rows, then {seen})")


def _assemble(
    cols: list[_Column],
    pred: dict[str, FT],
    rows: int,
    model: str,
    version: str,
    trained_at: str | dt.datetime | None,
    model_hash: str | None,
    top_k: int,
    bins: int,
) -> Baseline:
    features = []
    value = label = None
    for c in cols:
        if c.type is FT.NUMERIC:
            p: dict[str, Any] = {"numeric": c.acc.profile()}
            missing = c.missing
        elif c.type is FT.CATEGORICAL:
            p = {"categorical": c.acc.profile(top_k)}
            missing = c.acc.missing
        else:
            p = {"text": c.acc.profile(bins)}
            missing = c.acc.missing
        if c.name in pred:
            value = p.get("numeric", value)
            label = p.get("categorical", label)
        else:
            features.append(FeatureProfile(c.name, c.type, rows, missing, **p))
    prediction = None
    if pred:
        kind: PredictionKind = "regression" if label is None else "classification"
        classes = tuple(sorted(label.vocabulary)) if label is not None else ()
        prediction = PredictionProfile(kind, value, label, classes)
    if isinstance(trained_at, dt.datetime):
        if trained_at.tzinfo is None:
            trained_at = trained_at.replace(tzinfo=dt.UTC)
        trained_at = trained_at.isoformat()
    baseline = Baseline(
        model=model,
        version=version,
        trained_at=trained_at,
        hash=model_hash,
        created_at=now_iso(),
        rows=rows,
        features=tuple(features),
        prediction=prediction,
    )
    # The same validation a reader applies: a builder bug shows here, not in the shipper.
    return Baseline.from_dict(baseline.to_dict(), source="the built baseline")


def build_baseline_from_file(
    path: str | os.PathLike[str],
    *,
    chunksize: int = DEFAULT_CHUNKSIZE,
    progress: bool | None = None,
    **kwargs: Any,
) -> Baseline:
    """`build_baseline` over a CSV or Parquet file read in chunks (two passes when needed).

    Excluded columns are not read at all.
    """
    exclude = list(kwargs.pop("exclude", ()))
    source = FrameSource(
        path,
        chunksize,
        exclude=exclude,
        as_string=[*kwargs.get("categorical", ()), *kwargs.get("text", ())],
        progress=progress,
    )
    header = source.columns()
    unknown = [c for c in exclude if header and c not in header]
    if unknown:
        shown = ", ".join(header[:10]) + (", ..." if len(header) > 10 else "")
        raise BaselineError(
            f"column {unknown[0]!r} given to --exclude is not in the data (columns: {shown})"
        )
    return build_baseline(source, **kwargs)


def model_file_hash(path: str | os.PathLike[str]) -> str:
    """ "sha256:<hex>" of a model artefact (a file, or every file of a directory in order)."""
    p = Path(path)
    if not p.exists():
        raise BaselineError(f"model file {p} does not exist")
    h = hashlib.sha256()
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    for f in files:
        if p.is_dir():
            h.update(str(f.relative_to(p)).encode() + b"\0")
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return f"sha256:{h.hexdigest()}"
