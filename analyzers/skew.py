"""Feature-computation skew (Monitor 3): recompute served features with the training pipeline.

`predwatch skew check` samples logged predictions that carry served feature values
(`features.<name>`, logged with `Shipper.log_prediction(..., features={...})`), rebuilds the
raw inputs (`inputs.<name>`) as a pandas DataFrame with one column per input (the input
names without the `inputs.` prefix), runs the registered training pipeline on it offline and
compares, feature by feature and row by row, what was served with what training computes.

Sampling: one `function_score` / `random_score` search (seeded on `_seq_no`, no scripts),
filtered to documents having the features field; at most 10,000 rows (one page). The
pipeline: `module:attribute` imported with importlib (the current directory is put on
sys.path first, as uvicorn does); the attribute is either a fitted transformer (its
`transform` is called; `get_feature_names_out` names ndarray / sparse outputs) or a callable
DataFrame -> DataFrame (or ndarray with a `get_feature_names_out` attribute).

Comparison: numbers (booleans count as 0/1) match when |served - recomputed| <= max(tolerance,
rel_tolerance * max(|served|, |recomputed|)); other values match when their text is equal;
missing (absent, null, NaN) matches missing only. A feature is skewed when its share of
mismatched rows exceeds `max_mismatch`.
"""

from __future__ import annotations

import importlib
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from elasticsearch import Elasticsearch

from predwatch import es as es_mod
from predwatch import schema as s
from predwatch.config import ESConfig
from predwatch.errors import EXIT_FINDING, EXIT_OK, PredwatchError

MAX_SAMPLE = 10_000
EXAMPLES = 3


class SkewError(PredwatchError):
    """The skew check cannot run: pipeline not importable or failing, nothing to compare."""


# --- the pipeline -------------------------------------------------------------------------
@dataclass(frozen=True)
class Pipeline:
    spec: str
    fn: Callable[[pd.DataFrame], Any]
    obj: Any  # what was imported (names ndarray outputs through get_feature_names_out)


def load_pipeline(spec: str) -> Pipeline:
    """Import `module:attribute[.attribute]` (the current directory first on sys.path)."""
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise SkewError(
            f"--pipeline must be module:callable, e.g. my_features:build_features, not {spec!r}"
        )
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        obj: Any = importlib.import_module(module)
    except Exception as exc:
        raise SkewError(
            f"cannot import the pipeline module {module!r} ({type(exc).__name__}: {exc}); run "
            "from the folder that holds it or add that folder to PYTHONPATH"
        ) from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise SkewError(f"the pipeline module {module!r} has no attribute {attr!r}") from None
    transform = getattr(obj, "transform", None)
    if callable(transform):
        return Pipeline(spec, transform, obj)
    if callable(obj):
        return Pipeline(spec, obj, obj)
    raise SkewError(f"{spec} is a {type(obj).__name__}: neither callable nor a fitted transformer")


def _names(pipeline: Pipeline, width: int) -> list[str]:
    get = getattr(pipeline.obj, "get_feature_names_out", None)
    if not callable(get):
        raise SkewError(
            f"the pipeline {pipeline.spec} returned an array without feature names: return a "
            "DataFrame whose columns are the feature names, or give it get_feature_names_out()"
        )
    names = [str(n) for n in get()]
    if len(names) != width:
        raise SkewError(
            f"the pipeline {pipeline.spec} returned {width} columns but names {len(names)}"
        )
    return names


def recompute(
    pipeline: Pipeline, inputs: pd.DataFrame, wanted: Sequence[str]
) -> tuple[pd.DataFrame, list[str]]:
    """The pipeline's features for `inputs`, restricted to the `wanted` names it produces,
    and the names of every feature it produces."""
    try:
        out = pipeline.fn(inputs)
    except Exception as exc:
        raise SkewError(
            f"the pipeline {pipeline.spec} raised {type(exc).__name__}: {str(exc)[:300]}"
        ) from None
    if isinstance(out, pd.Series):
        out = out.to_frame()
    if isinstance(out, pd.DataFrame):
        frame = out.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        names = list(frame.columns)
        result = frame[[c for c in names if c in set(wanted)]]
    elif hasattr(out, "tocsc") or isinstance(out, np.ndarray):
        shape = out.shape
        width = shape[1] if len(shape) == 2 else 1
        names = _names(pipeline, width)
        idx = [i for i, n in enumerate(names) if n in set(wanted)]
        if hasattr(out, "tocsc"):  # scipy sparse: densify only the compared columns
            dense = np.asarray(out.tocsc()[:, idx].toarray())
        else:
            dense = np.asarray(out).reshape(shape[0], width)[:, idx]
        result = pd.DataFrame(dense, columns=[names[i] for i in idx])
    else:
        raise SkewError(
            f"the pipeline {pipeline.spec} returned a {type(out).__name__}; return a DataFrame, "
            "an array or a sparse matrix"
        )
    if len(result) != len(inputs):
        raise SkewError(
            f"the pipeline {pipeline.spec} returned {len(result)} rows for {len(inputs)} inputs"
        )
    return result, names


# --- sampling -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    ids: list[str]
    inputs: pd.DataFrame
    served: list[dict[str, Any]]
    available: int  # documents with served features (a lower bound above 10,000)


def sample(
    es: Elasticsearch,
    cfg: ESConfig,
    model: str,
    size: int,
    *,
    seed: int = 42,
    features_field: str = s.FEATURES,
    time_filter: dict[str, Any] | None = None,
) -> Sample:
    """A seeded random sample of predictions that carry served features."""
    if not 1 <= size <= MAX_SAMPLE:
        raise SkewError(f"--sample must be between 1 and {MAX_SAMPLE}, got {size}")
    index = s.index_pattern("predictions", model)
    base = [time_filter] if time_filter else []
    query = {
        "function_score": {
            "query": {"bool": {"filter": [*base, {"exists": {"field": features_field}}]}},
            "random_score": {"seed": seed, "field": "_seq_no"},
            "boost_mode": "replace",
        }
    }
    r = es_mod.call(
        cfg,
        lambda: es.search(
            index=index,
            query=query,
            size=size,
            source_includes=[s.PREDICTION_ID, s.INPUTS, features_field],
            ignore_unavailable=True,
            allow_no_indices=True,
        ),
    )
    hits = r.body["hits"]["hits"]
    if not hits:
        total = es_mod.call(
            cfg,
            lambda: es.count(
                index=index,
                query={"bool": {"filter": base}},
                ignore_unavailable=True,
                allow_no_indices=True,
            ),
        ).body.get("count", 0)
        if not total:
            raise SkewError(f"no prediction of model {model!r} is logged (in the time range)")
        raise SkewError(
            f"none of the {total} predictions of model {model!r} has served feature values "
            f"under `{features_field}.*`; log them with "
            "Shipper.log_prediction(inputs, prediction, features={name: value, ...})"
        )
    ids = [str(h["_source"].get(s.PREDICTION_ID, h["_id"])) for h in hits]
    rows = [h["_source"].get(s.INPUTS) or {} for h in hits]
    served = [_field(h["_source"], features_field) for h in hits]
    total_hits = r.body["hits"].get("total", {})
    available = int(total_hits.get("value", len(hits))) if isinstance(total_hits, dict) else 0
    return Sample(ids, pd.DataFrame.from_records(rows), served, available)


def _field(src: dict[str, Any], dotted: str) -> dict[str, Any]:
    value = src.get(dotted)
    if value is None:
        value = s.get_path(src, dotted)
    return value if isinstance(value, dict) else {}


# --- comparison (pure) --------------------------------------------------------------------
@dataclass(frozen=True)
class Example:
    prediction_id: str
    served: Any
    recomputed: Any
    abs_diff: float | None


@dataclass(frozen=True)
class FeatureSkew:
    name: str
    compared: int
    mismatched: int
    max_abs_diff: float | None
    examples: tuple[Example, ...]

    @property
    def share(self) -> float:
        return self.mismatched / self.compared if self.compared else 0.0


def _missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float | np.floating) and math.isnan(v)


def _as_number(v: Any) -> float | None:
    if isinstance(v, bool | np.bool_):
        return float(v)
    if isinstance(v, int | float | np.integer | np.floating):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


def values_match(a: Any, b: Any, atol: float, rtol: float) -> tuple[bool, float | None]:
    """(match, |a - b| when both are numbers) under the module's rules."""
    am, bm = _missing(a), _missing(b)
    if am or bm:
        return am and bm, None
    x, y = _as_number(a), _as_number(b)
    if x is not None and y is not None and not (isinstance(a, str) and isinstance(b, str)):
        if math.isinf(x) or math.isinf(y):
            return x == y, None if x == y else math.inf
        diff = abs(x - y)
        return diff <= max(atol, rtol * max(abs(x), abs(y))), diff
    return str(a) == str(b), None


def _plain(v: Any) -> Any:
    if _missing(v):
        return None
    return v.item() if hasattr(v, "item") else v


def compare_feature(
    name: str,
    ids: Sequence[str],
    served: Sequence[Any],
    recomputed: Sequence[Any],
    atol: float,
    rtol: float,
    examples: int = EXAMPLES,
) -> FeatureSkew:
    """Row-by-row comparison of one feature."""
    mismatched = 0
    max_diff: float | None = None
    shown: list[Example] = []
    for pid, a, b in zip(ids, served, recomputed, strict=True):
        ok, diff = values_match(a, b, atol, rtol)
        if diff is not None:
            max_diff = diff if max_diff is None else max(max_diff, diff)
        if not ok:
            mismatched += 1
            if len(shown) < examples:
                shown.append(Example(pid, _plain(a), _plain(b), diff))
    return FeatureSkew(name, len(ids), mismatched, max_diff, tuple(shown))


@dataclass(frozen=True)
class SkewReport:
    model: str
    pipeline: str
    sampled: int
    available: int
    features: tuple[FeatureSkew, ...]
    not_recomputed: tuple[str, ...]  # served, but the pipeline does not produce them
    not_served: tuple[str, ...]  # produced by the pipeline, never logged
    tolerance: float
    rel_tolerance: float
    max_mismatch: float

    @property
    def skewed(self) -> list[str]:
        return [f.name for f in self.features if f.share > self.max_mismatch]

    @property
    def exit_code(self) -> int:
        return EXIT_FINDING if self.skewed else EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "predwatch-skew",
            "format_version": 1,
            "model": self.model,
            "pipeline": self.pipeline,
            "sampled": self.sampled,
            "available": self.available,
            "policy": {
                "tolerance": self.tolerance,
                "rel_tolerance": self.rel_tolerance,
                "max_mismatch": self.max_mismatch,
            },
            "features": [
                {
                    "feature": f.name,
                    "compared": f.compared,
                    "mismatched": f.mismatched,
                    "mismatch_share": f.share,
                    "max_abs_diff": f.max_abs_diff,
                    "skewed": f.share > self.max_mismatch,
                    "examples": [e.__dict__ for e in f.examples],
                }
                for f in self.features
            ],
            "not_recomputed": list(self.not_recomputed),
            "not_served": list(self.not_served),
            "skewed": self.skewed,
            "exit_code": self.exit_code,
        }


def compare(
    model: str,
    pipeline: Pipeline,
    smp: Sample,
    *,
    tolerance: float = 1e-6,
    rel_tolerance: float = 1e-9,
    max_mismatch: float = 0.0,
) -> SkewReport:
    """Recompute the sample's features and compare them with the served ones."""
    served_names = sorted({k for row in smp.served for k in row})
    recomputed, all_names = recompute(pipeline, smp.inputs, served_names)
    produced = set(recomputed.columns)
    both = [n for n in served_names if n in produced]
    if not both:
        raise SkewError(
            f"no served feature is produced by {pipeline.spec}: served "
            f"{', '.join(served_names[:8])}{' ...' if len(served_names) > 8 else ''}; the "
            "pipeline's names must equal the logged `features` keys"
        )
    results = tuple(
        compare_feature(
            n,
            smp.ids,
            [row.get(n) for row in smp.served],
            recomputed[n].tolist(),
            tolerance,
            rel_tolerance,
        )
        for n in both
    )
    return SkewReport(
        model=model,
        pipeline=pipeline.spec,
        sampled=len(smp.ids),
        available=smp.available,
        features=results,
        not_recomputed=tuple(n for n in served_names if n not in produced),
        not_served=tuple(n for n in all_names if n not in set(served_names)),
        tolerance=tolerance,
        rel_tolerance=rel_tolerance,
        max_mismatch=max_mismatch,
    )
