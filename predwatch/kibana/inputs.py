"""Panels of the inputs dashboard: what the model is being fed, per feature. Pure."""

from __future__ import annotations

import math
from collections.abc import Sequence

from predwatch import schema as s
from predwatch.baseline import Baseline, FeatureProfile, NumericProfile
from predwatch.kibana import lens as L
from predwatch.kibana.context import Ctx, Item

OVERVIEW_SERIES = 10  # lines per overview chart; more are unreadable
PERCENTILES = (5, 25, 50, 75, 95)
TOP_VALUES = 10
TOP_UNSEEN = 20


def input_items(ctx: Ctx, baseline: Baseline | None) -> tuple[list[Item], list[str]]:
    """The panels, and the names of features left without their own panels (over the cap)."""
    dv = ctx.data_view("predictions")
    if baseline is None or not baseline.features:
        return _generic(ctx, dv), []
    features = list(baseline.features)
    items = _overview(ctx, dv, features)
    for f in features[: ctx.max_features]:
        if f.type is s.FeatureType.CATEGORICAL:
            items += _categorical(ctx, dv, f)
        elif f.type is s.FeatureType.NUMERIC:
            items += _numeric(ctx, dv, f)
        else:
            items += _text(ctx, dv, f)
    items.append(Item("search:oov_examples", 48, 15, search=ctx.search("oov_examples")))
    return items, [f.name for f in features[ctx.max_features :]]


def _generic(ctx: Ctx, dv: str) -> list[Item]:
    """Without a baseline only the per-prediction counters are known fields."""
    return [
        Item(
            "counters",
            48,
            12,
            L.Lens(
                ctx.title("Missing and out-of-vocabulary inputs per prediction"),
                dv,
                "xy",
                [
                    L.metric("average", s.MISSING_COUNT, label="Missing inputs (mean)"),
                    L.metric("average", s.OOV_COUNT, label="OOV inputs (mean)"),
                ],
                x=L.date_histogram(),
                description="No baseline: per-feature panels appear once the model has one.",
            ),
        ),
        Item("search:oov_examples", 48, 15, search=ctx.search("oov_examples")),
    ]


def _capped(features: Sequence[FeatureProfile]) -> tuple[list[FeatureProfile], str]:
    shown = list(features[:OVERVIEW_SERIES])
    note = (
        f"The first {OVERVIEW_SERIES} of {len(features)} features; each feature has its own "
        "panels below."
        if len(features) > OVERVIEW_SERIES
        else ""
    )
    return shown, note


def _overview(ctx: Ctx, dv: str, features: list[FeatureProfile]) -> list[Item]:
    items: list[Item] = []
    shown, note = _capped(features)
    items.append(
        _rates_item(
            ctx,
            dv,
            "missing",
            "Missing rate by feature",
            [L.rate(s.feature_field(s.MISSING, f.name), f.name) for f in shown],
            note,
        )
    )
    vocab = [f for f in features if f.type is not s.FeatureType.NUMERIC]
    if vocab:
        shown, note = _capped(vocab)
        items.append(
            _rates_item(
                ctx,
                dv,
                "oov",
                "Out-of-vocabulary rate by feature",
                [_oov_rate(f) for f in shown],
                note
                or "Categorical: share of predictions with an unseen value. "
                "Text: mean share of unseen words per document.",
            )
        )
    numeric = [f for f in features if f.type is s.FeatureType.NUMERIC]
    if numeric:
        shown, note = _capped(numeric)
        items.append(
            _rates_item(
                ctx,
                dv,
                "out_of_range",
                "Out-of-range rate by numeric feature",
                [L.rate(s.feature_field(s.OUT_OF_RANGE, f.name), f.name) for f in shown],
                note or "Share of predictions outside the training [min, max].",
            )
        )
    for item in items:  # one row, whatever the number of overview charts
        item.w = 48 // len(items)
    return items


def _oov_rate(f: FeatureProfile) -> L.Column:
    if f.type is s.FeatureType.TEXT:
        present = L.kql_eq(s.feature_field(s.MISSING, f.name), 0)
        return L.rate(s.text_field(f.name, s.TEXT_OOV_RATE), f.name, where=present)
    return L.rate(s.feature_field(s.OOV, f.name), f.name)


def _rates_item(
    ctx: Ctx, dv: str, key: str, title: str, metrics: list[L.Column], note: str
) -> Item:
    return Item(
        f"overview:{key}",
        24,
        12,
        L.Lens(ctx.title(title), dv, "xy", metrics, x=L.date_histogram(), description=note),
    )


def _rates(ctx: Ctx, dv: str, f: FeatureProfile, first: L.Column, what: str) -> Item:
    return Item(
        f"rates:{f.name}",
        12,
        12,
        L.Lens(
            ctx.title(f"{f.name}: {what} and missing rates"),
            dv,
            "xy",
            [first, L.rate(s.feature_field(s.MISSING, f.name), "Missing rate")],
            x=L.date_histogram(),
            description=f"Training missing rate: {f.missing_rate:.2%}",
        ),
    )


def _categorical(ctx: Ctx, dv: str, f: FeatureProfile) -> list[Item]:
    values = Item(
        f"values:{f.name}",
        24,
        12,
        L.Lens(
            ctx.title(f"{f.name}: values over time"),
            dv,
            "xy",
            [L.count("Share of predictions")],
            x=L.date_histogram(),
            split=L.terms(
                s.feature_field(s.INPUTS, f.name), size=TOP_VALUES, label=f"{f.name} (top values)"
            ),
            series="bar_percentage_stacked",
            description=_top_training_values(f),
        ),
    )
    unseen = Item(
        f"unseen:{f.name}",
        12,
        12,
        L.Lens(
            ctx.title(f"{f.name}: top unseen values"),
            dv,
            "table",
            [L.count("Predictions")],
            rows=[
                L.terms(
                    s.feature_field(s.UNSEEN, f.name),
                    size=TOP_UNSEEN,
                    label="Unseen value",
                    other=False,
                )
            ],
            description="Values not in the training vocabulary, most frequent first.",
        ),
    )
    rates = _rates(ctx, dv, f, L.rate(s.feature_field(s.OOV, f.name), "OOV rate"), "OOV")
    return [values, rates, unseen]


def _numeric(ctx: Ctx, dv: str, f: FeatureProfile) -> list[Item]:
    field_name = s.feature_field(s.INPUTS, f.name)
    prof = f.numeric
    refs = _finite([("Training min", prof.min), ("Training max", prof.max)]) if prof else []
    pct = Item(
        f"percentiles:{f.name}",
        24,
        12,
        L.Lens(
            ctx.title(f"{f.name}: percentiles over time"),
            dv,
            "xy",
            [L.percentile(field_name, p, label=f"p{p}") for p in PERCENTILES],
            x=L.date_histogram(),
            reference_lines=refs,
            description=_numeric_summary(prof),
        ),
    )
    rates = _rates(
        ctx,
        dv,
        f,
        L.rate(s.feature_field(s.OUT_OF_RANGE, f.name), "Out-of-range rate"),
        "out-of-range",
    )
    summary = Item(
        f"summary:{f.name}",
        12,
        12,
        L.Lens(
            ctx.title(f"{f.name}: summary"),
            dv,
            "table",
            [
                L.metric("average", field_name, label="Mean"),
                L.metric("standard_deviation", field_name, label="Std"),
                L.metric("min", field_name, label="Min"),
                L.metric("max", field_name, label="Max"),
            ],
            description=_numeric_summary(prof),
        ),
    )
    return [pct, rates, summary]


def _text(ctx: Ctx, dv: str, f: FeatureProfile) -> list[Item]:
    prof = f.text
    expected = _finite([("Expected (held-out)", prof.expected_oov_rate)]) if prof else []
    # A missing text has 0 words and rate 0: leave those documents out of word statistics.
    present = L.kql_eq(s.feature_field(s.MISSING, f.name), 0)
    oov = Item(
        f"text_oov:{f.name}",
        24,
        12,
        L.Lens(
            ctx.title(f"{f.name}: unseen-word rate over time"),
            dv,
            "xy",
            [
                L.rate(
                    s.text_field(f.name, s.TEXT_OOV_RATE), "Unseen-word rate (mean)", where=present
                ),
                L.rate(s.feature_field(s.MISSING, f.name), "Missing rate"),
            ],
            x=L.date_histogram(),
            reference_lines=expected,
            description="Mean share of a document's words not in the training vocabulary.",
        ),
    )
    words = Item(
        f"oov_words:{f.name}",
        12,
        12,
        L.Lens(
            ctx.title(f"{f.name}: top unseen words"),
            dv,
            "table",
            [L.count("Documents")],
            rows=[
                L.terms(
                    s.text_field(f.name, s.TEXT_OOV_TERMS),
                    size=TOP_UNSEEN,
                    label="Unseen word",
                    other=False,
                )
            ],
        ),
    )
    tokens_field = s.text_field(f.name, s.TEXT_TOKENS)
    length_mean = _finite([("Training mean", prof.length.mean)]) if prof else []
    tokens = Item(
        f"tokens:{f.name}",
        12,
        12,
        L.Lens(
            ctx.title(f"{f.name}: words per document"),
            dv,
            "xy",
            [
                L.metric("median", tokens_field, label="Median", where=present),
                L.percentile(tokens_field, 95, label="p95", where=present),
            ],
            x=L.date_histogram(),
            reference_lines=length_mean,
        ),
    )
    return [oov, words, tokens]


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
