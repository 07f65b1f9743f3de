"""Default rules of a model, every kind with thresholds derived from its baseline. Pure."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from predwatch import schema
from predwatch.alerts.model import Rule, RulesError, RuleSet
from predwatch.alerts.validation import validate_rule

if TYPE_CHECKING:
    from predwatch.baseline import Baseline

DEFAULT_MIN_COUNT = 50
DEFAULT_SIGMA = 4.0  # two-sided normal tail ~6e-5 per check: ~1 false alarm in 11 days at 1/min
DEFAULT_LATENCY_MS = 1000.0
DEFAULT_DELIVERY_LAG_S = 300.0  # the shipper retries with backoff; minutes behind is an outage
DEFAULT_UNSEEN_RATE = 0.01
DEFAULT_MAX_AGE = "90d"  # set it to the model's retraining cadence
THROTTLE_BY_SEVERITY = {"critical": "15m", "warning": "30m", "info": "2h"}


def spike_threshold(expected: float) -> float:
    """The rate above which an OOV/missing rate counts as a spike over `expected`.

    max(3x expected, expected + 0.05), kept below 1 for large expected rates (halfway to 1).
    """
    expected = min(max(expected, 0.0), 1.0)
    return round(max(expected + 0.05, min(3 * expected, (1 + expected) / 2)), 6)


def default_rules(
    baseline: Baseline,
    model: str | None = None,
    *,
    destinations: Sequence[str] = ("log",),
    min_count: int = DEFAULT_MIN_COUNT,
    sigma: float = DEFAULT_SIGMA,
    latency_ms: float = DEFAULT_LATENCY_MS,
) -> RuleSet:
    """Every rule kind, with thresholds derived from `baseline` (table: docs/alerts.md)."""
    model = schema.validate_model_name(model or baseline.model)
    if model != baseline.model:  # another model's thresholds would be silently wrong
        raise RulesError(
            f"the baseline is for model {baseline.model!r}, not {model!r}; pass the right "
            "--baseline or --model"
        )
    dests = tuple(destinations)
    out: list[Rule] = []

    def add(rule_id: str, kind: str, severity: str, **kw: Any) -> None:
        kw.setdefault("throttle", THROTTLE_BY_SEVERITY[severity])
        out.append(Rule(rule_id, kind, model, severity=severity, destinations=dests, **kw))

    add(
        "drift",
        "drift",
        "warning",
        window="1h",
        every="5m",
        threshold=0.0,
        throttle="1h",
        description="a feature drifted in an analyzer run (predwatch-drift-<model>)",
    )
    add(
        "segment_drift",
        "segment_drift",
        "warning",
        window="1h",
        every="5m",
        threshold=0.0,
        throttle="1h",
        description="a segment drifted in an analyzer run with --segment-by "
        "(predwatch-drift-<model>)",
    )
    add(
        "quality_regression",
        "quality_regression",
        "warning",
        window="1d",
        every="15m",
        threshold=0.0,
        throttle="1d",
        description="a metric regressed in a predwatch quality run (predwatch-drift-<model>)",
    )
    add(
        "estimated_quality",
        "estimated_quality",
        "warning",
        window="1d",
        every="15m",
        threshold=0.0,
        throttle="1d",
        description="an estimated metric (predwatch quality --estimate, before labels) "
        "dropped below the baseline's reference (predwatch-drift-<model>)",
    )
    for f in baseline.features:
        expected_missing = f.missing_rate
        add(
            f"missing_rate.{f.name}",
            "missing_rate",
            "critical",
            feature=f.name,
            feature_type=str(f.type),
            threshold=spike_threshold(expected_missing),
            min_count=min_count,
            description=f"training missing rate {expected_missing:.4f}",
        )
        if f.categorical is not None:
            # A truncated vocabulary makes some OOV normal: the values outside the kept
            # vocabulary are at most `other` of n.
            cat = f.categorical
            expected = cat.other / cat.n if cat.vocabulary_truncated and cat.n else 0.0
            add(
                f"oov_rate.{f.name}",
                "oov_rate",
                "warning",
                feature=f.name,
                feature_type="categorical",
                threshold=spike_threshold(expected),
                min_count=min_count,
                description=f"expected OOV rate {expected:.4f}",
            )
            add(
                f"unseen.{f.name}",
                "unseen",
                "info",
                feature=f.name,
                feature_type="categorical",
                threshold=round(max(DEFAULT_UNSEEN_RATE, expected), 6),
                min_count=min_count,
                description="unseen categorical values appear (top values listed)",
            )
        if f.text is not None:
            expected = f.text.expected_oov_rate
            add(
                f"oov_rate.{f.name}",
                "oov_rate",
                "warning",
                feature=f.name,
                feature_type="text",
                threshold=spike_threshold(expected),
                min_count=min_count,
                description=f"expected token OOV rate {expected:.4f} (held-out split)",
            )
    pred = baseline.prediction
    if pred is not None and pred.value is not None and pred.value.n > 1:
        v = pred.value
        if math.isfinite(v.mean) and math.isfinite(v.var):
            n = max(min_count, 1)
            half = sigma * math.sqrt(max(v.var, 0.0) / n)
            if half > 0:
                add(
                    "prediction_mean",
                    "prediction_mean",
                    "warning",
                    threshold=(round(v.mean - half, 9), round(v.mean + half, 9)),
                    min_count=min_count,
                    description=f"baseline mean {v.mean:.6g} +/- {sigma:g} x std/sqrt({n})",
                )
    add(
        "nonfinite",
        "nonfinite",
        "critical",
        threshold=0.0,
        description="NaN/inf in inputs or prediction (monitor.nonfinite)",
    )
    add(
        "version_change",
        "version_change",
        "warning",
        threshold=0.0,
        expected_version=baseline.version,
        description=f"a version other than the baseline's {baseline.version} serves traffic",
    )
    add("multiple_versions", "multiple_versions", "info", threshold=1.0)
    add(
        "dependency_change",
        "dependency_change",
        "warning",
        window="1d",
        every="5m",
        throttle="1d",
        threshold=1.0,
        description="a model version served with another set of packages (or Python)",
    )
    add(
        "model_hash_change",
        "model_hash_change",
        "warning",
        window="1d",
        every="5m",
        throttle="1d",
        threshold=1.0,
        description="a model version served with another model hash (retrained, same version)",
    )
    add(
        "staleness",
        "staleness",
        "warning",
        window="1h",
        every="1h",
        throttle="1d",
        threshold=0.0,
        max_age=DEFAULT_MAX_AGE,
        description="predictions from a model trained more than max_age ago (model.trained_at)",
    )
    add("no_traffic", "no_traffic", "critical", window="10m", threshold=0.0)
    add(
        "latency_p95",
        "latency_p95",
        "warning",
        threshold=latency_ms,
        min_count=20,
        description="the baseline has no latency: set the bound for your service",
    )
    add("deadletter", "deadletter", "warning", threshold=0.0)
    add(
        "dropped",
        "dropped",
        "critical",
        threshold=0.0,
        description="records the shipper gave up on (Prometheus only: they never reach ES)",
    )
    add(
        "delivery_lag",
        "delivery_lag",
        "warning",
        window="5m",
        threshold=DEFAULT_DELIVERY_LAG_S,
        description="the oldest record not yet in Elasticsearch is older than this (seconds)",
    )
    rules = tuple(validate_rule(r) for r in out)
    return RuleSet(model, rules, {}, baseline.id)
