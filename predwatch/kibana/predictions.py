"""Panels of the predictions dashboard: traffic, latency, the predictions themselves, model
versions and the documents Elasticsearch refused. Pure."""

from __future__ import annotations

import math

from predwatch import schema as s
from predwatch.baseline import Baseline
from predwatch.kibana import lens as L
from predwatch.kibana.context import ERROR_TYPE, Ctx, Item

MAX_CLASSES = 10


def prediction_items(ctx: Ctx, baseline: Baseline | None) -> list[Item]:
    dv = ctx.data_view("predictions")
    dead = ctx.data_view("deadletter")
    pred = baseline.prediction if baseline else None
    items = [
        _metric(ctx, "kpi:traffic", dv, "Predictions", L.count("Predictions")),
        _metric(
            ctx,
            "kpi:latency_p95",
            dv,
            "Latency p95 (ms)",
            L.percentile(s.LATENCY_MS, 95, label="Latency p95 (ms)"),
        ),
        _metric(
            ctx,
            "kpi:nonfinite",
            dv,
            "Non-finite predictions",
            L.rate(s.NONFINITE, "Non-finite predictions"),
        ),
        _metric(
            ctx,
            "kpi:deadletters",
            dead,
            "Dead letters",
            L.count("Dead letters"),
            query=ctx.model_query,
        ),
        Item(
            "traffic",
            24,
            12,
            L.Lens(
                ctx.title("Traffic"),
                dv,
                "xy",
                [L.count("Predictions")],
                x=L.date_histogram(),
                series="bar",
                description="Predictions per interval: a drop to zero is an outage.",
            ),
        ),
        Item(
            "latency",
            24,
            12,
            L.Lens(
                ctx.title("Latency percentiles (ms)"),
                dv,
                "xy",
                [L.percentile(s.LATENCY_MS, p, label=f"p{p}") for p in (50, 95, 99)],
                x=L.date_histogram(),
            ),
        ),
    ]
    if pred is None or pred.value is not None:
        items.append(_value_stats(ctx, dv, baseline))
    if pred is None or pred.kind == "classification":
        items.append(
            Item(
                "label_share",
                24,
                12,
                L.Lens(
                    ctx.title("Predicted label share"),
                    dv,
                    "xy",
                    [L.count("Share")],
                    x=L.date_histogram(),
                    split=L.terms(s.PREDICTION_LABEL, size=MAX_CLASSES, label="Label"),
                    series="bar_percentage_stacked",
                ),
            )
        )
    classes = baseline.classes[:MAX_CLASSES] if baseline else ()
    if classes:
        items.append(
            Item(
                "class_scores",
                24,
                12,
                L.Lens(
                    ctx.title("Mean score per class"),
                    dv,
                    "xy",
                    [
                        L.metric("average", s.feature_field(s.PREDICTION_SCORES, c), label=c)
                        for c in classes
                    ],
                    x=L.date_histogram(),
                ),
            )
        )
    items += [
        Item(
            "version_share",
            24,
            12,
            L.Lens(
                ctx.title("Model version share"),
                dv,
                "xy",
                [L.count("Share")],
                x=L.date_histogram(),
                split=L.terms(s.MODEL_VERSION, size=10, label="Model version"),
                series="bar_percentage_stacked",
                description="A new colour is a deployment; two colours at once, a rollout.",
            ),
        ),
        Item(
            "health",
            24,
            12,
            L.Lens(
                ctx.title("Non-finite and truncated values"),
                dv,
                "xy",
                [
                    L.rate(s.NONFINITE, "Non-finite (NaN/inf)"),
                    L.rate(s.TRUNCATED, "Truncated inputs"),
                ],
                x=L.date_histogram(),
            ),
        ),
        Item(
            "deadletters",
            24,
            12,
            L.Lens(
                ctx.title("Dead letters by error type"),
                dead,
                "xy",
                [L.count("Documents")],
                x=L.date_histogram(),
                split=L.terms(ERROR_TYPE, size=5, label="Error type"),
                series="bar_stacked",
                query=ctx.model_query,
                description="Predictions Elasticsearch refused (kept with the error).",
            ),
        ),
        Item("search:deadletters", 48, 12, search=ctx.search("deadletters")),
    ]
    # Keep the row of key figures and the pairs of charts aligned when one is optional.
    charts = [i for i in items if not i.key.startswith(("kpi:", "search:"))]
    if len(charts) % 2:
        charts[-1].w = 48
    return items


def _metric(ctx: Ctx, key: str, dv: str, title: str, col: L.Column, query: str = "") -> Item:
    return Item(key, 12, 6, L.Lens(ctx.title(title), dv, "metric", [col], query=query))


def _value_stats(ctx: Ctx, dv: str, baseline: Baseline | None) -> Item:
    pred = baseline.prediction if baseline else None
    refs: list[tuple[str, float]] = []
    desc = "Median, mean, standard deviation, min and max of prediction.value per interval."
    if pred is not None and pred.value is not None and math.isfinite(pred.value.mean):
        refs.append(("Training mean", pred.value.mean))
        desc += f" Training mean {pred.value.mean:.4g}."
    return Item(
        "value_stats",
        24,
        12,
        L.Lens(
            ctx.title("Prediction statistics"),
            dv,
            "xy",
            [
                L.metric("median", s.PREDICTION_VALUE, label="Median"),
                L.metric("average", s.PREDICTION_VALUE, label="Mean"),
                L.metric("standard_deviation", s.PREDICTION_VALUE, label="Std"),
                L.metric("min", s.PREDICTION_VALUE, label="Min"),
                L.metric("max", s.PREDICTION_VALUE, label="Max"),
            ],
            x=L.date_histogram(),
            reference_lines=refs,
            description=desc,
        ),
    )
