"""Baseline annotations of one prediction's inputs (pure; runs on the worker thread).

Rules, per feature the baseline knows (inputs it does not know pass through unannotated):
- missing: absent, None, NaN/inf (stored as null, see `_serialize`), "" for categorical and
  text; for a numeric feature also a value that is not a number (e.g. "abc"): the model got
  no usable number.
- categorical: the value's `baseline.category_key` is not in the training vocabulary ->
  `monitor.oov.<f>` = 1 and `monitor.unseen.<f>` = the value. When the baseline's vocabulary
  was capped (`vocabulary_truncated`) a rare training value can be flagged too.
- numeric: outside the training [min, max] -> `monitor.out_of_range.<f>` = 1.
- text: tokens by the baseline's tokenizer; `tokens`, `oov_tokens`, `oov_rate` and up to
  `MAX_OOV_TERMS` distinct unseen words (`oov_terms`).
- `monitor.missing_count` = features flagged missing; `monitor.oov_count` = categorical
  features flagged OOV; `monitor.baseline` = "model@version" of the baseline.
Every flag of a baseline feature is written as 0 or 1 (never left out), so a Kibana
average of a flag is a rate.
"""

from __future__ import annotations

from typing import Any

from predwatch import schema as s
from predwatch.baseline import Baseline, Tokenizer, category_key

MAX_OOV_TERMS = 20
MAX_TERM_CHARS = 100

_NUMERIC, _CATEGORICAL, _TEXT = 0, 1, 2


def _leaf(dotted: str) -> str:
    """Key of a `monitor.*` group inside the `monitor` object."""
    return dotted.split(".", 1)[1]


MISSING, OOV, UNSEEN = _leaf(s.MISSING), _leaf(s.OOV), _leaf(s.UNSEEN)
OUT_OF_RANGE, TEXT = _leaf(s.OUT_OF_RANGE), _leaf(s.TEXT)
MISSING_COUNT, OOV_COUNT, BASELINE = _leaf(s.MISSING_COUNT), _leaf(s.OOV_COUNT), _leaf(s.BASELINE)


class Annotator:
    """Compiled from a baseline once; `annotate` fills the `monitor` object of one document."""

    __slots__ = ("baseline_id", "classes", "features", "kind", "plan")

    def __init__(self, baseline: Baseline) -> None:
        self.baseline_id = baseline.id
        self.classes = baseline.classes
        self.kind = baseline.prediction.kind if baseline.prediction else None
        # Mapped explicitly by the model's template: never counted against the field cap.
        self.features = tuple(f.name for f in baseline.features)
        plan: list[tuple[str, int, Any, Any]] = []
        for f in baseline.features:
            if f.type is s.FeatureType.NUMERIC and f.numeric is not None:
                plan.append((f.name, _NUMERIC, f.numeric.min, f.numeric.max))
            elif f.type is s.FeatureType.CATEGORICAL and f.categorical is not None:
                plan.append((f.name, _CATEGORICAL, f.categorical.vocabulary, None))
            elif f.type is s.FeatureType.TEXT and f.text is not None:
                plan.append((f.name, _TEXT, f.text.tokenizer, f.text.vocabulary))
        self.plan = tuple(plan)

    def annotate(self, inputs: dict[str, Any], monitor: dict[str, Any]) -> None:
        """Add missing/OOV/range/text annotations for the cleaned `inputs` to `monitor`."""
        missing: dict[str, int] = {}
        oov: dict[str, int] = {}
        unseen: dict[str, str] = {}
        out_of_range: dict[str, int] = {}
        text: dict[str, Any] = {}
        n_missing = n_oov = 0
        for name, kind, a, b in self.plan:
            v = inputs.get(name)
            if kind == _NUMERIC:
                x = _number(v)
                if x is None:
                    missing[name] = 1
                    out_of_range[name] = 0
                    n_missing += 1
                else:
                    missing[name] = 0
                    out_of_range[name] = 1 if (x < a or x > b) else 0
            elif kind == _CATEGORICAL:
                key = category_key(v)
                if key is None:
                    missing[name] = 1
                    oov[name] = 0
                    n_missing += 1
                elif key in a:
                    missing[name] = 0
                    oov[name] = 0
                else:
                    missing[name] = 0
                    oov[name] = 1
                    unseen[name] = key[: s.KEYWORD_IGNORE_ABOVE]
                    n_oov += 1
            elif v is None or v == "":
                missing[name] = 1
                n_missing += 1
                _text_counts(text, name, 0, 0, [])
            else:
                missing[name] = 0
                _annotate_text(text, name, v if isinstance(v, str) else str(v), a, b)
        monitor[MISSING] = missing
        monitor[OOV] = oov
        monitor[UNSEEN] = unseen
        monitor[OUT_OF_RANGE] = out_of_range
        monitor[TEXT] = text
        monitor[MISSING_COUNT] = n_missing
        monitor[OOV_COUNT] = n_oov
        monitor[BASELINE] = self.baseline_id


def _number(v: Any) -> float | None:
    if v is None:
        return None
    if type(v) is float or type(v) is int or type(v) is bool:
        return float(v)
    try:
        x = float(v)
    except (TypeError, ValueError, OverflowError):
        return None
    return None if x != x else x


def _annotate_text(
    out: dict[str, Any], name: str, value: str, tokenizer: Tokenizer, vocab: dict[str, int]
) -> None:
    tokens = tokenizer.tokens(value)
    terms: list[str] = []
    seen: set[str] = set()
    n_oov = 0
    for t in tokens:
        if t not in vocab:
            n_oov += 1
            if t not in seen and len(terms) < MAX_OOV_TERMS:
                seen.add(t)
                terms.append(t[:MAX_TERM_CHARS])
    _text_counts(out, name, len(tokens), n_oov, terms)


def _text_counts(out: dict[str, Any], name: str, n: int, n_oov: int, terms: list[str]) -> None:
    out[f"{name}.{s.TEXT_TOKENS}"] = n
    out[f"{name}.{s.TEXT_OOV_TOKENS}"] = n_oov
    out[f"{name}.{s.TEXT_OOV_RATE}"] = (n_oov / n) if n else 0.0
    if terms:
        out[f"{name}.{s.TEXT_OOV_TERMS}"] = terms
