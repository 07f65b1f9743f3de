"""Panels of the inputs dashboard: what the model is being fed, per feature. Pure."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from predwatch import schema as s
from predwatch.baseline import Baseline, FeatureProfile, NumericProfile
from predwatch.kibana import lens as L
from predwatch.kibana.context import Ctx, Item
from predwatch.kibana.shapes import Panels

OVERVIEW_SERIES = 10  # lines per overview chart; more are unreadable
PERCENTILES = (5, 25, 50, 75, 95)
TOP_VALUES = 10
TOP_UNSEEN = 20


def input_items(ctx: Ctx, baseline: Baseline | None) -> tuple[list[Item], list[str]]:
    """The panels, and the names of features left without their own panels (over the cap)."""
    panels = Panels(ctx, ctx.data_view("predictions"))
    if baseline is None or not baseline.features:
        return _generic(panels), []
    features = list(baseline.features)
    items = _overview(panels, features)
    for f in features[: ctx.max_features]:
        if f.type is s.FeatureType.CATEGORICAL:
            items += _categorical(panels, f)
        elif f.type is s.FeatureType.NUMERIC:
            items += _numeric(panels, f)
        else:
            items += _text(panels, f)
    items.append(Item("search:oov_examples", 48, 15, search=ctx.search("oov_examples")))
    return items, [f.name for f in features[ctx.max_features :]]


def _generic(panels: Panels) -> list[Item]:
    """Without a baseline only the per-prediction counters are known fields."""
    return [
        panels.chart(
            "counters",
            48,
            "Missing and out-of-vocabulary inputs per prediction",
            [
                L.metric("average", s.MISSING_COUNT, label="Missing inputs (mean)"),
                L.metric("average", s.OOV_COUNT, label="OOV inputs (mean)"),
            ],
            description="No baseline: per-feature panels appear once the model has one.",
        ),
        Item("search:oov_examples", 48, 15, search=panels.ctx.search("oov_examples")),
    ]


def _overview(panels: Panels, features: list[FeatureProfile]) -> list[Item]:
    items = [
        _overview_chart(
            panels,
            "missing",
            "Missing rate by feature",
            features,
            lambda f: L.rate(s.feature_field(s.MISSING, f.name), f.name),
        )
    ]
    vocab = [f for f in features if f.type is not s.FeatureType.NUMERIC]
    if vocab:
        items.append(
            _overview_chart(
                panels,
                "oov",
                "Out-of-vocabulary rate by feature",
                vocab,
                _oov_rate,
                "Categorical: share of predictions with an unseen value. "
                "Text: mean share of unseen words per document.",
            )
        )
    numeric = [f for f in features if f.type is s.FeatureType.NUMERIC]
    if numeric:
        items.append(
            _overview_chart(
                panels,
                "out_of_range",
                "Out-of-range rate by numeric feature",
                numeric,
                lambda f: L.rate(s.feature_field(s.OUT_OF_RANGE, f.name), f.name),
                "Share of predictions outside the training [min, max].",
            )
        )
    for item in items:  # one row, whatever the number of overview charts
        item.w = 48 // len(items)
    return items


def _overview_chart(
    panels: Panels,
    key: str,
    title: str,
    features: Sequence[FeatureProfile],
    series: Callable[[FeatureProfile], L.Column],
    about: str = "",
) -> Item:
    """One line per feature, for the first OVERVIEW_SERIES features (more are unreadable);
    past the cap the description says so instead of `about`."""
    note = about
    if len(features) > OVERVIEW_SERIES:
        note = (
            f"The first {OVERVIEW_SERIES} of {len(features)} features; each feature has its own "
            "panels below."
        )
    metrics = [series(f) for f in features[:OVERVIEW_SERIES]]
    return panels.chart(f"overview:{key}", 24, title, metrics, description=note)


def _oov_rate(f: FeatureProfile) -> L.Column:
    if f.type is s.FeatureType.TEXT:
        present = L.kql_eq(s.feature_field(s.MISSING, f.name), 0)
        return L.rate(s.text_field(f.name, s.TEXT_OOV_RATE), f.name, where=present)
    return L.rate(s.feature_field(s.OOV, f.name), f.name)


def _rates(panels: Panels, f: FeatureProfile, first: L.Column, what: str) -> Item:
    return panels.chart(
        f"rates:{f.name}",
        12,
        f"{f.name}: {what} and missing rates",
        [first, L.rate(s.feature_field(s.MISSING, f.name), "Missing rate")],
        description=f"Training missing rate: {f.missing_rate:.2%}",
    )


def _categorical(panels: Panels, f: FeatureProfile) -> list[Item]:
    values = panels.chart(
        f"values:{f.name}",
        24,
        f"{f.name}: values over time",
        [L.count("Share of predictions")],
        split=L.terms(
            s.feature_field(s.INPUTS, f.name), size=TOP_VALUES, label=f"{f.name} (top values)"
        ),
        series="bar_percentage_stacked",
        description=_top_training_values(f),
    )
    unseen = _top_unseen(
        panels,
        f"unseen:{f.name}",
        f"{f.name}: top unseen values",
        "Predictions",
        s.feature_field(s.UNSEEN, f.name),
        "Unseen value",
        description="Values not in the training vocabulary, most frequent first.",
    )
    rates = _rates(panels, f, L.rate(s.feature_field(s.OOV, f.name), "OOV rate"), "OOV")
    return [values, rates, unseen]


def _numeric(panels: Panels, f: FeatureProfile) -> list[Item]:
    field_name = s.feature_field(s.INPUTS, f.name)
    prof = f.numeric
    refs = _finite([("Training min", prof.min), ("Training max", prof.max)]) if prof else []
    pct = panels.chart(
        f"percentiles:{f.name}",
        24,
        f"{f.name}: percentiles over time",
        [L.percentile(field_name, p, label=f"p{p}") for p in PERCENTILES],
        reference_lines=refs,
        description=_numeric_summary(prof),
    )
    rates = _rates(
        panels,
        f,
        L.rate(s.feature_field(s.OUT_OF_RANGE, f.name), "Out-of-range rate"),
        "out-of-range",
    )
    summary = panels.table(
        f"summary:{f.name}",
        12,
        f"{f.name}: summary",
        [
            L.metric("average", field_name, label="Mean"),
            L.metric("standard_deviation", field_name, label="Std"),
            L.metric("min", field_name, label="Min"),
            L.metric("max", field_name, label="Max"),
        ],
        description=_numeric_summary(prof),
    )
    return [pct, rates, summary]


def _text(panels: Panels, f: FeatureProfile) -> list[Item]:
    prof = f.text
    expected = _finite([("Expected (held-out)", prof.expected_oov_rate)]) if prof else []
    # A missing text has 0 words and rate 0: leave those documents out of word statistics.
    present = L.kql_eq(s.feature_field(s.MISSING, f.name), 0)
    oov = panels.chart(
        f"text_oov:{f.name}",
        24,
        f"{f.name}: unseen-word rate over time",
        [
            L.rate(s.text_field(f.name, s.TEXT_OOV_RATE), "Unseen-word rate (mean)", where=present),
            L.rate(s.feature_field(s.MISSING, f.name), "Missing rate"),
        ],
        reference_lines=expected,
        description="Mean share of a document's words not in the training vocabulary.",
    )
    words = _top_unseen(
        panels,
        f"oov_words:{f.name}",
        f"{f.name}: top unseen words",
        "Documents",
        s.text_field(f.name, s.TEXT_OOV_TERMS),
        "Unseen word",
    )
    tokens_field = s.text_field(f.name, s.TEXT_TOKENS)
    length_mean = _finite([("Training mean", prof.length.mean)]) if prof else []
    tokens = panels.chart(
        f"tokens:{f.name}",
        12,
        f"{f.name}: words per document",
        [
            L.metric("median", tokens_field, label="Median", where=present),
            L.percentile(tokens_field, 95, label="p95", where=present),
        ],
        reference_lines=length_mean,
    )
    return [oov, words, tokens]


def _top_unseen(
    panels: Panels,
    key: str,
    title: str,
    counted: str,
    field_name: str,
    label: str,
    description: str = "",
) -> Item:
    """The TOP_UNSEEN most frequent unseen values (or words) of a feature, with counts."""
    rows = [L.terms(field_name, size=TOP_UNSEEN, label=label, other=False)]
    return panels.table(key, 12, title, [L.count(counted)], rows=rows, description=description)


def _finite(lines: list[tuple[str, float]]) -> list[tuple[str, float]]:
    return [(label, v) for label, v in lines if math.isfinite(v)]


def _numeric_summary(prof: NumericProfile | None) -> str:
    if prof is None or prof.n == 0:
        return ""
    sd = math.sqrt(prof.var) if math.isfinite(prof.var) else math.nan
    return (
        f"Training: mean {prof.mean:.4g}, sd {sd:.4g}, min {prof.min:.4g}, max {prof.max:.4g} "
        f"(n={prof.n})"
    )


def _top_training_values(f: FeatureProfile) -> str:
    prof = f.categorical
    if prof is None or not prof.n:
        return ""
    top = sorted(prof.frequencies.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    shares = ", ".join(f"{k} {v / prof.n:.1%}" for k, v in top)
    return f"Training top values: {shares}"
