"""Panels of the drift dashboard: analyzer verdicts and statistics over time, and the alerts
raised for the model. Reads `predwatch-drift-<model>` and `predwatch-alerts`. Pure."""

from __future__ import annotations

from predwatch.kibana import lens as L
from predwatch.kibana.context import (
    ALERT_VALUE,
    DRIFTED_COUNT,
    DRIFTED_FLAG,
    EFFECT_SIZE,
    ESTIMATED_PREFIX,
    FEATURE,
    METRIC_NAME,
    METRIC_REALIZED,
    METRIC_SCOPE,
    METRIC_VALUE,
    P_VALUE_ADJUSTED,
    RECORD_TYPE,
    RULE_NAME,
    SEGMENT_NAME,
    SEVERITY,
    STATISTIC,
    TEST,
    Ctx,
    Item,
)

TOP_FEATURES = 10


def _records(kind: str) -> str:
    return L.kql_eq(RECORD_TYPE, kind)


def drift_items(ctx: Ctx) -> list[Item]:
    dv = ctx.data_view("drift")
    alerts = ctx.data_view("alerts")
    summary, tests, features = _records("summary"), _records("test"), _records("feature")
    return [
        Item(
            "kpi:runs",
            16,
            6,
            L.Lens(
                ctx.title("Analyzer runs"), dv, "metric", [L.count("Analyzer runs")], query=summary
            ),
        ),
        Item(
            "kpi:drifted_last",
            16,
            6,
            L.Lens(
                ctx.title("Features drifted in the last run"),
                dv,
                "metric",
                [L.last_value(DRIFTED_COUNT, label="Features drifted (last run)")],
                query=summary,
            ),
        ),
        Item(
            "kpi:alerts",
            16,
            6,
            L.Lens(
                ctx.title("Alerts"), alerts, "metric", [L.count("Alerts")], query=ctx.model_query
            ),
        ),
        Item(
            "drifted_per_run",
            24,
            12,
            L.Lens(
                ctx.title("Drifted features per analyzer run"),
                dv,
                "xy",
                [L.metric("max", DRIFTED_COUNT, label="Drifted features")],
                x=L.date_histogram(),
                series="bar",
                query=summary,
            ),
        ),
        Item(
            "verdicts",
            24,
            12,
            L.Lens(
                ctx.title("Drift verdicts by feature"),
                dv,
                "xy",
                [L.metric("sum", DRIFTED_FLAG, label="Drifted verdicts")],
                x=L.date_histogram(),
                split=L.terms(FEATURE, size=20, label="Feature", other=False),
                series="bar_stacked",
                query=features,
                description="One bar segment per analyzer run that found the feature drifted.",
            ),
        ),
        Item(
            "effect_size",
            24,
            12,
            L.Lens(
                ctx.title("Effect size by feature"),
                dv,
                "xy",
                [L.metric("max", EFFECT_SIZE, label="Effect size (max)")],
                x=L.date_histogram(),
                split=L.terms(FEATURE, size=TOP_FEATURES, label="Feature", other=False),
                query=tests,
                description="Largest effect size of any test per feature (PSI, JS, "
                "Cohen's w, ...): how much the distribution moved, whatever n is.",
            ),
        ),
        Item(
            "p_values",
            24,
            12,
            L.Lens(
                ctx.title("Smallest adjusted p-value by feature"),
                dv,
                "xy",
                [L.metric("min", P_VALUE_ADJUSTED, label="Adjusted p-value (min)")],
                x=L.date_histogram(),
                split=L.terms(
                    FEATURE, size=TOP_FEATURES, label="Feature", ascending=True, other=False
                ),
                query=tests,
                description="Multiple-testing corrected; with large n read it together "
                "with the effect size.",
            ),
        ),
        Item(
            "latest",
            48,
            15,
            L.Lens(
                ctx.title("Latest test results per feature"),
                dv,
                "table",
                [
                    L.last_value(DRIFTED_FLAG, label="Drifted (1 = yes)"),
                    L.last_value(STATISTIC, label="Statistic"),
                    L.last_value(P_VALUE_ADJUSTED, label="Adjusted p-value"),
                    L.last_value(EFFECT_SIZE, label="Effect size"),
                ],
                rows=[
                    L.terms(FEATURE, size=200, label="Feature", alphabetical=True, other=False),
                    L.terms(TEST, size=20, label="Test", alphabetical=True, other=False),
                ],
                query=tests,
            ),
        ),
        Item(
            "segments_over_time",
            24,
            12,
            L.Lens(
                ctx.title("Drifted segments per analyzer run"),
                dv,
                "xy",
                [L.metric("sum", DRIFTED_FLAG, label="Drifted segments")],
                x=L.date_histogram(),
                split=L.terms(SEGMENT_NAME, size=20, label="Segment", other=False),
                series="bar_stacked",
                query=_records("segment"),
                description="Runs of `predwatch analyze --segment-by`: one bar segment per "
                "run that found the segment drifted (or gone).",
            ),
        ),
        Item(
            "segment_grid",
            24,
            12,
            L.Lens(
                ctx.title("Latest verdicts per segment and feature"),
                dv,
                "table",
                [L.last_value(DRIFTED_FLAG, label="Drifted (1 = yes)")],
                rows=[
                    L.terms(
                        SEGMENT_NAME, size=100, label="Segment", alphabetical=True, other=False
                    ),
                    L.terms(FEATURE, size=200, label="Feature", alphabetical=True, other=False),
                ],
                query=_records("segment_feature"),
                description="The segment x feature grid of the latest segmented runs.",
            ),
        ),
        Item(
            "metrics",
            24,
            12,
            L.Lens(
                ctx.title("Analyzer metrics"),
                dv,
                "xy",
                [L.metric("average", METRIC_VALUE, label="Value")],
                x=L.date_histogram(),
                split=L.terms(METRIC_NAME, size=10, label="Metric", other=False),
                query=_records("metric"),
            ),
        ),
        Item(
            "estimated_quality",
            48,
            12,
            L.Lens(
                ctx.title("Estimated (before labels) and realized quality"),
                dv,
                "xy",
                [
                    L.metric("average", METRIC_VALUE, label="Estimated"),
                    L.metric("average", METRIC_REALIZED, label="Realized"),
                ],
                x=L.date_histogram(),
                split=L.terms(METRIC_NAME, size=5, label="Metric", other=False),
                query=f"{_records('metric')} and {L.kql_eq(METRIC_SCOPE, 'all')} and "
                f"{L.kql_field(METRIC_NAME)} : {ESTIMATED_PREFIX}*",
                description="predwatch quality --estimate: CBPE estimates from the scores "
                "alone, and the realized value once outcomes have arrived (all versions)",
            ),
        ),
        Item(
            "alerts_over_time",
            24,
            12,
            L.Lens(
                ctx.title("Alerts by rule"),
                alerts,
                "xy",
                [L.count("Alerts")],
                x=L.date_histogram(),
                split=L.terms(RULE_NAME, size=10, label="Rule"),
                series="bar_stacked",
                query=ctx.model_query,
            ),
        ),
        Item(
            "alerts_table",
            48,
            12,
            L.Lens(
                ctx.title("Alerts by rule and severity"),
                alerts,
                "table",
                [L.count("Alerts"), L.last_value(ALERT_VALUE, label="Last value")],
                rows=[
                    L.terms(RULE_NAME, size=50, label="Rule", other=False),
                    L.terms(SEVERITY, size=5, label="Severity", other=False),
                ],
                query=ctx.model_query,
            ),
        ),
    ]
