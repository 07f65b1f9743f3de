"""Per-segment profiles in the baseline file (`baseline build --segment-by`), to and from JSON.

Layout, under the baseline's optional key ``segments`` (absent in baselines without them,
which stay valid and byte-identical)::

    "segments": [{"field": "region", "segments": [
        {"value": "pacific", "rows": 1234,
         "features": {"age": {"missing": 3, "counts": [...], "mean", "var", "min", "max"},
                      "country": {"missing": 0, "frequencies": {"fr": 40, ...}, "other": 7},
                      "review": {"missing": 2, "docs": 950, "heldout_docs": 96,
                                 "tokens": 1480, "oov_tokens": 31}},
         "prediction": {"value": {...numeric...}, "label": {...categorical...}} | null},
        ..., {"value": "(other)", ...}]}]

A segment's numeric counts use the baseline's own bin edges, its categorical frequencies the
baseline's frequency table and its text counts the baseline's tokenizer and vocabulary, so
neither edges nor vocabularies are repeated: the size is about segments x (numeric features
x bins + categorical features x top values + 5 numbers per text feature + the prediction's
bins and labels) numbers. A text feature's `tokens` and `oov_tokens` count the held-out
split (the no-drift OOV rate of the segment). Baselines written before text features and
predictions were profiled per segment lack them; they stay valid. Pure.
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
    TextProfile,
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


def _text(p: TextProfile) -> dict[str, Any]:
    """Counts of a segment's text profile (`length` holds the held-out documents)."""
    docs = p.length.n
    tokens = round(p.length.mean * docs) if docs else 0
    return {
        "docs": p.n,
        "heldout_docs": docs,
        "tokens": tokens,
        "oov_tokens": round(p.expected_oov_rate * tokens),
    }


def _segment(sp: SegmentProfile) -> dict[str, Any]:
    feats: dict[str, Any] = {}
    for f in sp.features:
        if f.numeric is not None:
            feats[f.name] = {"missing": f.missing, **_numeric(f.numeric)}
        elif f.categorical is not None:
            feats[f.name] = {"missing": f.missing, **_categorical(f.categorical)}
        elif f.text is not None:
            feats[f.name] = {"missing": f.missing, **_text(f.text)}
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


def text_profile(
    like: TextProfile, docs: int, heldout_docs: int, tokens: int, oov_tokens: int
) -> TextProfile:
    """A segment's text profile on the baseline's tokenizer and vocabulary. `length` holds
    the held-out documents only (their token count is the reference's sample size, so the
    comparison counts the noise of the segment's own estimate)."""
    mean = tokens / heldout_docs if heldout_docs else float("nan")
    length = NumericProfile(
        (), (float(heldout_docs),), mean, float("nan"), mean, mean, heldout_docs
    )
    rate = oov_tokens / tokens if tokens else 0.0
    return TextProfile(like.tokenizer, like.vocabulary, rate, length, docs)


def _read_text(v: Any, path: str, like: TextProfile) -> TextProfile:
    f = c.Fields(v, path)
    docs, held, tokens, oov = (f.count(k) for k in ("docs", "heldout_docs", "tokens", "oov_tokens"))
    if held > docs:
        raise c.Invalid(f.at("heldout_docs"), f"{held} held-out documents of {docs}")
    if oov > tokens:
        raise c.Invalid(f.at("oov_tokens"), f"{oov} unseen tokens of {tokens}")
    return text_profile(like, docs, held, tokens, oov)


def _read_segment(v: Any, path: str, b: Baseline) -> SegmentProfile:
    f = c.Fields(v, path)
    value = f.string("value")
    rows = f.count("rows")
    raw = f.obj("features")
    features = []
    for fp in b.features:
        entry = raw.data.get(fp.name)
        if entry is None:
            continue  # not profiled for this segment (older baselines: text features)
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
        elif fp.text is not None:
            text = _read_text(entry, at, fp.text)
            features.append(FeatureProfile(fp.name, fp.type, text.n + missing, missing, text=text))
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
