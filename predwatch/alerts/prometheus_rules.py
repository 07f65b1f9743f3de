"""Render rules as Prometheus alerting rules: a rules file (`groups:`) and the same groups
as a `PrometheusRule` resource for the Prometheus Operator (monitoring.coreos.com/v1).

Each rule becomes one alert whose PromQL reads the shipper's metrics (names in
`predwatch.grafana.metrics`) over the rule's `window`; the rule's `every` is the group's
evaluation `interval`, its severity, model, id, kind and feature are labels (route on them
in Alertmanager, whose `repeat_interval` plays the part of `throttle`). Kinds whose signal
only exists in Elasticsearch (analyzer results, deployment documents, text token rates,
non-finite values) are listed as skipped: Watcher, Kibana or `predwatch alerts check`
covers them. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from predwatch.alerts.model import Rule, RuleSet
from predwatch.grafana import metrics as m
from predwatch.grafana.promql import quote, selector

Doc = dict[str, Any]
API_VERSION = "monitoring.coreos.com/v1"

_RATE_LABEL = "{{ $value | humanizePercentage }}"
_VALUE = "{{ $value | humanize }}"
_ELSEWHERE = "Watcher, Kibana or `predwatch alerts check` covers it"
SKIPPED_KINDS = {
    "drift": "analyzer results live in Elasticsearch",
    "segment_drift": "analyzer results live in Elasticsearch",
    "quality_regression": "quality results live in Elasticsearch",
    "estimated_quality": "estimated quality results live in Elasticsearch",
    "nonfinite": "non-finite values are not counted in Prometheus",
    "dependency_change": "deployment documents live in Elasticsearch",
    "model_hash_change": "deployment documents live in Elasticsearch",
    "staleness": "model.trained_at is not a Prometheus label",
}


def _sum_increase(metric: str, rule: Rule, by: str = "", **labels: str) -> str:
    grouping = f" by ({by})" if by else ""
    sel = selector(metric, {"model": rule.model, **labels})
    return f"sum{grouping} (increase({sel}[{rule.window}]))"


def _guard(rule: Rule, expr: str, counted: str = m.PREDICTIONS) -> str:
    """`expr`, only when the window holds at least `min_count` predictions."""
    if rule.min_count <= 0:
        return expr
    return f"({expr}) and {_sum_increase(counted, rule)} >= {rule.min_count}"


def _share(rule: Rule, counter: str) -> str:
    assert rule.feature is not None
    part = _sum_increase(counter, rule, feature=rule.feature)
    return _guard(rule, f"{part} / {_sum_increase(m.PREDICTIONS, rule)} > {_num(rule.bound)}")


def _num(x: float) -> str:
    return f"{x:.9g}"


def _missing(rule: Rule) -> tuple[str, str] | None:
    return _share(rule, m.FEATURE_MISSING), _RATE_LABEL


def _oov(rule: Rule) -> tuple[str, str] | None:
    if rule.feature_type == "text":
        return None  # token OOV rates are not exported; the per-document flag is categorical
    return _share(rule, m.FEATURE_OOV), _RATE_LABEL


def _mean(rule: Rule) -> tuple[str, str] | None:
    low, high = rule.band
    mean = f"({_sum_increase(m.total(m.SCORE), rule)} / {_sum_increase(m.count(m.SCORE), rule)})"
    expr = f"{mean} < {_num(low)} or {mean} > {_num(high)}"
    return _guard(rule, expr, m.count(m.SCORE)), _VALUE


def _version_change(rule: Rule) -> tuple[str, str] | None:
    sel = selector(m.PREDICTIONS, {"model": rule.model})
    other = sel[:-1] + f", version!={quote(rule.expected_version or '')}}}"
    return f"sum by (version) (increase({other}[{rule.window}])) > {_num(rule.bound)}", _VALUE


def _multiple_versions(rule: Rule) -> tuple[str, str] | None:
    per_version = _sum_increase(m.PREDICTIONS, rule, by="version")
    return f"count({per_version} > 0) > {_num(rule.bound)}", _VALUE


def _no_traffic(rule: Rule) -> tuple[str, str] | None:
    # `or vector(0)`: a model whose series are gone (app down, never scraped) has no traffic.
    return f"({_sum_increase(m.PREDICTIONS, rule)} or vector(0)) <= {_num(rule.bound)}", _VALUE


def _latency(rule: Rule) -> tuple[str, str] | None:
    sel = selector(m.bucket(m.LATENCY), {"model": rule.model})
    p95 = f"histogram_quantile(0.95, sum by (le) (rate({sel}[{rule.window}])))"
    return _guard(rule, f"{p95} > {_num(rule.bound)}", m.count(m.LATENCY)), _VALUE + " ms"


def _counter(metric: str, by: str = "") -> Callable[[Rule], tuple[str, str] | None]:
    def render(rule: Rule) -> tuple[str, str] | None:
        return f"{_sum_increase(metric, rule, by=by)} > {_num(rule.bound)}", _VALUE

    return render


def _delivery_lag(rule: Rule) -> tuple[str, str] | None:
    sel = selector(m.OLDEST_UNSENT_AGE, {"model": rule.model})
    return f"max by (version) ({sel}) > {_num(rule.bound)}", _VALUE + " s"


# kind -> (PromQL, how the annotation shows its value); None: no Prometheus form.
RENDERERS: dict[str, Callable[[Rule], tuple[str, str] | None]] = {
    "missing_rate": _missing,
    "oov_rate": _oov,
    "unseen": _oov,
    "prediction_mean": _mean,
    "version_change": _version_change,
    "multiple_versions": _multiple_versions,
    "no_traffic": _no_traffic,
    "latency_p95": _latency,
    "deadletter": _counter(m.DEAD_LETTERED),
    "dropped": _counter(m.DROPPED, by="reason"),
    "delivery_lag": _delivery_lag,
}


def alert_name(kind: str) -> str:
    """`PredwatchMissingRate` for `missing_rate`: one alert name per kind (labels tell the
    rules of one kind apart), in Prometheus' usual CamelCase."""
    return "Predwatch" + "".join(p.capitalize() for p in re.split(r"[^A-Za-z0-9]+", kind) if p)


def render_rule(rule: Rule) -> Doc | None:
    """One Prometheus alerting rule, or None when the kind has no Prometheus signal."""
    renderer = RENDERERS.get(rule.kind)
    rendered = renderer(rule) if renderer else None
    if rendered is None:
        return None
    expr, shown = rendered
    labels = {"severity": rule.severity, "model": rule.model, "rule_id": rule.id}
    labels["kind"] = rule.kind
    if rule.feature is not None:
        labels["feature"] = rule.feature
    summary = f"{rule.model}: {rule.title}"
    description = f"{rule.title} over the last {rule.window}: {shown}"
    if rule.description:
        description += f" ({rule.description})"
    return {
        "alert": alert_name(rule.kind),
        "expr": expr,
        "labels": labels,
        "annotations": {"summary": summary, "description": description},
    }


def render_groups(ruleset: RuleSet) -> tuple[list[Doc], list[str]]:
    """(rule groups, one per evaluation interval; notes on the rules left out)."""
    by_every: dict[str, list[Doc]] = {}
    skipped: list[str] = []
    for rule in ruleset.enabled():
        doc = render_rule(rule)
        if doc is None:
            why = SKIPPED_KINDS.get(rule.kind, "no Prometheus metric carries it")
            if rule.kind == "oov_rate":
                why = "token OOV rates of text features are not exported to Prometheus"
            skipped.append(f"{rule.id}: {rule.kind} skipped for Prometheus ({why}); {_ELSEWHERE}")
            continue
        by_every.setdefault(rule.every, []).append(doc)
    groups = [
        {"name": f"predwatch-{ruleset.model}-{every}", "interval": every, "rules": docs}
        for every, docs in sorted(by_every.items())
    ]
    return groups, skipped


def rules_file(ruleset: RuleSet) -> tuple[Doc, list[str]]:
    """A Prometheus rules file (`rule_files:` in prometheus.yml), and the skipped notes."""
    groups, skipped = render_groups(ruleset)
    return {"groups": groups}, skipped


def prometheus_rule(
    ruleset: RuleSet, namespace: str | None = None, labels: dict[str, str] | None = None
) -> tuple[Doc, list[str]]:
    """The same groups as a `PrometheusRule` resource; `labels` are what the Operator's
    `ruleSelector` matches (e.g. {"release": "prometheus"})."""
    groups, skipped = render_groups(ruleset)
    metadata: Doc = {"name": f"predwatch-{ruleset.model.replace('_', '-')}"}
    if namespace:
        metadata["namespace"] = namespace
    metadata["labels"] = {"app.kubernetes.io/part-of": "predwatch", **(labels or {})}
    doc = {
        "apiVersion": API_VERSION,
        "kind": "PrometheusRule",
        "metadata": metadata,
        "spec": {"groups": groups},
    }
    return doc, skipped


def dumps(doc: Doc, source: str = "") -> str:
    """YAML of a rules file or PrometheusRule, with a header saying where it came from."""
    import yaml

    header = "# Generated by `predwatch alerts render`"
    header += f" from {source}.\n" if source else ".\n"
    header += "# Edit the predwatch rule file and render again rather than this file.\n"
    body = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=1000)
    return header + body


def write(
    ruleset: RuleSet,
    folder: Path,
    *,
    operator: bool = False,
    namespace: str | None = None,
    labels: dict[str, str] | None = None,
    source: str = "",
) -> tuple[Path, list[str]]:
    """Write `predwatch-<model>.yml` (rules file) or `predwatch-<model>.prometheusrule.yaml`
    into `folder`; returns the path and the skipped notes."""
    if operator:
        doc, skipped = prometheus_rule(ruleset, namespace, labels)
        path = folder / f"predwatch-{ruleset.model}.prometheusrule.yaml"
    else:
        doc, skipped = rules_file(ruleset)
        path = folder / f"predwatch-{ruleset.model}.yml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(doc, source), encoding="utf-8")
    return path, skipped
