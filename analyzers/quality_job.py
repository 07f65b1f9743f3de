"""One quality run (Monitor 7): join the window's outcomes to its predictions, compute the
metrics per model version, compare them with a reference, store them in predwatch-drift-<model>.

References: "previous" (the window of the same length right before, recomputed the same way),
a JSON file of metric values (`{"accuracy": 0.91, "roc_auc": 0.95}` or `{"metrics": {...}}`,
names with or without the `quality.` prefix; applied to every version), or "baseline" (the
baseline's held-out metrics, once the baseline format has them: `Baseline.metrics`).
Verdicts: `quality_ci.judge` per metric, `quality_ci.settle` (Holm) over the run. The join:
`quality_join`; the metrics: `quality` and `quality_eval`.

Stored documents (record_type "metric"; one per metric and version, version "*" = all
versions together, stored without model.version): metric.name `quality.<name>`,
metric.value, n_current (rows behind the metric), note, and for judged metrics
`drifted`/`drifted_flag` (= regressed) and `threshold` (all mapped); metric.ci_low,
metric.ci_high, metric.reference, metric.n and metric.scope ("version"|"all") are kept in
_source until the drift mapping has them. One more document
(record_type "quality") sums the run up: drifted, drifted_count, drifted_features (the
regressed "quality.<name>@<version>"), note.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from predwatch import schema
from predwatch.analyzers import estimate as est
from predwatch.analyzers import quality_ci as ci
from predwatch.analyzers import quality_estimate as qe
from predwatch.analyzers import quality_join as qj
from predwatch.analyzers.aggregates import Window, iso
from predwatch.analyzers.fetch import require_model
from predwatch.analyzers.quality import Metric
from predwatch.analyzers.quality_eval import ALL_VERSIONS, Task, WindowEvaluator, detect_task
from predwatch.config import ESConfig
from predwatch.errors import EXIT_FINDING, EXIT_OK, ConfigError, PredwatchError
from predwatch.results_store import index_documents

PREFIX = "quality."
JUDGED = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "mae", "rmse")
RECORD_METRIC = "metric"
RECORD_SUMMARY = "quality"


class ReferenceMetricsError(PredwatchError):
    """The reference metrics could not be read."""


@dataclass(frozen=True)
class QualityConfig:
    """What one quality run evaluates and how it judges."""

    model: str
    window: Window
    reference: str = "previous"  # previous | baseline | path of a JSON file
    kind: str = "auto"
    positive: str | None = None
    threshold: float = 0.5
    tolerance: float = 0.02
    confidence: float = 0.95
    min_count: int = 30
    page_size: int = qj.PAGE_SIZE
    driver: str = "auto"
    store: bool = True
    reference_metrics: dict[str, float] | None = None  # filled from the file / baseline
    reference_rows: int | None = None  # rows behind reference_metrics (baseline metrics_rows)
    estimation: qe.Estimation | None = None  # --estimate: the baseline's calibration

    def __post_init__(self) -> None:
        try:
            schema.validate_model_name(self.model)
        except schema.SchemaError as exc:
            raise ConfigError(str(exc)) from None
        if not 0.0 < self.confidence < 1.0:
            raise ConfigError(f"--confidence must lie between 0 and 1, got {self.confidence}")
        if self.tolerance < 0:
            raise ConfigError(f"--tolerance must be >= 0, got {self.tolerance}")
        if self.min_count < 1:
            raise ConfigError(f"--min-count must be at least 1, got {self.min_count}")
        if self.driver not in qj.DRIVERS:
            raise ConfigError(f"driver must be one of {', '.join(qj.DRIVERS)}")
        if not 1 <= self.page_size <= qj.MAX_PAGE_SIZE:
            raise ConfigError(f"--page-size must be between 1 and {qj.MAX_PAGE_SIZE}")


def read_reference_file(path: str) -> dict[str, float]:
    """Reference metrics from a JSON file (see the module docstring)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReferenceMetricsError(f"reference metrics file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReferenceMetricsError(f"reference metrics file {path} is not JSON: {exc}") from None
    return parse_reference(data, path)


def parse_reference(data: Any, where: str) -> dict[str, float]:
    if isinstance(data, dict) and isinstance(data.get("metrics"), dict):
        data = data["metrics"]
    if not isinstance(data, dict) or not data:
        raise ReferenceMetricsError(
            f"{where}: expected an object of metric values, e.g. "
            '{"accuracy": 0.91, "roc_auc": 0.95}'
        )
    out: dict[str, float] = {}
    for k, v in data.items():
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ReferenceMetricsError(f"{where}: metric {k!r} must be a finite number, got {v!r}")
        out[str(k).removeprefix(PREFIX)] = float(v)
    return out


@dataclass(frozen=True)
class Judged:
    """One metric of one version with its verdict."""

    metric: Metric
    verdict: ci.Verdict


@dataclass(frozen=True)
class QualityReport:
    run_id: str
    created_at: dt.datetime
    model: str
    task: Task
    window: Window
    reference_kind: str  # previous | file | baseline
    reference_window: Window | None
    driver: str
    groups: dict[str, tuple[Judged, ...]]  # version (ALL_VERSIONS = every version) -> metrics
    tolerance: float
    confidence: float
    notes: tuple[str, ...] = field(default=())
    # --estimate: version -> estimated metrics (None: not asked)
    estimated: dict[str, tuple[qe.EstimatedMetric, ...]] | None = None
    estimation: qe.Estimation | None = None
    estimate_notes: tuple[str, ...] = field(default=())

    @property
    def regressed(self) -> list[str]:
        """`<metric>@<version>` of every regressed metric (`estimated.<metric>@<version>`
        for estimates)."""
        realized = [
            f"{j.metric.name}@{version}"
            for version, items in self.groups.items()
            for j in items
            if j.verdict.regressed
        ]
        return realized + (qe.regressed(self.estimated) if self.estimated else [])

    @property
    def exit_code(self) -> int:
        return EXIT_FINDING if self.regressed else EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "predwatch-quality",
            "format_version": 1,
            "run_id": self.run_id,
            "created_at": iso(self.created_at),
            "model": self.model,
            "kind": self.task.kind,
            "positive_class": self.task.positive,
            "window": self.window.to_dict(),
            "reference": {
                "kind": self.reference_kind,
                **(self.reference_window.to_dict() if self.reference_window else {}),
            },
            "join_driver": self.driver,
            "policy": {"tolerance": self.tolerance, "confidence": self.confidence},
            "versions": {
                v: {j.metric.name: _metric_dict(j) for j in items}
                for v, items in self.groups.items()
            },
            "regressed": self.regressed,
            "notes": list(self.notes),
            "exit_code": self.exit_code,
            **self._estimated_dict(),
        }

    def _estimated_dict(self) -> dict[str, Any]:
        if self.estimation is None:
            return {}
        groups = self.estimated or {}
        return {"estimated": qe.to_dict(groups, self.estimation, list(self.estimate_notes))}


def _num(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _metric_dict(j: Judged) -> dict[str, Any]:
    m, v = j.metric, j.verdict
    return {
        "value": _num(m.value),
        "ci_low": _num(m.ci_low),
        "ci_high": _num(m.ci_high),
        "n": m.n,
        "higher_is_better": m.higher_is_better,
        "reference": _num(v.reference),
        "threshold": _num(v.threshold),
        "p_value": _num(v.p_value),
        "p_adjusted": _num(v.p_adjusted),
        "regressed": v.regressed,
        "note": "; ".join(x for x in (m.note, v.note) if x),
    }


@dataclass(frozen=True)
class WindowQuality:
    task: Task
    driver: str
    metrics: dict[str, list[Metric]]


def evaluate(
    es: Elasticsearch,
    cfg: ESConfig,
    config: QualityConfig,
    window: Window,
    task: Task | None = None,
) -> WindowQuality:
    """Join and compute the metrics of one window (the task is detected when not given)."""
    counts = qj.count_predictions(es, cfg, config.model, window)
    driver = config.driver
    if driver == "auto":
        outcomes = qj.count_outcomes(es, cfg, config.model, window)
        driver = qj.choose_driver(sum(counts.values()), outcomes)
    evaluator: WindowEvaluator | None = None
    for rows in qj.join(es, cfg, config.model, window, driver=driver, page_size=config.page_size):
        if evaluator is None:
            if not rows and task is None:
                continue
            task = task or detect_task(rows, config.kind, config.positive, config.threshold)
            evaluator = WindowEvaluator(task)
        evaluator.add(rows)
    if evaluator is None:
        task = task or detect_task([], config.kind, config.positive, config.threshold)
        evaluator = WindowEvaluator(task)
    z = ci.z_value(config.confidence)
    return WindowQuality(evaluator.task, driver, evaluator.results(counts, z))


def run(
    es: Elasticsearch,
    cfg: ESConfig,
    config: QualityConfig,
    *,
    now: dt.datetime | None = None,
) -> QualityReport:
    """Evaluate the window, judge it against the reference, store unless `--no-store`."""
    now = now or dt.datetime.now(dt.UTC)
    # A model with no predictions at all is a mistake (typo), not "no regression" (exit 0).
    require_model(es, cfg, config.model)
    task = None
    if config.estimation is not None and config.kind == "auto":
        # without labels the rows cannot tell; the calibration says it is a binary classifier
        e = config.estimation
        task = Task(
            "classification",
            config.positive or e.positive,
            e.threshold if e.threshold is not None else config.threshold,
        )
    current = evaluate(es, cfg, config, config.window, task)
    notes: list[str] = []
    ref_window: Window | None = None
    z = ci.z_value(config.confidence)
    if config.reference == "previous":
        ref_window = config.window.previous()
        previous = evaluate(es, cfg, config, ref_window, current.task)
        refs = {v: _window_references(ms, z) for v, ms in previous.metrics.items()}
        kind = "previous"
    else:
        if config.reference_metrics is None:
            raise ConfigError("reference metrics were not loaded")
        refs = {
            v: _fixed_references(config.reference_metrics, config.reference_rows, ms, z)
            for v, ms in current.metrics.items()
        }
        kind = "baseline" if config.reference == "baseline" else "file"
    groups = judge_groups(current.metrics, refs, config)
    labelled = next((m.value for m in current.metrics[ALL_VERSIONS] if m.name == "labelled"), 0.0)
    if not labelled:
        notes.append("no outcome joined to a prediction of the window: nothing to evaluate")
    estimated, estimate_notes = _estimate(es, cfg, config, current)
    report = QualityReport(
        run_id=uuid.uuid4().hex,
        created_at=now,
        model=config.model,
        task=current.task,
        window=config.window,
        reference_kind=kind,
        reference_window=ref_window,
        driver=current.driver,
        groups=groups,
        tolerance=config.tolerance,
        confidence=config.confidence,
        notes=tuple(notes),
        estimated=estimated,
        estimation=config.estimation,
        estimate_notes=tuple(estimate_notes),
    )
    if config.store:
        store(es, cfg, report)
    return report


def _estimate(
    es: Elasticsearch, cfg: ESConfig, config: QualityConfig, current: WindowQuality
) -> tuple[dict[str, tuple[qe.EstimatedMetric, ...]] | None, list[str]]:
    e = config.estimation
    if e is None:
        return None, []
    if current.task.kind == "regression":
        return {}, ["regression: performance cannot be estimated without labels (see the docs)"]
    notes = []
    if e.threshold is not None and config.threshold != e.threshold:
        notes.append(
            f"estimates use the baseline's threshold {e.threshold:g}, not --threshold "
            f"{config.threshold:g}"
        )
    z = ci.z_value(config.confidence)
    estimates = qe.estimate_window(es, cfg, config.model, config.window, e, z)
    groups = qe.judge(
        estimates,
        current.metrics,
        e,
        tolerance=config.tolerance,
        min_count=config.min_count,
        confidence=config.confidence,
    )
    if not any(groups.get(ALL_VERSIONS, ())):
        notes.append(
            "no prediction with a score in the window: nothing to estimate"
            if not e.classes
            else "no prediction in the window carries class scores: nothing to estimate. A "
            "multiclass model must log its class probabilities (prediction.scores.<class>) and "
            "its class (prediction.label): pass the dict {class: probability} as the "
            "prediction to log_prediction"
        )
    return groups, notes


def _window_references(metrics: list[Metric], z: float) -> dict[str, ci.Reference]:
    """A reference window's metrics, each with its standard error on the side that could
    fake a regression (a reference that came out high by chance)."""
    out = {}
    for m in metrics:
        if m.value is not None and math.isfinite(m.value):
            se = ci.spread(m.value, m.interval, z, upward=not m.higher_is_better)
            out[m.name] = ci.Reference(m.value, se or 0.0)
    return out


def _fixed_references(
    values: dict[str, float], rows: int | None, metrics: list[Metric], z: float
) -> dict[str, ci.Reference]:
    """Reference values from a baseline or a file. Measured on `rows` rows (a baseline's
    `metrics_rows`), a value is as noisy as this window's, scaled by sqrt(labelled / rows);
    without a row count it is taken as exact."""
    by_name = {m.name: m for m in metrics}
    labelled = by_name.get("labelled")
    n_lab = labelled.value if labelled is not None and labelled.value else 0.0
    out = {}
    for name, value in values.items():
        m = by_name.get(name)
        se = 0.0
        if rows and n_lab and m is not None:
            cur = ci.spread(m.value, m.interval, z, upward=m.higher_is_better)
            se = (cur or 0.0) * math.sqrt(n_lab / rows)
        out[name] = ci.Reference(value, se)
    return out


def judge_groups(
    metrics: dict[str, list[Metric]],
    refs: dict[str, dict[str, ci.Reference]],
    config: QualityConfig,
) -> dict[str, tuple[Judged, ...]]:
    """Every judged metric of every version against its reference, Holm over the run
    (`quality_ci.judge_run`). When one version alone has labelled rows, all versions
    together ("*") are the same rows: judged once, and that version gets the same verdicts."""
    labelled = [v for v, ms in metrics.items() if v != ALL_VERSIONS and _labelled(ms)]
    candidates = {
        version: [
            ci.Candidate(
                m.name,
                m.value,
                m.interval,
                m.higher_is_better,
                refs.get(version, {}).get(m.name),
                m.n,
                judged=m.name in JUDGED,
            )
            for m in ms
        ]
        for version, ms in metrics.items()
    }
    verdicts = ci.judge_run(
        candidates,
        tolerance=config.tolerance,
        min_count=config.min_count,
        confidence=config.confidence,
        twin=labelled[0] if len(labelled) == 1 else None,
        all_key=ALL_VERSIONS,
    )
    return {
        version: tuple(Judged(m, v) for m, v in zip(ms, verdicts[version], strict=True))
        for version, ms in metrics.items()
    }


def _labelled(metrics: list[Metric]) -> bool:
    return any(m.name == "labelled" and m.value for m in metrics)


# --- storage --------------------------------------------------------------------------
def documents(report: QualityReport) -> Iterator[dict[str, Any]]:
    """The run as drift documents: one per metric and version, and one summary."""
    ref_w = report.reference_window
    common = {
        schema.TIMESTAMP: iso(report.created_at),
        "run_id": report.run_id,
        "window": report.window.to_dict(),
        "reference": {
            "kind": report.reference_kind,
            "start": iso(ref_w.start) if ref_w else None,
            "end": iso(ref_w.end) if ref_w else None,
        },
    }
    for version, items in report.groups.items():
        for j in items:
            doc = _metric_document(
                common, report.model, version, PREFIX + j.metric.name, j.metric, j.verdict
            )
            if doc is not None:
                yield doc
    yield from _estimate_documents(report, common)
    regressed = [PREFIX + r for r in report.regressed]
    yield {
        **common,
        "model": {"name": report.model},
        "record_type": RECORD_SUMMARY,
        "drifted": bool(regressed),
        "drifted_flag": int(bool(regressed)),
        "drifted_features": regressed,
        "drifted_count": len(regressed),
        "note": "; ".join([*report.notes, *(f"regressed: {r}" for r in regressed)]) or None,
    }


def _estimate_documents(report: QualityReport, common: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """One document per estimated metric and version: metric.name `quality.estimated.<m>`,
    with realized and error beside the estimate once outcomes exist."""
    for version, items in (report.estimated or {}).items():
        for m in items:
            name = PREFIX + qe.PREFIX + m.estimate.name
            extra = {"realized": _num(m.realized), "error": _num(m.error)}
            doc = _metric_document(
                common, report.model, version, name, m.estimate, m.verdict, extra
            )
            if doc is not None:
                yield doc


def _metric_document(
    common: dict[str, Any],
    model_name: str,
    version: str,
    name: str,
    m: Metric | est.Estimate,
    v: ci.Verdict,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """One metric's document (None when it has no value): the value, its interval, the
    reference, `extra` fields of the metric, and the verdict once there is one."""
    if _num(m.value) is None:
        return None
    model: dict[str, Any] = {"name": model_name}
    if version != ALL_VERSIONS:
        model["version"] = version
    doc: dict[str, Any] = {
        **common,
        "model": model,
        "record_type": RECORD_METRIC,
        "metric": {
            "name": name,
            "value": m.value,
            "ci_low": _num(m.ci_low),
            "ci_high": _num(m.ci_high),
            "reference": _num(v.reference),
            **(extra or {}),
            "n": m.n,
            "scope": "all" if version == ALL_VERSIONS else "version",
        },
        "n_current": m.n,
        "note": "; ".join(x for x in (m.note, v.note) if x) or None,
    }
    if v.regressed is not None:
        doc.update(drifted=v.regressed, drifted_flag=int(v.regressed), threshold=_num(v.threshold))
    return doc


def store(es: Elasticsearch, cfg: ESConfig, report: QualityReport) -> int:
    """Write the run into predwatch-drift-<model>; returns the number of documents."""
    index = schema.index_name("drift", report.model)
    return index_documents(
        es, cfg, index, "drift", documents(report), f"{report.run_id}-q", "quality results"
    )
