"""Per-segment profiles in the baseline file (`baseline build --segment-by`), to and from JSON.

Layout, under the baseline's optional key ``segments`` (absent in baselines without them,
which stay valid and byte-identical)::

    "segments": [{"field": "region", "segments": [
        {"value": "pacific", "rows": 1234,
         "features": {"age": {"missing": 3, "counts": [...], "mean", "var", "min", "max"},
                      "country": {"missing": 0, "frequencies": {"fr": 40, ...}, "other": 7}},
         "prediction": {"value": {...numeric...}, "label": {...categorical...}} | null},
        ..., {"value": "(other)", ...}]}]

A segment's numeric counts use the baseline's own bin edges and its categorical frequencies
the baseline's frequency table, so neither edges nor vocabularies are repeated: the size is
about segments x (numeric features x bins + categorical features x top values) numbers.
Text features are not profiled per segment. Pure.
"""

from __future__ import annotations

import math
from typing import Any

from predwatch import baseline_checks as c
from predwatch.baseline_model import (
    Baseline,
    CategoricalProfile,
    FeatureProfile,
    NumericProfile,
    PredictionProfile,
    SegmentProfile,
    SegmentProfiles,
)


def _num(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _numeric(p: NumericProfile) -> dict[str, Any]:
    return {
        "counts": [float(x) for x in p.counts],
        "mean": _num(p.mean),
        "var": _num(p.var),
        "min": _num(p.min),
        "max": _num(p.max),
    }


def _categorical(p: CategoricalProfile) -> dict[str, Any]:
    return {"frequencies": dict(sorted(p.frequencies.items())), "other": p.other}


def _segment(sp: SegmentProfile) -> dict[str, Any]:
    feats: dict[str, Any] = {}
    for f in sp.features:
        if f.numeric is not None:
            feats[f.name] = {"missing": f.missing, **_numeric(f.numeric)}
        elif f.categorical is not None:
            feats[f.name] = {"missing": f.missing, **_categorical(f.categorical)}
    pred = None
    if sp.prediction is not None:
        pv, pl = sp.prediction.value, sp.prediction.label
        pred = {
            "value": _numeric(pv) if pv else None,
            "label": _categorical(pl) if pl else None,
        }
    return {"value": sp.value, "rows": sp.rows, "features": feats, "prediction": pred}


def segments_to_list(b: Baseline) -> list[dict[str, Any]]:
    return [{"field": s.field, "segments": [_segment(sp) for sp in s.segments]} for s in b.segments]


def _read_numeric(v: Any, path: str, like: NumericProfile) -> NumericProfile:
    f = c.Fields(v, path)
    counts = f.numbers("counts", len(like.edges) + 1)
    if any(x < 0 for x in counts):
        raise c.Invalid(f.at("counts"), "counts must not be negative")
    return NumericProfile(
        edges=like.edges,
        counts=counts,
        mean=f.number_or_nan("mean"),
        var=f.number_or_nan("var"),
        min=f.number_or_nan("min"),
        max=f.number_or_nan("max"),
        n=round(math.fsum(counts)),
    )


def _read_categorical(v: Any, path: str, like: CategoricalProfile) -> CategoricalProfile:
    f = c.Fields(v, path)
    freq = f.counts("frequencies")
    unknown = sorted(set(freq) - set(like.frequencies))
    if unknown:
        raise c.Invalid(f.at("frequencies"), f"{unknown[0]!r} is not in the baseline's table")
    other = f.count("other")
    # The segment's share of unseen values is unknown (a value seen once in the segment may
    # be frequent elsewhere): marked truncated, its oov_rate is not compared and unseen
    # values count in (other); the run's overall oov_rate still compares them.
    n = sum(freq.values()) + other
    return CategoricalProfile(freq, other, like.vocabulary, n, vocabulary_truncated=True)


def _read_segment(v: Any, path: str, b: Baseline) -> SegmentProfile:
    f = c.Fields(v, path)
    value = f.string("value")
    rows = f.count("rows")
    raw = f.obj("features")
    features = []
    for fp in b.features:
        entry = raw.data.get(fp.name)
        if entry is None or (fp.numeric is None and fp.categorical is None):
            continue
        at = raw.at(fp.name)
        missing = c.Fields(entry, at).count("missing")
        if fp.numeric is not None:
            num = _read_numeric(entry, at, fp.numeric)
            features.append(FeatureProfile(fp.name, fp.type, num.n + missing, missing, numeric=num))
        elif fp.categorical is not None:
            cat = _read_categorical(entry, at, fp.categorical)
            features.append(
                FeatureProfile(fp.name, fp.type, cat.n + missing, missing, categorical=cat)
            )
    pred = None
    raw_pred = f.get("prediction", optional=True)
    if raw_pred is not None and b.prediction is not None:
        pf = c.Fields(raw_pred, f.at("prediction"))
        pv_raw, pl_raw = pf.get("value", optional=True), pf.get("label", optional=True)
        bp = b.prediction
        pv = _read_numeric(pv_raw, pf.at("value"), bp.value) if pv_raw and bp.value else None
        pl = _read_categorical(pl_raw, pf.at("label"), bp.label) if pl_raw and bp.label else None
        pred = PredictionProfile(bp.kind, pv, pl, bp.classes)
    return SegmentProfile(value, rows, tuple(features), pred)


def read_segments(data: Any, b: Baseline) -> tuple[SegmentProfiles, ...]:
    """The `segments` list of a baseline file (c.Invalid names a bad field)."""
    if data is None:
        return ()
    if not isinstance(data, list):
        raise c.Invalid("segments", f"expected an array, got {c.type_name(data)}")
    out = []
    for i, entry in enumerate(data):
        f = c.Fields(entry, f"segments[{i}]")
        field = f.string("field")
        raw = f.get("segments")
        if not isinstance(raw, list) or not raw:
            raise c.Invalid(f.at("segments"), "expected a non-empty array")
        segs = tuple(_read_segment(s, f"{f.at('segments')}[{j}]", b) for j, s in enumerate(raw))
        out.append(SegmentProfiles(field, segs))
    return tuple(out)
