"""Panels of the predictions dashboard: traffic, latency, the predictions themselves, model
versions and the documents Elasticsearch refused. Pure."""

from __future__ import annotations

import math

from predwatch import schema as s
from predwatch.baseline import Baseline
from predwatch.kibana import lens as L
from predwatch.kibana.context import ERROR_TYPE, Ctx, Item
from predwatch.kibana.shapes import Panels

MAX_CLASSES = 10


def prediction_items(ctx: Ctx, baseline: Baseline | None) -> list[Item]:
    panels = Panels(ctx, ctx.data_view("predictions"))
    dead = Panels(ctx, ctx.data_view("deadletter"))
    pred = baseline.prediction if baseline else None
    items = [
        panels.key_figure("kpi:traffic", 12, "Predictions", L.count("Predictions")),
        panels.key_figure(
            "kpi:latency_p95",
            12,
            "Latency p95 (ms)",
            L.percentile(s.LATENCY_MS, 95, label="Latency p95 (ms)"),
        ),
        panels.key_figure(
            "kpi:nonfinite",
            12,
            "Non-finite predictions",
            L.rate(s.NONFINITE, "Non-finite predictions"),
        ),
        dead.key_figure(
            "kpi:deadletters",
            12,
            "Dead letters",
            L.count("Dead letters"),
            ctx.model_query,
        ),
        panels.chart(
            "traffic",
            24,
            "Traffic",
            [L.count("Predictions")],
            series="bar",
            description="Predictions per interval: a drop to zero is an outage.",
        ),
        panels.chart(
            "latency",
            24,
            "Latency percentiles (ms)",
            [L.percentile(s.LATENCY_MS, p, label=f"p{p}") for p in (50, 95, 99)],
        ),
    ]
    if pred is None or pred.value is not None:
        items.append(_value_stats(panels, baseline))
    if pred is None or pred.kind == "classification":
        items.append(
            panels.chart(
                "label_share",
                24,
                "Predicted label share",
                [L.count("Share")],
                split=L.terms(s.PREDICTION_LABEL, size=MAX_CLASSES, label="Label"),
                series="bar_percentage_stacked",
            )
        )
    classes = baseline.classes[:MAX_CLASSES] if baseline else ()
    if classes:
        items.append(
            panels.chart(
                "class_scores",
                24,
                "Mean score per class",
                [
                    L.metric("average", s.feature_field(s.PREDICTION_SCORES, c), label=c)
                    for c in classes
                ],
            )
        )
    items += [
        panels.chart(
            "version_share",
            24,
            "Model version share",
            [L.count("Share")],
            split=L.terms(s.MODEL_VERSION, size=10, label="Model version"),
            series="bar_percentage_stacked",
            description="A new colour is a deployment; two colours at once, a rollout.",
        ),
        panels.chart(
            "health",
            24,
            "Non-finite and truncated values",
            [L.rate(s.NONFINITE, "Non-finite (NaN/inf)"), L.rate(s.TRUNCATED, "Truncated inputs")],
        ),
        dead.chart(
            "deadletters",
            24,
            "Dead letters by error type",
            [L.count("Documents")],
            split=L.terms(ERROR_TYPE, size=5, label="Error type"),
            series="bar_stacked",
            query=ctx.model_query,
            description="Predictions Elasticsearch refused (kept with the error).",
        ),
        Item("search:deadletters", 48, 12, search=ctx.search("deadletters")),
    ]
    # Keep the row of key figures and the pairs of charts aligned when one is optional.
    charts = [i for i in items if not i.key.startswith(("kpi:", "search:"))]
    if len(charts) % 2:
        charts[-1].w = 48
    return items


def _value_stats(panels: Panels, baseline: Baseline | None) -> Item:
    pred = baseline.prediction if baseline else None
    refs: list[tuple[str, float]] = []
    desc = "Median, mean, standard deviation, min and max of prediction.value per interval."
    if pred is not None and pred.value is not None and math.isfinite(pred.value.mean):
        refs.append(("Training mean", pred.value.mean))
        desc += f" Training mean {pred.value.mean:.4g}."
    return panels.chart(
        "value_stats",
        24,
        "Prediction statistics",
        [
            L.metric("median", s.PREDICTION_VALUE, label="Median"),
            L.metric("average", s.PREDICTION_VALUE, label="Mean"),
            L.metric("standard_deviation", s.PREDICTION_VALUE, label="Std"),
            L.metric("min", s.PREDICTION_VALUE, label="Min"),
            L.metric("max", s.PREDICTION_VALUE, label="Max"),
        ],
        reference_lines=refs,
        description=desc,
    )
