"""What the analyzers and the alert runner found, mapped back to the injected scenarios.

Pure: takes analyzer `Report`s and fired alerts, returns one `Chapter` per scenario and the
story text. A finding belongs to a scenario when it is one of the signals that scenario
should raise (`SIGNALS`). Score drift during an input failure is its consequence (the
model saw different inputs), listed as such; anything else is "also flagged", so false
alarms are never hidden.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from predwatch import schema
from predwatch.analyzers.aggregates import iso
from predwatch.analyzers.compare import FeatureResult
from predwatch.analyzers.report import Report
from predwatch.demo.traffic import SCENARIOS, Scenario

PREDICTION_FEATURES = frozenset({schema.PREDICTION_VALUE, schema.PREDICTION_LABEL})
VERSION_FEATURE = schema.MODEL_VERSION
LATENCY = "latency"
SERVED_VERSIONS = "served_versions"

# scenario key -> (features, test names) whose findings are that scenario's signal.
SIGNALS: Mapping[str, tuple[frozenset[str], frozenset[str]]] = {
    "missing": (frozenset({"ac_mass", "num_engs"}), frozenset({"missing_rate"})),
    "rare_category": (frozenset({"species"}), frozenset({"chi2", "psi", "js", "linf"})),
    "new_words": (frozenset({"remarks"}), frozenset({"oov_rate"})),
    "wrong_version": (
        PREDICTION_FEATURES | {VERSION_FEATURE},
        frozenset(
            {
                "ks",
                "psi",
                "wasserstein",
                "t_test",
                "chi2",
                "js",
                "linf",
                "anova",
                "kruskal",
                SERVED_VERSIONS,
            }
        ),
    ),
    "latency": (frozenset({LATENCY}), frozenset({"latency_p95"})),
}
# failures of the inputs: the scores move with them (a consequence, not a second failure)
INPUT_SCENARIOS = frozenset({"missing", "rare_category", "new_words"})
# what `predwatch quality --estimate` (no label yet) should catch: a worse model serving
ESTIMATE_SCENARIOS = frozenset({"wrong_version"})
ESTIMATED = ("accuracy", "roc_auc")  # shown per window in the report's chart
# alert kinds that point at one scenario whatever their feature
ALERT_KINDS: Mapping[str, str] = {
    "version_change": "wrong_version",
    "multiple_versions": "wrong_version",
    "prediction_mean": "wrong_version",
    "latency_p95": "latency",
    "estimated_quality": "wrong_version",
}


@dataclass(frozen=True)
class Finding:
    """One signal: an analyzer test or check, or an alert rule that fired."""

    source: str  # "analyzer" | "alert"
    name: str  # test name, check name or alert rule id
    feature: str | None
    context: str = ""  # what changed, e.g. "missing 0.0% -> 100.0%"
    reference: str = ""  # analyzer: "baseline" | "clean days" ("" when it has none)
    effect: float | None = None
    effect_name: str = ""
    p_value: float | None = None

    def test(self) -> str:
        """`chi2 (cramers_v 0.474, p(Holm) < 1e-300)`, `psi 1.21`, `ks 0.354 (p(Holm) 5e-193)`."""
        if self.effect is None:
            return self.name
        plain = self.effect_name in (self.name, f"{self.name}_distance", f"normed_{self.name}")
        inner = [] if plain else [f"{self.effect_name} {self.effect:.3g}"]
        if self.p_value is not None:
            inner.append(_p(self.p_value))
        head = f"{self.name} {self.effect:.3g}" if plain else self.name
        return head + (f" ({', '.join(inner)})" if inner else "")

    def line(self) -> str:
        where = f" on {self.feature}" if self.feature else ""
        ref = f" vs {self.reference}" if self.reference else ""
        if self.source == "alert":
            return f"alert {self.name}: {self.context}"
        ctx = f"{self.context}; " if self.context else ""
        return f"{self.name}{where}{ref}: {ctx}{self.test()}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "name": self.name,
            "feature": self.feature,
            "context": self.context,
            "reference": self.reference,
            "effect": _num(self.effect),
            "effect_name": self.effect_name,
            "p_value": _num(self.p_value),
            "text": self.line(),
        }


@dataclass
class Chapter:
    """One scenario: when, what was injected, what caught it, what else was flagged."""

    scenario: Scenario
    start: Any
    end: Any
    predictions: float = 0.0
    estimated: dict[str, float] = field(default_factory=dict)  # quality --estimate, all versions
    caught_by: list[Finding] = field(default_factory=list)
    consequences: list[Finding] = field(default_factory=list)
    also: list[Finding] = field(default_factory=list)

    @property
    def injected(self) -> bool:
        return self.scenario.key != "clean"

    @property
    def caught(self) -> bool:
        return bool(self.caught_by)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.key,
            "title": self.scenario.title,
            "injected": self.scenario.injected,
            "days": self.scenario.days(),
            "window": {"start": iso(self.start), "end": iso(self.end)},
            "predictions": self.predictions,
            "estimated": dict(self.estimated),
            "caught": self.caught if self.injected else None,
            "caught_by": [f.to_dict() for f in self.caught_by],
            "consequences": [f.to_dict() for f in self.consequences],
            "also_flagged": [f.to_dict() for f in self.also],
        }


# --- analyzer reports -> findings --------------------------------------------------------
def _num(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _p(p: float) -> str:
    return "p(Holm) < 1e-300" if p < 1e-300 else f"p(Holm) {p:.2g}"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _context(f: FeatureResult, test: str, report: Report, shift: str) -> str:
    r = f.rates
    if test == "missing_rate":
        return f"missing {_pct(r.get('missing_reference'))} -> {_pct(r.get('missing_current'))}"
    if test == "oov_rate":
        words = ", ".join(v for v, _ in f.unseen_top[:5])
        rate = f"unseen {_pct(r.get('unseen_reference'))} -> {_pct(r.get('unseen_current'))}"
        return rate + (f" (top unseen: {words})" if words else "")
    if f.feature == schema.PREDICTION_VALUE and report.prediction_summary is not None:
        return f"mean score {report.prediction_summary.mean:.3f}"
    if shift:
        return shift
    if f.type in ("categorical", "label"):
        return top_mover(f)
    return ""


def top_mover(f: FeatureResult) -> str:
    """The cell whose share grew most, e.g. `Day 64.5% -> 69.6%`."""
    d = f.distribution
    if d is None:
        return ""
    ref_total, cur_total = math.fsum(d.reference), math.fsum(d.current)
    if not ref_total or not cur_total:
        return ""
    best = max(
        range(len(d.labels)),
        key=lambda i: d.current[i] / cur_total - d.reference[i] / ref_total,
    )
    before, after = d.reference[best] / ref_total, d.current[best] / cur_total
    return f"{d.labels[best]} {_pct(before)} -> {_pct(after)}"


def report_findings(
    report: Report, reference: str, shifts: Mapping[str, str] | None = None
) -> list[Finding]:
    """Every drifted test, version difference and latency regression of one run.

    `shifts[feature]` describes a categorical change better than the report's cells can
    (the report merges rare categories into "(other)").
    """
    shifts = shifts or {}
    out: list[Finding] = []
    for f in (*report.comparison.features, *report.comparison.predictions):
        for t in f.tests:
            if t.drifted:
                ctx = _context(f, t.name, report, shifts.get(f.feature, ""))
                out.append(
                    Finding(
                        "analyzer",
                        t.name,
                        f.feature,
                        ctx,
                        reference,
                        t.effect_size,
                        t.effect_name,
                        t.p_value_adjusted,
                    )
                )
    baseline_version = report.baseline.get("version")
    served = ", ".join(
        f"{g.version} mean score {g.summary.mean:.3f} (n={g.count:g})"
        for g in report.versions
        if g.summary is not None
    )
    for t in report.version_tests:
        if t.drifted:
            out.append(
                Finding(
                    "analyzer",
                    t.name,
                    VERSION_FEATURE,
                    served,
                    "",
                    t.effect_size,
                    t.effect_name,
                    t.p_value_adjusted,
                )
            )
    other = [g for g in report.versions if g.version != baseline_version]
    if other:
        names = ", ".join(f"{g.version} ({g.count:g} predictions)" for g in other)
        ctx = f"versions other than the baseline's {baseline_version}: {names}"
        out.append(Finding("analyzer", SERVED_VERSIONS, VERSION_FEATURE, ctx))
    lat = report.latency
    if lat is not None and lat.regressed and lat.ratio is not None:
        now = lat.current.percentiles.get("95") if lat.current else None
        before = lat.previous.percentiles.get("95") if lat.previous else None
        ctx = f"p95 {before or 0:.0f} ms -> {now or 0:.0f} ms vs the day before"
        out.append(Finding("analyzer", "latency_p95", LATENCY, ctx, "", lat.ratio, "ratio"))
    return out


# --- alerts -> findings -------------------------------------------------------------------
@dataclass(frozen=True)
class AlertFired:
    """What the story needs of one fired alert rule."""

    rule_id: str
    kind: str
    feature: str | None
    value: float | None
    threshold: float
    window: str
    top: Mapping[str, Any] = field(default_factory=dict)


def _feature_scenarios(feature: str) -> set[str]:
    return {k for k, (feats, _) in SIGNALS.items() if feature in feats}


def alert_scenarios(a: AlertFired) -> set[str]:
    """The scenarios a fired alert points at (none: a false alarm of the rules)."""
    if a.kind in ALERT_KINDS:
        return {ALERT_KINDS[a.kind]}
    if a.kind == "drift":
        return {k for name in a.top for k in _feature_scenarios(str(name))}
    if a.feature is not None and a.kind in ("missing_rate", "oov_rate"):
        return {
            k for k, (feats, tests) in SIGNALS.items() if a.feature in feats and a.kind in tests
        }
    return set()


def alert_finding(a: AlertFired, scenario: str | None = None) -> Finding:
    """The alert as a finding; for the drift rule, only the features of `scenario`."""
    value = "n/a" if a.value is None else f"{a.value:.4g}"
    top = [str(k) for k in a.top]
    if a.kind == "drift":
        feats = SIGNALS.get(scenario or "", (frozenset(), frozenset()))[0]
        named = [k for k in top if k in feats] if scenario else top
        ctx = f"{value} drifted feature results in the last {a.window}"
        ctx += f", among them {', '.join(named)}" if named else ""
    else:
        ctx = f"{value} > {a.threshold:g} over the last {a.window}"
        ctx += f" ({', '.join(top[:5])})" if top else ""
    return Finding("alert", a.rule_id, a.feature, ctx, "", a.value)


# --- the story ---------------------------------------------------------------------------
def _belongs(f: Finding, key: str) -> bool:
    feats, tests = SIGNALS.get(key, (frozenset(), frozenset()))
    return f.feature in feats and f.name in tests


def estimate_findings(estimated: Mapping[str, Any] | None) -> list[Finding]:
    """The estimates (JSON of `predwatch quality --estimate`) that dropped below the
    baseline's reference: findings made before any label arrived. All versions together
    first; a drop of one version only (a wrong version serving part of the window, diluted
    in the pooled estimate) counts too, and says which version."""
    versions: Mapping[str, Any] = (estimated or {}).get("versions", {})
    found: dict[str, Finding] = {}
    for version in sorted(versions, key=lambda v: (v != "*", v)):
        for name, m in versions[version].items():
            if not m.get("regressed") or name in found:
                continue
            which = "" if version == "*" else f" (version {version})"
            ctx = (
                f"{m['value']:.3f} (95% CI {m['ci_low']:.3f}..{m['ci_high']:.3f}) vs "
                f"{m['reference']:.3f} on the held-out data{which}, before any label"
            )
            found[name] = Finding("estimate", f"estimated {name}", None, ctx, "baseline")
    return list(found.values())


def chapters(
    week_start: Any,
    reports: Mapping[str, Sequence[tuple[str, Report]]],
    alerts: Iterable[AlertFired],
    shifts: Mapping[str, Mapping[str, str]] | None = None,
    estimates: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Chapter]:
    """One chapter per scenario, its window's findings sorted into caught-by, consequences
    and also-flagged. `reports[key]` holds (reference name, report) pairs of that window;
    `shifts[key][feature]` describes a categorical change in that window; `estimates[key]`
    is the window's `estimated` JSON of `predwatch quality --estimate`."""
    out = []
    fired = list(alerts)
    for sc in SCENARIOS:
        start, end = sc.window(week_start)
        ch = Chapter(sc, start, end)
        seen: set[tuple[str, str | None, str]] = set()
        for ref, report in reports.get(sc.key, ()):
            if ref == "baseline":
                ch.predictions = report.documents
            for f in report_findings(report, ref, (shifts or {}).get(sc.key)):
                key = (f.name, f.feature, f.reference)
                if key in seen:  # latency and versions do not depend on the reference
                    continue
                seen.add(key)
                if _belongs(f, sc.key):
                    ch.caught_by.append(f)
                elif sc.key in INPUT_SCENARIOS and f.feature in PREDICTION_FEATURES:
                    ch.consequences.append(f)
                else:
                    ch.also.append(f)
        est = (estimates or {}).get(sc.key)
        every = (est or {}).get("versions", {}).get("*", {})
        ch.estimated = {k: every[k]["value"] for k in ESTIMATED if every.get(k, {}).get("value")}
        for f in estimate_findings(est):
            if sc.key in ESTIMATE_SCENARIOS:
                ch.caught_by.append(f)
            elif sc.key in INPUT_SCENARIOS:
                ch.consequences.append(f)
            else:
                ch.also.append(f)
        ch.caught_by.extend(alert_finding(a, sc.key) for a in fired if sc.key in alert_scenarios(a))
        out.append(ch)
    return out


def unattributed(alerts: Iterable[AlertFired]) -> list[Finding]:
    """Fired alerts that point at no scenario (false alarms of the rules)."""
    return [alert_finding(a) for a in alerts if not alert_scenarios(a)]


def grouped(findings: Sequence[Finding]) -> list[str]:
    """Analyzer findings as one line per (feature, reference), strongest tests first."""
    groups: dict[tuple[str | None, str], list[Finding]] = {}
    for f in findings:
        if f.source == "analyzer":
            groups.setdefault((f.feature, f.reference), []).append(f)
    lines = []
    for (feature, ref), items in groups.items():
        items = sorted(items, key=lambda f: -(f.effect or 0.0))
        ctx = next((f.context for f in items if f.context), "")
        tests = ", ".join(f.test() for f in items if f.name != SERVED_VERSIONS)
        head = f"{feature}" + (f" vs {ref}" if ref else "")
        body = "; ".join(x for x in (ctx, tests) if x)
        lines.append(f"{head}: {body}")
    lines += [f"{f.name}: {f.context}" for f in findings if f.source == "estimate"]
    return lines


def render(chs: Sequence[Chapter], extra_alerts: Sequence[Finding], limit: int = 3) -> list[str]:
    """The story as text lines."""
    pad = " " * 10
    lines = []
    for ch in chs:
        lines.append(f"{ch.scenario.days():<9} from {iso(ch.start)[:16]}Z  {ch.scenario.title}")
        lines.append(f"{pad}injected: {ch.scenario.injected}")
        if not ch.injected:
            verdict = "nothing flagged" if not ch.also else f"{len(ch.also)} false alarm(s)"
            lines.append(f"{pad}{verdict} in {ch.predictions:,.0f} predictions")
        elif ch.caught:
            caught = grouped(ch.caught_by)
            alerts = [f for f in ch.caught_by if f.source == "alert"]
            for i, text in enumerate(caught):
                lines.append(f"{pad}{'caught by' if i == 0 else '         '} {text}")
            for i, f in enumerate(alerts):
                label = "alert    " if i == 0 or caught else "caught by"
                lines.append(f"{pad}{label} {f.name}: {f.context}")
        else:
            lines.append(f"{pad}NOT CAUGHT by any analyzer test or alert")
        for text in grouped(ch.consequences)[:1]:
            lines.append(f"{pad}consequence: {text}")
        also = grouped(ch.also)
        for text in also[:limit]:
            lines.append(f"{pad}also flagged: {text}")
        if len(also) > limit:
            lines.append(f"{pad}... and {len(also) - limit} more (see the report)")
    for f in extra_alerts:
        lines.append(f"alert not tied to a scenario: {f.name}: {f.context}")
    return lines
