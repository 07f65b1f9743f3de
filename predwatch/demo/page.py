"""The demo's HTML entry page: the story, charts of the week, links to the analyzer reports.

One self-contained file like the analyzer's reports (inline CSS and SVG, no scripts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from predwatch.analyzers import svg
from predwatch.analyzers.aggregates import iso
from predwatch.analyzers.report import Report
from predwatch.demo.story import Chapter, Finding, grouped

_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f5}.caught{color:#3c763d;font-weight:bold}.missed{color:#c9302c;font-weight:bold}
.muted{color:#777}ul{margin:2px 0;padding-left:18px}
"""


def _rate(report: Report, feature: str, key: str) -> float:
    for f in report.comparison.features:
        if f.feature == feature:
            v = f.rates.get(key)
            return 100.0 * v if v is not None else 0.0
    return 0.0


def _other_version_share(report: Report) -> float:
    total = sum(g.count for g in report.versions)
    other = sum(g.count for g in report.versions if g.version != report.baseline.get("version"))
    return 100.0 * other / total if total else 0.0


def charts(chs: Sequence[Chapter], reports: Mapping[str, Sequence[tuple[str, Report]]]) -> str:
    """Inline SVG charts of the signals per scenario window (vs-baseline runs)."""
    labels, missing, unseen, version, p95, mean, drifted = [], [], [], [], [], [], []
    est_acc: list[float | None] = []
    est_auc: list[float | None] = []
    for ch in chs:
        base = next((r for ref, r in reports.get(ch.scenario.key, ()) if ref == "baseline"), None)
        if base is None:
            continue
        labels.append(f"{ch.scenario.days()}: {ch.scenario.key}")
        missing.append(_rate(base, "ac_mass", "missing_current"))
        unseen.append(_rate(base, "remarks", "unseen_current"))
        version.append(_other_version_share(base))
        lat = base.latency.current if base.latency else None
        p95.append(lat.percentiles.get("95") if lat else None)
        mean.append(base.prediction_summary.mean if base.prediction_summary else None)
        drifted.append(float(sum(bool(t.drifted) for t in base.comparison.all_tests())))
        est_acc.append(ch.estimated.get("accuracy"))
        est_auc.append(ch.estimated.get("roc_auc"))
    return "".join(
        [
            svg.bars(
                "Signals per window (% of predictions)",
                labels,
                [
                    ("ac_mass null", missing),
                    ("unseen words", unseen),
                    ("other version", version),
                ],
                unit="%",
            ),
            svg.bars("Drifted tests per window (vs the baseline)", labels, [("tests", drifted)]),
            svg.lines("Latency p95 (ms) per window", labels, [("p95 ms", p95)]),
            svg.lines("Mean score per window", labels, [("mean P(disrupted)", mean)]),
            svg.lines(
                "Estimated quality per window, before any label (predwatch quality --estimate)",
                labels,
                [("accuracy", est_acc), ("ROC AUC", est_auc)],
            ),
        ]
    )


def _items(lines: Sequence[str]) -> str:
    if not lines:
        return "<span class='muted'>-</span>"
    return "<ul>" + "".join(f"<li>{escape(x)}</li>" for x in lines) + "</ul>"


def _findings(items: Sequence[Finding]) -> str:
    return _items([f.line() for f in items])


def _caught(ch: Chapter) -> str:
    alerts = [f"alert {f.name}: {f.context}" for f in ch.caught_by if f.source == "alert"]
    return _items(grouped(ch.caught_by) + alerts)


def _also(ch: Chapter) -> str:
    return _items([f"consequence: {x}" for x in grouped(ch.consequences)] + grouped(ch.also))


def render_page(
    title: str,
    intro: Sequence[str],
    chs: Sequence[Chapter],
    reports: Mapping[str, Sequence[tuple[str, Report]]],
    report_files: Mapping[str, str],
    extra_alerts: Sequence[Finding],
    kibana_links: Mapping[str, str],
) -> str:
    """The whole entry page."""
    rows = []
    for ch in chs:
        if not ch.injected:
            verdict = (
                "<span class='caught'>clean</span>"
                if not ch.also
                else (f"<span class='missed'>{len(ch.also)} false alarm(s)</span>")
            )
        elif ch.caught:
            verdict = "<span class='caught'>caught</span>"
        else:
            verdict = "<span class='missed'>not caught</span>"
        link = report_files.get(ch.scenario.key)
        report = f"<a href='{escape(link)}'>report</a>" if link else ""
        rows.append(
            f"<tr><td>{escape(ch.scenario.days())}<br><span class='muted'>"
            f"{escape(iso(ch.start)[:16])}Z</span></td><td><b>{escape(ch.scenario.title)}"
            f"</b><br>{escape(ch.scenario.injected)}</td><td>{verdict}</td>"
            f"<td>{_caught(ch)}</td><td>{_also(ch)}</td>"
            f"<td>{report}</td></tr>"
        )
    kib = "".join(
        f"<li><a href='{escape(url)}'>{escape(name)}</a></li>" for name, url in kibana_links.items()
    )
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        "".join(f"<p>{escape(line)}</p>" for line in intro),
        "<h2>What was injected, and what caught it</h2>",
        "<table><tr><th>when</th><th>scenario</th><th>verdict</th><th>caught by</th>"
        "<th>also flagged</th><th>analyzer report</th></tr>" + "".join(rows) + "</table>",
    ]
    if extra_alerts:
        parts.append("<p>Alerts not tied to a scenario:</p>" + _findings(extra_alerts))
    parts += ["<h2>The week at a glance</h2>", charts(chs, reports)]
    if kib:
        parts.append(f"<h2>Kibana</h2><ul>{kib}</ul>")
    parts.append("</body></html>")
    return "".join(parts)
