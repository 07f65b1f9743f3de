"""`predwatch quality --estimate`: CBPE estimates of the window, judged, beside the realized.

Per model version (and "*" = all versions), from the window's score histograms
(`estimate_query`, aggregations only) and the baseline's calibration map
(`Baseline.estimation`, from `baseline build --target-column`): estimated accuracy,
precision, recall, F1 and ROC AUC with their intervals (`estimate.binary`); multiclass
baselines (`--class-scores`) hold one map and one set of bins per class, and give
accuracy and macro one-vs-rest precision, recall, F1 and ROC AUC (`estimate.multiclass`).

Judged like realized metrics (`quality_ci.judge_run`: below the reference minus the
tolerance and beyond chance, Holm over the run), against the baseline's reference metrics
(its realized values on the calibration rows), whatever `--reference` says: labels of the
previous window may not have arrived either. Once outcomes of the window exist, the realized
value of the same version stands beside the estimate with `error = estimate - realized`
(realized on the labelled rows only: `realized_n` says how many).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from elasticsearch import Elasticsearch

from predwatch.analyzers import estimate as est
from predwatch.analyzers import estimate_query as eq
from predwatch.analyzers import quality_ci as ci
from predwatch.analyzers import score_calibration as sc
from predwatch.analyzers.aggregates import Window
from predwatch.analyzers.estimate_edges import estimation_edges
from predwatch.analyzers.quality import Metric
from predwatch.config import ESConfig
from predwatch.errors import ConfigError

PREFIX = "estimated."


@dataclass(frozen=True)
class ClassMap:
    """One class's one-vs-rest calibration map and its bins (multiclass)."""

    name: str
    calibration: sc.Calibration
    edges: Any  # numpy array of inner bin edges


def _edges(
    block: dict[str, Any], cal: sc.Calibration, threshold: float | None, grid: sc.Grid
) -> Any:
    # baselines built before the edges were stored: the same rule, from the blocks' rows
    stored = block.get("edges")
    if stored:
        return np.asarray(stored, dtype=np.float64)
    return estimation_edges(cal, threshold, fallback=grid)


@dataclass(frozen=True)
class Estimation:
    """The baseline's estimation block, ready to use: binary (`calibration`, `threshold`,
    `positive`) or multiclass (`classes`, one map each)."""

    calibration: sc.Calibration | None
    edges: Any  # numpy array of inner bin edges, the threshold one of them (binary)
    threshold: float | None
    positive: str | None
    score_field: str
    reference: dict[str, float]
    baseline_id: str
    classes: tuple[ClassMap, ...] = ()
    reference_rows: int | None = None  # rows the reference metrics were realized on

    @property
    def kind(self) -> str:
        return "multiclass" if self.classes else "binary"

    @classmethod
    def from_block(cls, block: dict[str, Any] | None, baseline_id: str) -> Estimation:
        if not block:
            raise ConfigError(
                f"baseline {baseline_id} has no calibration for estimated performance; rebuild "
                "it from held-out rows with --prediction-column SCORE --target-column LABEL "
                "(multiclass: --class-scores PREFIX as well)"
            )
        g = block["grid"]
        grid = sc.Grid(float(g["low"]), float(g["high"]), int(g["bins"]))
        ref_block = block.get("reference") or {}
        reference = {str(k): float(v) for k, v in (ref_block.get("realized") or {}).items()}
        ref_rows = ref_block.get("rows")
        rows = int(ref_rows) if isinstance(ref_rows, (int, float)) and ref_rows > 0 else None
        if block.get("kind") == "multiclass":
            maps = []
            for c in block["classes"]:
                one = block["per_class"][c]
                cal = sc.Calibration.from_dict(one["calibration"])
                maps.append(ClassMap(str(c), cal, _edges(one, cal, None, grid)))
            return cls(
                None, None, None, None, str(block["score_field"]), reference, baseline_id,
                tuple(maps), rows,
            )  # fmt: skip
        threshold = float(block["threshold"])
        cal = sc.Calibration.from_dict(block["calibration"])
        return cls(
            cal,
            _edges(block, cal, threshold, grid),
            threshold,
            str(block["positive"]),
            str(block["score_field"]),
            reference,
            baseline_id,
            reference_rows=rows,
        )


@dataclass(frozen=True)
class EstimatedMetric:
    """One estimated metric of one version: interval, verdict, realized beside it."""

    estimate: est.Estimate
    verdict: ci.Verdict
    realized: float | None = None
    realized_n: int = 0

    @property
    def error(self) -> float | None:
        e, r = self.estimate.value, self.realized
        return None if e is None or r is None else e - r

    def to_dict(self) -> dict[str, Any]:
        v = self.verdict
        return {
            **self.estimate.to_dict(),
            "reference": v.reference,
            "threshold": v.threshold,
            "regressed": v.regressed,
            "realized": self.realized,
            "realized_n": self.realized_n,
            "error": self.error,
            "note": "; ".join(x for x in (self.estimate.note, v.note) if x),
        }


def estimate_window(
    es: Elasticsearch, cfg: ESConfig, model: str, window: Window, e: Estimation, z: float
) -> dict[str, list[est.Estimate]]:
    """Estimates per version key and "*" (one aggregation request)."""
    if e.classes:
        return _multiclass_window(es, cfg, model, window, e, z)
    assert e.calibration is not None and e.threshold is not None
    bins = eq.Bins.of(e.edges, e.calibration)
    hist = eq.histograms(es, cfg, model, window, bins, field_name=e.score_field)
    out: dict[str, list[est.Estimate]] = {}
    for version, h in hist.binary.items():
        out[version] = est.binary(
            e.calibration,
            e.edges,
            h.counts,
            sums=h.sums,
            threshold=e.threshold,
            z=z,
            positive=e.positive,
        )
    return out


def _multiclass_window(
    es: Elasticsearch, cfg: ESConfig, model: str, window: Window, e: Estimation, z: float
) -> dict[str, list[est.Estimate]]:
    names = [m.name for m in e.classes]
    hist = eq.histograms(
        es,
        cfg,
        model,
        window,
        eq.Bins.of(e.classes[0].edges, e.classes[0].calibration),
        field_name=None,
        classes=names,
        class_bins={m.name: eq.Bins.of(m.edges, m.calibration) for m in e.classes},
    )
    out: dict[str, list[est.Estimate]] = {}
    for version, per in hist.classes.items():
        parts = {
            m.name: est.ClassBins.of(
                m.calibration,
                m.edges,
                per[m.name].predicted.counts,
                per[m.name].other.counts,
                sums=per[m.name].predicted.sums + per[m.name].other.sums,
            )
            for m in e.classes
        }
        out[version] = est.multiclass(parts, z)
    return out


def judge(
    estimates: dict[str, list[est.Estimate]],
    realized: dict[str, list[Metric]],
    e: Estimation,
    *,
    tolerance: float,
    min_count: int,
    confidence: float = 0.95,
) -> dict[str, tuple[EstimatedMetric, ...]]:
    """Each estimate against the baseline's reference, judged as realized metrics are
    (`quality_ci.judge_run`: past the tolerance and beyond chance, the reference's own noise
    from its rows, Holm over every estimate and version of the run); realized values beside."""
    z = ci.z_value(confidence)

    def candidate(x: est.Estimate) -> ci.Candidate:
        interval = (x.ci_low, x.ci_high) if x.ci_low is not None and x.ci_high is not None else None
        value = e.reference.get(x.name)
        ref = None
        if value is not None:
            se = 0.0
            if e.reference_rows and x.n:
                cur = ci.spread(x.value, interval, z, upward=True)
                se = (cur or 0.0) * math.sqrt(x.n / e.reference_rows)
            ref = ci.Reference(value, se)
        return ci.Candidate(x.name, x.value, interval, True, ref, x.n)

    candidates = {version: [candidate(x) for x in items] for version, items in estimates.items()}
    served = [
        v for v, items in estimates.items() if v != eq.ALL_VERSIONS and any(x.n for x in items)
    ]
    verdicts = ci.judge_run(
        candidates,
        tolerance=tolerance,
        min_count=min_count,
        confidence=confidence,
        twin=served[0] if len(served) == 1 else None,
        all_key=eq.ALL_VERSIONS,
    )
    out: dict[str, tuple[EstimatedMetric, ...]] = {}
    for version, items in estimates.items():
        real = {m.name: m for m in realized.get(version, [])}
        labelled = real.get("labelled")
        n_lab = int(labelled.value or 0) if labelled and labelled.value is not None else 0
        judged = []
        for x, v in zip(items, verdicts[version], strict=True):
            r = real.get(x.name)
            rv = r.value if r is not None and r.value is not None and n_lab else None
            if rv is not None and not math.isfinite(rv):
                rv = None
            judged.append(EstimatedMetric(x, v, rv, n_lab if rv is not None else 0))
        out[version] = tuple(judged)
    return out


def regressed(groups: dict[str, tuple[EstimatedMetric, ...]]) -> list[str]:
    """`estimated.<metric>@<version>` of every estimate whose interval dropped."""
    return [
        f"{PREFIX}{m.estimate.name}@{version}"
        for version, items in groups.items()
        for m in items
        if m.verdict.regressed
    ]


def to_dict(
    groups: dict[str, tuple[EstimatedMetric, ...]], e: Estimation, notes: list[str]
) -> dict[str, Any]:
    head: dict[str, Any] = {"method": est.METHOD, "baseline": e.baseline_id, "kind": e.kind}
    if e.classes:
        head |= {
            "calibration": {m.name: m.calibration.method for m in e.classes},
            "classes": [m.name for m in e.classes],
            "score_field": f"{e.score_field}.<class>",
        }
    else:
        assert e.calibration is not None
        head |= {
            "calibration": e.calibration.method,
            "positive_class": e.positive,
            "threshold": e.threshold,
            "score_field": e.score_field,
        }
    return {
        **head,
        "reference": "baseline",
        "versions": {
            v: {m.estimate.name: m.to_dict() for m in items} for v, items in groups.items()
        },
        "regressed": regressed(groups),
        "notes": notes,
    }
