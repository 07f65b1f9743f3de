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
from predwatch.kibana.shapes import Panels

TOP_FEATURES = 10


def _records(kind: str) -> str:
    return L.kql_eq(RECORD_TYPE, kind)


def drift_items(ctx: Ctx) -> list[Item]:
    runs = Panels(ctx, ctx.data_view("drift"))
    alerts = Panels(ctx, ctx.data_view("alerts"))
    summary, tests, features = _records("summary"), _records("test"), _records("feature")
    return [
        runs.key_figure("kpi:runs", 16, "Analyzer runs", L.count("Analyzer runs"), summary),
        runs.key_figure(
            "kpi:drifted_last",
            16,
            "Features drifted in the last run",
            L.last_value(DRIFTED_COUNT, label="Features drifted (last run)"),
            summary,
        ),
        alerts.key_figure("kpi:alerts", 16, "Alerts", L.count("Alerts"), ctx.model_query),
        runs.chart(
            "drifted_per_run",
            24,
            "Drifted features per analyzer run",
            [L.metric("max", DRIFTED_COUNT, label="Drifted features")],
            series="bar",
            query=summary,
        ),
        runs.chart(
            "verdicts",
            24,
            "Drift verdicts by feature",
            [L.metric("sum", DRIFTED_FLAG, label="Drifted verdicts")],
            split=L.terms(FEATURE, size=20, label="Feature", other=False),
            series="bar_stacked",
            query=features,
            description="One bar segment per analyzer run that found the feature drifted.",
        ),
        runs.chart(
            "effect_size",
            24,
            "Effect size by feature",
            [L.metric("max", EFFECT_SIZE, label="Effect size (max)")],
            split=L.terms(FEATURE, size=TOP_FEATURES, label="Feature", other=False),
            query=tests,
            description="Largest effect size of any test per feature (PSI, JS, "
            "Cohen's w, ...): how much the distribution moved, whatever n is.",
        ),
        runs.chart(
            "p_values",
            24,
            "Smallest adjusted p-value by feature",
            [L.metric("min", P_VALUE_ADJUSTED, label="Adjusted p-value (min)")],
            split=L.terms(FEATURE, size=TOP_FEATURES, label="Feature", ascending=True, other=False),
            query=tests,
            description="Multiple-testing corrected; with large n read it together "
            "with the effect size.",
        ),
        runs.table(
            "latest",
            48,
            "Latest test results per feature",
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
            h=15,
            query=tests,
        ),
        runs.chart(
            "segments_over_time",
            24,
            "Drifted segments per analyzer run",
            [L.metric("sum", DRIFTED_FLAG, label="Drifted segments")],
            split=L.terms(SEGMENT_NAME, size=20, label="Segment", other=False),
            series="bar_stacked",
            query=_records("segment"),
            description="Runs of `predwatch analyze --segment-by`: one bar segment per "
            "run that found the segment drifted (or gone).",
        ),
        runs.table(
            "segment_grid",
            24,
            "Latest verdicts per segment and feature",
            [L.last_value(DRIFTED_FLAG, label="Drifted (1 = yes)")],
            rows=[
                L.terms(SEGMENT_NAME, size=100, label="Segment", alphabetical=True, other=False),
                L.terms(FEATURE, size=200, label="Feature", alphabetical=True, other=False),
            ],
            query=_records("segment_feature"),
            description="The segment x feature grid of the latest segmented runs.",
        ),
        runs.chart(
            "metrics",
            24,
            "Analyzer metrics",
            [L.metric("average", METRIC_VALUE, label="Value")],
            split=L.terms(METRIC_NAME, size=10, label="Metric", other=False),
            query=_records("metric"),
        ),
        runs.chart(
            "estimated_quality",
            48,
            "Estimated (before labels) and realized quality",
            [
                L.metric("average", METRIC_VALUE, label="Estimated"),
                L.metric("average", METRIC_REALIZED, label="Realized"),
            ],
            split=L.terms(METRIC_NAME, size=5, label="Metric", other=False),
            query=f"{_records('metric')} and {L.kql_eq(METRIC_SCOPE, 'all')} and "
            f"{L.kql_field(METRIC_NAME)} : {ESTIMATED_PREFIX}*",
            description="predwatch quality --estimate: CBPE estimates from the scores "
            "alone, and the realized value once outcomes have arrived (all versions)",
        ),
        alerts.chart(
            "alerts_over_time",
            24,
            "Alerts by rule",
            [L.count("Alerts")],
            split=L.terms(RULE_NAME, size=10, label="Rule"),
            series="bar_stacked",
            query=ctx.model_query,
        ),
        alerts.table(
            "alerts_table",
            48,
            "Alerts by rule and severity",
            [L.count("Alerts"), L.last_value(ALERT_VALUE, label="Last value")],
            rows=[
                L.terms(RULE_NAME, size=50, label="Rule", other=False),
                L.terms(SEVERITY, size=5, label="Severity", other=False),
            ],
            query=ctx.model_query,
        ),
    ]
