"""The baseline: a training-data profile every other part of predwatch reads.

The public face of `baseline_model` (the dataclasses), `baseline_format` (the JSON layout and
its validation) and `baseline_io` (files). None of them needs pandas, numpy or scipy: a
serving app loads baselines with the light install; building one from a DataFrame lives in
`predwatch.analyzers.profile`, storing it in Elasticsearch in `predwatch.baseline_store`.
"""

from __future__ import annotations

from predwatch.baseline_format import check_metrics
from predwatch.baseline_io import load_baseline, save_baseline
from predwatch.baseline_model import (
    DEFAULT_TOKEN_PATTERN,
    FORMAT,
    FORMAT_VERSION,
    KINDS,
    Baseline,
    BaselineError,
    CategoricalProfile,
    FeatureProfile,
    NumericProfile,
    PredictionKind,
    PredictionProfile,
    SegmentProfile,
    SegmentProfiles,
    TextProfile,
    Tokenizer,
    category_key,
    now_iso,
)

__all__ = [
    "DEFAULT_TOKEN_PATTERN",
    "FORMAT",
    "FORMAT_VERSION",
    "KINDS",
    "Baseline",
    "BaselineError",
    "CategoricalProfile",
    "FeatureProfile",
    "NumericProfile",
    "PredictionKind",
    "PredictionProfile",
    "SegmentProfile",
    "SegmentProfiles",
    "TextProfile",
    "Tokenizer",
    "category_key",
    "check_metrics",
    "load_baseline",
    "now_iso",
    "save_baseline",
]
