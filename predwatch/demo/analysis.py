"""Runs predwatch's analyzer on each scenario window and the alert runner over the week."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from predwatch import es as es_mod
from predwatch import schema
from predwatch.alerts import rules as r
from predwatch.alerts.notify import Alert
from predwatch.alerts.runner import Outcome, Runner
from predwatch.analyzers import job
from predwatch.analyzers.aggregates import Window, iso
from predwatch.analyzers.report import Report
from predwatch.baseline import Baseline
from predwatch.config import ESConfig
from predwatch.demo.story import AlertFired
from predwatch.demo.traffic import CLEAN, SCENARIOS

# p95 twice the previous day's: a 25% tolerance flags the noise of a busy 2-core machine.
LATENCY_TOLERANCE = 1.0
ALERT_WINDOW = "7d"  # the demo week (in production rules look at the last 15 minutes)


def analyze_week(
    es: Elasticsearch,
    cfg: ESConfig,
    baseline: Baseline,
    model: str,
    week_start: dt.datetime,
) -> dict[str, list[tuple[str, Report]]]:
    """Per scenario: its window vs the baseline and, for injected ones, vs the clean days.

    Every run is stored in predwatch-drift-<model>, as a scheduled job would do.
    """
    clean_start, clean_end = CLEAN.window(week_start)
    clean_range = f"{iso(clean_start)}..{iso(clean_end)}"
    out: dict[str, list[tuple[str, Report]]] = {}
    for sc in SCENARIOS:
        start, end = sc.window(week_start)
        refs = [("baseline", "baseline")]
        if sc.key != CLEAN.key:
            refs.append(("clean days", clean_range))
        out[sc.key] = []
        for name, reference in refs:
            config = job.AnalyzeConfig(
                model=model,
                window=Window(start, end),
                reference=reference,
                latency_tolerance=LATENCY_TOLERANCE,
            )
            out[sc.key].append((name, job.run(es, cfg, config, baseline=baseline)))
    return out


def estimate_week(
    es: Elasticsearch,
    cfg: ESConfig,
    baseline: Baseline,
    model: str,
    week_start: dt.datetime,
) -> dict[str, dict[str, Any]]:
    """Per scenario window: `predwatch quality --estimate` (no outcome exists in the demo:
    the labels have not arrived), judged against the baseline's held-out metrics and stored
    in predwatch-drift-<model> for the estimated_quality rule. Returns the `estimated` JSON."""
    from predwatch.analyzers import quality_job as qj
    from predwatch.analyzers.quality_estimate import Estimation

    estimation = Estimation.from_block(baseline.estimation, baseline.id)
    out: dict[str, dict[str, Any]] = {}
    for sc in SCENARIOS:
        start, end = sc.window(week_start)
        config = qj.QualityConfig(
            model=model,
            window=Window(start, end),
            reference="baseline",
            reference_metrics=dict(baseline.metrics),
            estimation=estimation,
        )
        out[sc.key] = qj.run(es, cfg, config).to_dict().get("estimated", {})
    return out


def category_shifts(
    es: Elasticsearch,
    cfg: ESConfig,
    baseline: Baseline,
    model: str,
    week_start: dt.datetime,
    reports: Mapping[str, Sequence[tuple[str, Report]]],
) -> dict[str, dict[str, str]]:
    """Per scenario, for each drifted categorical feature: the value whose share grew most
    against the training data, e.g. `SNOW GOOSE 0.1% -> 40.6%` (one terms aggregation)."""
    out: dict[str, dict[str, str]] = {}
    for sc in SCENARIOS:
        base = next((rep for ref, rep in reports.get(sc.key, ()) if ref == "baseline"), None)
        if base is None:
            continue
        start, end = sc.window(week_start)
        for f in base.comparison.features:
            profile = baseline.feature(f.feature)
            cat = profile.categorical if profile is not None else None
            if not f.drifted or cat is None or not cat.n:
                continue
            shift = _largest_increase(es, cfg, model, f.feature, start, end, cat.frequencies, cat.n)
            if shift:
                out.setdefault(sc.key, {})[f.feature] = shift
    return out


def _largest_increase(
    es: Elasticsearch,
    cfg: ESConfig,
    model: str,
    feature: str,
    start: dt.datetime,
    end: dt.datetime,
    frequencies: Mapping[str, int],
    n: int,
) -> str:
    field = schema.feature_field(schema.INPUTS, feature)
    resp = es_mod.call(
        cfg,
        lambda: es.search(
            index=schema.index_pattern("predictions", model),
            size=0,
            query={"range": {schema.TIMESTAMP: {"gte": iso(start), "lt": iso(end)}}},
            aggs={
                "has": {"value_count": {"field": field}},
                "top": {"terms": {"field": field, "size": 20}},
            },
        ),
    )
    aggs = resp.body.get("aggregations", {})
    total = float(aggs.get("has", {}).get("value", 0) or 0)
    if not total:
        return ""
    best, grow = "", 0.0
    for b in aggs.get("top", {}).get("buckets", []):
        value, cur = str(b["key"]), b["doc_count"] / total
        ref = frequencies.get(value, 0) / n
        if cur - ref > grow:
            best, grow = f"{value} {100 * ref:.1f}% -> {100 * cur:.1f}%", cur - ref
    return best


def clean_latency_p95(reports: Mapping[str, Sequence[tuple[str, Report]]]) -> float | None:
    """p95 latency (ms) of the clean days, from their analyzer run."""
    for _, report in reports.get(CLEAN.key, ()):
        lat = report.latency
        if lat is not None and lat.current is not None:
            return lat.current.percentiles.get("95")
    return None


def demo_rules(baseline: Baseline, model: str, latency_bound_ms: float) -> r.RuleSet:
    """The default rules of the baseline, every window stretched over the demo week."""
    base = r.default_rules(baseline, model, latency_ms=round(latency_bound_ms, 1))
    rules = tuple(dataclasses.replace(x, window=ALERT_WINDOW) for x in base.rules)
    return dataclasses.replace(base, rules=rules)


def check_alerts(
    es: Elasticsearch, cfg: ESConfig, ruleset: r.RuleSet
) -> tuple[list[Outcome], list[AlertFired]]:
    """One `predwatch alerts check`: outcomes are recorded in predwatch-alerts; the
    notifications are kept for the story instead of being sent anywhere."""
    sent: list[Alert] = []
    runner = Runner(es, cfg, ruleset, sender=lambda _dest, alert: sent.append(alert))
    outcomes = runner.check()
    fired = []
    for o in outcomes:
        if not o.fired:
            continue
        top = {}
        if o.alert is not None:
            top = dict(o.alert.details.get("top") or {})
        value = float(o.value) if isinstance(o.value, int | float) else None
        fired.append(
            AlertFired(o.rule.id, o.rule.kind, o.rule.feature, value, o.bound, o.rule.window, top)
        )
    return outcomes, fired


def save_rules(ruleset: r.RuleSet, folder: Path) -> Path:
    return r.save_rules(ruleset, folder / "rules.yaml")
