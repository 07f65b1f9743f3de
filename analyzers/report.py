"""The result of one `predwatch analyze` run: JSON (stable, documented below) and a table.

JSON layout (``format_version`` 2; keys are only ever added, never renamed)::

    {"format": "predwatch-analyze", "format_version": 2, "run_id", "created_at",
     "model": "credit",
     "baseline": {"id": "credit@3", "version", "created_at", "rows"},
     "window": {"start", "end"},                       # [start, end) UTC
     "reference": {"kind": "baseline"|"previous"|"range", "start", "end", "documents",
                   "baseline"},                       # start/end null for the baseline
     "documents": <predictions in the window>,
     "policy": {"alpha", "min_count", "correction": "holm"},
     "features": [FEATURE, ...],                      # in baseline order
     "predictions": {
        "kind": "regression"|"classification"|null,
        "drifted": bool,
        "drift": [FEATURE, ...],                      # "prediction.value", "prediction.label"
        "summary": {"count", "mean", "median", "std", "min", "max"},
        "trend": {"interval", "slope_per_hour", "buckets": [{"start", "count", "mean",
                  "median", "std", "min", "max"}]},
        "versions": {"baseline_version", "groups": [{"version", "count", "share", "mean",
                     "std", "trained_at"}], "tests": [TEST, ...], "differ": bool},
        "nonfinite": {"predictions", "documents", "rate", "flagged"}},
     "staleness": {"trained_at", "source", "age_days", "max_age", "stale", "stale_versions"},
     "latency": {"current": {"count", "mean", "max", "percentiles": {"50", "90", "95", "99"}},
                 "previous": {...}, "percentile": "95", "ratio", "tolerance", "regressed", "note"},
     "notes": [...],
     "quality": {"run_id", "reference": "previous", "regressed": ["roc_auc@1"], "notes"},
                                                      # analyze --quality only, else null
     "segment_mix": [FEATURE, ...],                   # --segment-by: one per field ("feature"
                                                      # is the field, type "segment_mix")
     "segments": [{"field", "value", "n_current", "n_reference", "drifted",
                   "status": "ok"|"drifted"|"disappeared"|"new"|"insufficient data",
                   "note", "drifted_features": [...], "features": [FEATURE, ...],
                   "predictions": [FEATURE, ...]}],   # --segment-by only, else []
     "summary": {"drifted_features": [...], "drifted_predictions": [...],
                 "drifted_segments": ["region=pacific", ...], "findings": [...],
                 "drifted": bool, "exit_code": 0|1}}

    FEATURE = {"feature", "type", "n_current", "n_reference", "drifted",
               "status": "ok"|"drifted"|"insufficient data", "note",
               "power_note",                          # "" or "too few values to detect ..."
               "rates": {"missing_current", "missing_reference", ...},
               "unseen_top": [[value, count], ...],
               "distribution": {"labels", "reference", "current"},
               "tests": [TEST, ...]}
    TEST = {"name", "statistic", "p_value", "p_value_adjusted", "effect_size", "effect_name",
            "threshold", "drifted", "note", "min_detectable_effect", "detectable", "counted"}

Format version 2 (predwatch 0.2) changed meanings, not keys: every test has a p-value
(PSI, JS, L-inf and Wasserstein included) and no result drifts without one; the distances'
``effect_size`` has the no-drift noise floor removed (``statistic`` keeps the plug-in
value); chi2's effect is Cohen's w (``effect_name`` "cohens_w", was Cramer's V);
missing_rate and oov_rate p-values are one-sided; ``p_value_adjusted`` is Holm's (was
Benjamini-Hochberg's; ``policy.correction`` names it). ``counted`` says whether a test entered
the multiple-testing correction (trivial ones, such as a rate of 0 on both sides, do not);
``min_detectable_effect`` is the effect the test detects with 80 % power at this n.

n_current / n_reference count non-missing values; non-finite numbers are written as null.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from predwatch.analyzers.aggregates import Latency, TrendBucket, VersionGroup, Window, iso
from predwatch.analyzers.checks import LatencyCheck, NonFinite, Staleness
from predwatch.analyzers.compare import Comparison, FeatureResult
from predwatch.analyzers.segment_compare import SegmentedComparison, SegmentResult
from predwatch.analyzers.stats import Summary, TestResult
from predwatch.errors import EXIT_FINDING, EXIT_OK

FORMAT = "predwatch-analyze"
FORMAT_VERSION = 2


@dataclass(frozen=True)
class ReferenceInfo:
    kind: str  # "baseline" | "previous" | "range"
    window: Window | None
    baseline_id: str
    documents: float

    def to_dict(self) -> dict[str, Any]:
        w = self.window.to_dict() if self.window else {"start": None, "end": None}
        return {"kind": self.kind, **w, "documents": self.documents, "baseline": self.baseline_id}

    def describe(self) -> str:
        if self.window is None:
            return f"baseline {self.baseline_id}"
        return f"{self.kind} window {iso(self.window.start)} .. {iso(self.window.end)}"


@dataclass(frozen=True)
class Report:
    run_id: str
    created_at: dt.datetime
    model: str
    baseline: dict[str, Any]  # id, version, created_at, rows
    prediction_kind: str | None
    window: Window
    reference: ReferenceInfo
    documents: float
    comparison: Comparison
    alpha: float
    min_count: int
    prediction_summary: Summary | None = None
    prediction_median: float | None = None
    trend: tuple[TrendBucket, ...] = ()
    trend_interval: str = ""
    trend_slope: float | None = None
    versions: tuple[VersionGroup, ...] = ()
    version_tests: tuple[TestResult, ...] = ()
    staleness: Staleness | None = None
    nonfinite: NonFinite | None = None
    latency: LatencyCheck | None = None
    notes: tuple[str, ...] = field(default=())
    # analyze --quality: {"run_id", "reference", "regressed": ["<metric>@<version>"], "notes"}
    quality: dict[str, Any] | None = None
    segmented: SegmentedComparison = field(default_factory=SegmentedComparison)

    @property
    def drifted_segments(self) -> list[str]:
        return [r.name for r in self.segmented.drifted_segments]

    @property
    def drifted_features(self) -> list[str]:
        return [f.feature for f in self.comparison.features if f.drifted]

    @property
    def drifted_predictions(self) -> list[str]:
        return [f.feature for f in self.comparison.predictions if f.drifted]

    @property
    def findings(self) -> list[str]:
        out = [f"drift in feature {name!r}" for name in self.drifted_features]
        out += [f"drift in {name}" for name in self.drifted_predictions]
        out += self.segmented.findings()
        if self.nonfinite is not None and self.nonfinite.flagged:
            out.append(f"{self.nonfinite.predictions:g} non-finite predictions")
        if self.staleness is not None and self.staleness.stale:
            out.append(f"stale model version(s): {', '.join(self.staleness.stale_versions)}")
        if self.latency is not None and self.latency.regressed and self.latency.ratio:
            out.append(f"latency p95 x{self.latency.ratio:.2f} vs the previous window")
        if self.quality is not None:
            out += [f"quality regressed: {m}" for m in self.quality.get("regressed", ())]
        return out

    @property
    def exit_code(self) -> int:
        return EXIT_FINDING if self.findings else EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = _clean(
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "run_id": self.run_id,
                "created_at": iso(self.created_at),
                "model": self.model,
                "baseline": self.baseline,
                "window": self.window.to_dict(),
                "reference": self.reference.to_dict(),
                "documents": self.documents,
                "policy": {
                    "alpha": self.alpha,
                    "min_count": self.min_count,
                    "correction": "holm",
                },
                "features": [feature_dict(f) for f in self.comparison.features],
                "predictions": self._predictions(),
                "staleness": self.staleness.to_dict() if self.staleness else None,
                "latency": self.latency.to_dict() if self.latency else None,
                "notes": list(self.notes),
                "quality": self.quality,
                "segment_mix": [feature_dict(f) for f in self.segmented.mix],
                "segments": [segment_dict(r) for r in self.segmented.segments],
                "summary": {
                    "drifted_features": self.drifted_features,
                    "drifted_predictions": self.drifted_predictions,
                    "drifted_segments": self.drifted_segments,
                    "findings": self.findings,
                    "drifted": bool(self.drifted_features or self.drifted_predictions),
                    "exit_code": self.exit_code,
                },
            }
        )
        return out

    def _predictions(self) -> dict[str, Any]:
        s, total = self.prediction_summary, sum(g.count for g in self.versions)
        return {
            "kind": self.prediction_kind,
            "drifted": bool(self.drifted_predictions),
            "drift": [feature_dict(f) for f in self.comparison.predictions],
            "summary": None
            if s is None
            else {
                "count": s.n,
                "mean": s.mean,
                "median": self.prediction_median,
                "std": s.std,
                "min": s.min,
                "max": s.max,
            },
            "trend": {
                "interval": self.trend_interval,
                "slope_per_hour": self.trend_slope,
                "buckets": [b.to_dict() for b in self.trend],
            },
            "versions": {
                "baseline_version": self.baseline.get("version"),
                "groups": [
                    {
                        "version": g.version,
                        "count": g.count,
                        "share": g.count / total if total else None,
                        "mean": g.summary.mean if g.summary else None,
                        "std": g.summary.std if g.summary else None,
                        "trained_at": iso(g.trained_at) if g.trained_at else None,
                    }
                    for g in self.versions
                ],
                "tests": [test_dict(t) for t in self.version_tests],
                "differ": any(t.drifted for t in self.version_tests),
            },
            "nonfinite": self.nonfinite.to_dict() if self.nonfinite else None,
        }


def segment_dict(r: SegmentResult) -> dict[str, Any]:
    return {
        "field": r.field,
        "value": r.value,
        "n_current": r.n_current,
        "n_reference": r.n_reference,
        "drifted": r.drifted,
        "status": r.status,
        "note": r.note,
        "drifted_features": r.drifted_features,
        "features": [feature_dict(f) for f in r.features],
        "predictions": [feature_dict(f) for f in r.predictions],
    }


def test_dict(t: TestResult) -> dict[str, Any]:
    return {
        "name": t.name,
        "statistic": t.statistic,
        "p_value": t.p_value,
        "p_value_adjusted": t.p_value_adjusted,
        "effect_size": t.effect_size,
        "effect_name": t.effect_name,
        "threshold": t.threshold,
        "drifted": bool(t.drifted),
        "note": t.note,
        "min_detectable_effect": t.min_detectable_effect,
        "detectable": t.detectable,
        "counted": t.p_value_adjusted is not None,
    }


def feature_dict(f: FeatureResult) -> dict[str, Any]:
    return {
        "feature": f.feature,
        "type": f.type,
        "n_current": f.n_current,
        "n_reference": f.n_reference,
        "drifted": f.drifted,
        "status": f.status,
        "note": f.note,
        "power_note": f.power_note,
        "rates": dict(f.rates),
        "unseen_top": [[v, as_count(c)] for v, c in f.unseen_top],
        "distribution": _distribution(f),
        "tests": [test_dict(t) for t in f.tests],
    }


# Keys whose values count things (documents, values, predictions): integers in the JSON.
COUNT_KEYS = frozenset({"count", "documents", "n_current", "n_reference", "predictions", "rows"})


def as_count(x: Any) -> Any:
    """A whole float -> int (Elasticsearch returns counts as floats); anything else unchanged."""
    if isinstance(x, float) and math.isfinite(x) and x.is_integer():
        return int(x)
    return x


def _distribution(f: FeatureResult) -> dict[str, Any] | None:
    """Cell counts as ints (a baseline's categorical reference may keep fractional cells)."""
    if f.distribution is None:
        return None
    d = f.distribution.to_dict()
    return {
        **d,
        "reference": [as_count(v) for v in d["reference"]],
        "current": [as_count(v) for v in d["current"]],
    }


def plural(n: float, word: str, words: str = "") -> str:
    """'1 bucket', '3 buckets', '1,200 predictions': the count with the word agreeing."""
    return f"{n:,.0f} {word if n == 1 else words or word + 's'}"


def _clean(x: Any, key: str = "") -> Any:
    """Non-finite floats -> None, so the JSON is strict; counts -> int."""
    if isinstance(x, float):
        if not math.isfinite(x):
            return None
        return as_count(x) if key in COUNT_KEYS else x
    if isinstance(x, dict):
        return {k: _clean(v, k) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    return x


# --- table --------------------------------------------------------------------------------
def _fmt(x: float | None, digits: int = 3) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    if x != 0 and (abs(x) < 10**-(digits) or abs(x) >= 1e6):
        return f"{x:.{digits - 1}e}"
    if abs(x) >= 1000:  # 10,025 rather than 1e+04: no exponent below a million
        return f"{x:,.0f}"
    if abs(x) >= 100:  # 680.0 ms, not 680.022
        return f"{x:.1f}"
    return f"{x:.{digits}f}".rstrip("0").rstrip(".")


def worst_test(f: FeatureResult) -> TestResult | None:
    """The test that best explains the verdict: the drifted one furthest over its threshold."""
    scored = [t for t in f.tests if t.effect_size is not None]
    if not scored:
        return None
    return max(scored, key=lambda t: (bool(t.drifted), (t.effect_size or 0) / (t.threshold or 1)))


def _row(f: FeatureResult) -> list[Text | str]:
    worst = worst_test(f)
    status = {"drifted": Text("DRIFT", style="bold red"), "ok": Text("ok", style="green")}.get(
        f.status, Text("no data", style="yellow")
    )
    detail = "-"
    if worst is not None:
        p = worst.p_value_adjusted
        p_text = "" if p is None else f", p={_fmt(p)}"
        detail = f"{worst.name} {_fmt(worst.effect_size)} (>= {_fmt(worst.threshold)}{p_text})"
    flagged = ", ".join(t.name for t in f.tests if t.drifted)
    return [
        f.feature,
        f.type,
        status,
        f"{f.n_current:,.0f}",
        f"{f.n_reference:,.0f}",
        flagged or "-",
        detail,
        "; ".join(x for x in (f.note, f.power_note) if x),
    ]


def _table(title: str, rows: list[FeatureResult]) -> Table:
    table = Table(title=title, title_justify="left", expand=False)
    for col in (
        "feature",
        "type",
        "verdict",
        "n cur",
        "n ref",
        "drifted tests",
        "strongest test (effect vs threshold)",
        "note",
    ):
        table.add_column(col, overflow="fold")
    for f in sorted(rows, key=lambda r: (not r.drifted, r.status != "ok")):
        table.add_row(*_row(f))
    return table


def render_table(report: Report, console: Console) -> None:
    """Print the report for a human: header, features, predictions, checks, verdict."""
    head = Text()
    head.append(f"model {report.model}", style="bold")
    head.append(
        f"  window {iso(report.window.start)} .. {iso(report.window.end)}"
        f"  ({plural(report.documents, 'prediction')})\n"
    )
    head.append(
        f"reference: {report.reference.describe()} "
        f"({plural(report.reference.documents, 'row')})   alpha {report.alpha} "
        f"(Holm), min {report.min_count} values per test"
    )
    parts: list[Any] = [head]
    if report.comparison.features:
        parts.append(_table("features", list(report.comparison.features)))
    if report.comparison.predictions:
        parts.append(_table("predictions", list(report.comparison.predictions)))
    if report.segmented.segments:
        parts.append(segment_grid(report.segmented))
    parts.append(_checks(report))
    for note in report.notes:
        parts.append(Text(f"note: {note}", style="yellow"))
    findings = report.findings
    if findings:
        verdict = Text(f"FINDINGS ({len(findings)}): " + "; ".join(findings), style="bold red")
    else:
        verdict = Text("no drift, no findings", style="bold green")
    parts.append(verdict)
    console.print(Group(*parts))


GRID_COLUMNS = 12  # beyond this many features the grid shows those drifted somewhere


def grid_features(segmented: SegmentedComparison) -> list[str]:
    """The feature columns of the segment x feature grid."""
    names = list(
        dict.fromkeys(f.feature for r in segmented.segments for f in (*r.features, *r.predictions))
    )
    if len(names) <= GRID_COLUMNS:
        return names
    hit = {f for r in segmented.segments for f in r.drifted_features}
    return [n for n in names if n in hit]


def grid_cell(r: SegmentResult, feature: str) -> str:
    """'DRIFT', 'ok', 'n/a' (too few values) or '-' (not compared) for one grid cell."""
    for f in (*r.features, *r.predictions):
        if f.feature == feature:
            return "DRIFT" if f.drifted else "ok" if f.status == "ok" else "n/a"
    return "-"


def segment_grid(segmented: SegmentedComparison) -> Table:
    """Segment x feature: which feature drifted in which segment, with the segment mix."""
    names = grid_features(segmented)
    table = Table(title="segments", title_justify="left", expand=False)
    for col in ("segment", "n cur", "n ref", "verdict", *names, "note"):
        table.add_column(col, overflow="fold")
    styles = {"DRIFT": "bold red", "ok": "green", "n/a": "yellow"}
    for r in segmented.segments:
        verdict = Text("DRIFT", style="bold red") if r.drifted else Text(r.status)
        cells = [Text(x, style=styles.get(x, "")) for x in (grid_cell(r, n) for n in names)]
        table.add_row(
            r.name, f"{r.n_current:,.0f}", f"{r.n_reference:,.0f}", verdict, *cells, r.note
        )
    for f in segmented.mix:
        worst = worst_test(f)
        detail = "" if worst is None else f"{worst.name} {_fmt(worst.effect_size)}"
        table.add_row(
            f"mix of {f.feature}",
            f"{f.n_current:,.0f}",
            f"{f.n_reference:,.0f}",
            Text("DRIFT", style="bold red") if f.drifted else Text(f.status),
            *[""] * len(names),
            "; ".join(x for x in (detail, f.note) if x),
        )
    return table


def _checks(report: Report) -> Table:
    table = Table(title="model checks", title_justify="left", show_header=False)
    table.add_column("check")
    table.add_column("value", overflow="fold")
    s = report.prediction_summary
    if s is not None:
        table.add_row(
            "prediction value",
            f"n {s.n:,.0f}  mean {_fmt(s.mean)}  median "
            f"{_fmt(report.prediction_median)}  std {_fmt(s.std)}  min {_fmt(s.min)}"
            f"  max {_fmt(s.max)}",
        )
    if report.trend:
        table.add_row(
            "trend",
            f"{plural(len(report.trend), 'bucket')} of {report.trend_interval}; mean "
            f"slope {_fmt(report.trend_slope)} per hour",
        )
    if report.versions:
        groups = ", ".join(f"{g.version} ({g.count:,.0f})" for g in report.versions)
        differ = [t.name for t in report.version_tests if t.drifted]
        table.add_row(
            "versions", groups + (f"  predictions differ ({', '.join(differ)})" if differ else "")
        )
    nf = report.nonfinite
    if nf is not None and nf.applies:
        style = "red" if nf.flagged else "green"
        table.add_row(
            "non-finite",
            Text(
                f"{nf.predictions:g} predictions, {nf.documents:g} documents with NaN/inf",
                style=style,
            ),
        )
    st = report.staleness
    if st is not None:
        age = "unknown" if st.age is None else f"{st.age.total_seconds() / 86400:.1f} days"
        limit = f" (max {st.to_dict()['max_age']})" if st.max_age else " (no --max-age)"
        table.add_row("model age", Text(age + limit, style="red" if st.stale else ""))
    lat = report.latency
    if lat is not None and (lat.current is not None or lat.previous is not None):
        table.add_row("latency", Text(latency_line(lat), style="red" if lat.regressed else ""))
    return table


def latency_line(lat: LatencyCheck) -> str:
    """p95 in the window and in the previous window, each named; the ratio or why there is none."""

    def p95(x: Latency | None) -> str:
        value = None if x is None or not x.count else x.percentiles.get("95")
        return "no latencies" if value is None else f"{_fmt(value)} ms"

    text = f"p95 {p95(lat.current)} in the window, {p95(lat.previous)} in the previous window"
    if lat.ratio:
        extra = f"x{lat.ratio:.2f}"
        if lat.p_value is not None:
            extra += f", p={lat.p_value:.2g}" + ("" if lat.regressed else ", within chance")
        return text + f"  ({extra})"
    return text + (f"  ({lat.note})" if lat.note else "")
