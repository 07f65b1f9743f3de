"""The HTML report: one self-contained file (inline CSS and SVG, no scripts, no links out)."""

from __future__ import annotations

import math
from html import escape
from typing import Any

from predwatch.analyzers import svg
from predwatch.analyzers.aggregates import iso
from predwatch.analyzers.compare import FeatureResult
from predwatch.analyzers.report import Report, _fmt, worst_test

MAX_BARS = 25

_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f5}.drifted{color:#c9302c;font-weight:bold}.ok{color:#3c763d}
.nodata{color:#8a6d3b}.finding{background:#fbeaea;border:1px solid #e4b9b9;padding:8px}
.clean{background:#eaf5ea;border:1px solid #b9dcb9;padding:8px}.muted{color:#777}
details{margin:6px 0}summary{cursor:pointer}
"""


def _share(values: tuple[float, ...]) -> list[float]:
    total = sum(values)
    return [100.0 * v / total if total else 0.0 for v in values]


def _status(f: FeatureResult) -> str:
    cls = {"drifted": "drifted", "ok": "ok"}.get(f.status, "nodata")
    return f'<span class="{cls}">{escape(f.status)}</span>'


def _tests_table(f: FeatureResult) -> str:
    rows = []
    for t in f.tests:
        cls = ' class="drifted"' if t.drifted else ""
        rows.append(
            f"<tr{cls}><td>{escape(t.name)}</td><td>{_fmt(t.statistic)}</td>"
            f"<td>{_fmt(t.p_value_adjusted)}</td><td>{_fmt(t.effect_size)} "
            f"<span class='muted'>{escape(t.effect_name)}</span></td>"
            f"<td>{_fmt(t.threshold)}</td><td>{_fmt(t.min_detectable_effect)}</td>"
            f"<td>{'yes' if t.drifted else 'no'}</td><td>{escape(t.note)}</td></tr>"
        )
    return (
        "<table><tr><th>test</th><th>statistic</th><th>p (Holm)</th><th>effect</th>"
        "<th>threshold</th><th>detectable from</th><th>drift</th><th>note</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _feature_block(f: FeatureResult, reference: str) -> str:
    parts = [f"<h3>{escape(f.feature)} <small>({escape(f.type)})</small> {_status(f)}</h3>"]
    for note in (f.note, f.power_note):
        if note:
            parts.append(f"<p class='muted'>{escape(note)}</p>")
    d = f.distribution.coarse(MAX_BARS) if f.distribution else None
    if d is not None and (math.fsum(d.reference) or math.fsum(d.current)):
        parts.append(
            svg.bars(
                f"{f.feature}: share per bin (%)",
                d.labels,
                [(reference, _share(d.reference)), ("serving", _share(d.current))],
                unit="%",
            )
        )
    rates = {k: v for k, v in f.rates.items() if v is not None}
    if rates:
        parts.append(
            "<p>" + ", ".join(f"{escape(k)} {100 * v:.2f}%" for k, v in rates.items()) + "</p>"
        )
    if f.unseen_top:
        vals = ", ".join(f"{escape(v)} ({c:g})" for v, c in f.unseen_top)
        parts.append(f"<p>most frequent unseen values: {vals}</p>")
    parts.append(_tests_table(f))
    return "".join(parts)


def _overview(rows: tuple[FeatureResult, ...]) -> str:
    out = [
        "<table><tr><th>feature</th><th>type</th><th>verdict</th><th>n current</th>"
        "<th>n reference</th><th>strongest test</th><th>note</th></tr>"
    ]
    for f in rows:
        w = worst_test(f)
        strongest = (
            f"{escape(w.name)} {_fmt(w.effect_size)} (threshold {_fmt(w.threshold)})" if w else "-"
        )
        out.append(
            f"<tr><td>{escape(f.feature)}</td><td>{escape(f.type)}</td>"
            f"<td>{_status(f)}</td><td>{f.n_current:,.0f}</td>"
            f"<td>{f.n_reference:,.0f}</td><td>{strongest}</td>"
            f"<td>{escape('; '.join(x for x in (f.note, f.power_note) if x))}</td></tr>"
        )
    out.append("</table>")
    return "".join(out)


def _trend(report: Report) -> str:
    if not report.trend:
        return ""
    labels = [iso(b.start)[5:16].replace("T", " ") for b in report.trend]
    parts = []
    if any(b.mean is not None for b in report.trend):
        lo = [None if b.mean is None or b.std is None else b.mean - b.std for b in report.trend]
        hi = [None if b.mean is None or b.std is None else b.mean + b.std for b in report.trend]
        parts.append(
            svg.lines(
                f"prediction per {report.trend_interval} (mean, median; band = mean +- std)",
                labels,
                [
                    ("mean", [b.mean for b in report.trend]),
                    ("median", [b.median for b in report.trend]),
                ],
                band=(lo, hi),
            )
        )
        parts.append(
            svg.lines(
                "prediction min / max",
                labels,
                [("min", [b.min for b in report.trend]), ("max", [b.max for b in report.trend])],
            )
        )
    parts.append(
        svg.bars(
            f"predictions per {report.trend_interval}",
            labels,
            [("count", [b.count for b in report.trend])],
        )
    )
    return "<h2>Trends</h2>" + "".join(parts)


def _checks(report: Report) -> str:
    d: dict[str, Any] = report.to_dict()
    rows = []
    preds = d["predictions"]
    if preds["summary"]:
        s = preds["summary"]
        rows.append(("prediction value", ", ".join(f"{k} {_fmt(s[k])}" for k in s)))
    if preds["versions"]["groups"]:
        rows.append(
            (
                "versions",
                ", ".join(
                    f"{g['version']}: {g['count']:,.0f} (mean {_fmt(g['mean'])})"
                    for g in preds["versions"]["groups"]
                ),
            )
        )
        for t in preds["versions"]["tests"]:
            rows.append(
                (
                    f"versions: {t['name']}",
                    f"effect {_fmt(t['effect_size'])}, p "
                    f"{_fmt(t['p_value_adjusted'])}, differ: {t['drifted']} {t['note']}",
                )
            )
    nf = preds["nonfinite"]
    if nf and report.nonfinite and report.nonfinite.applies:
        rows.append(
            (
                "non-finite predictions",
                f"{nf['predictions']:g} (documents with NaN/inf: {nf['documents']:g})",
            )
        )
    st = d["staleness"]
    if st:
        rows.append(
            (
                "model trained at",
                f"{st['trained_at']} ({st['source']}), age "
                f"{_fmt(st['age_days'])} days, max age {st['max_age']}, stale: {st['stale']}",
            )
        )
    lat = d["latency"]
    if lat and lat["current"]:
        cur = lat["current"]["percentiles"]
        prev = (lat["previous"] or {}).get("percentiles", {})
        rows.append(
            (
                "latency ms (now / previous)",
                ", ".join(f"p{k} {_fmt(v)} / {_fmt(prev.get(k))}" for k, v in cur.items())
                + f"; regressed: {lat['regressed']} {lat['note']}",
            )
        )
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f"<h2>Model checks</h2><table>{body}</table>"


def render_html(report: Report) -> str:
    """The whole report as one HTML document."""
    ref = report.reference.describe()
    findings = report.findings
    verdict = (
        (
            f"<div class='finding'><b>{len(findings)} finding(s):</b> "
            + "; ".join(escape(x) for x in findings)
            + "</div>"
        )
        if findings
        else ("<div class='clean'><b>No drift, no findings.</b></div>")
    )
    drifted = [
        f for f in (*report.comparison.features, *report.comparison.predictions) if f.drifted
    ]
    rest = [
        f for f in (*report.comparison.features, *report.comparison.predictions) if not f.drifted
    ]
    ref_name = "baseline" if report.reference.kind == "baseline" else "reference"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>predwatch analyze: {escape(report.model)}</title><style>{_CSS}</style></head>",
        f"<body><h1>predwatch analyze &mdash; model {escape(report.model)}</h1>",
        f"<p>window {iso(report.window.start)} .. {iso(report.window.end)} "
        f"({report.documents:,.0f} predictions); reference: {escape(ref)} "
        f"({report.reference.documents:,.0f} rows); alpha {report.alpha} with "
        f"Holm; run {escape(report.run_id)}</p>",
        verdict,
        "".join(f"<p class='nodata'>note: {escape(n)}</p>" for n in report.notes),
        "<h2>Features</h2>",
        _overview(report.comparison.features),
    ]
    if report.comparison.predictions:
        parts += ["<h2>Predictions</h2>", _overview(report.comparison.predictions)]
    if drifted:
        parts.append("<h2>Drifted: " + ref_name + " vs serving</h2>")
        parts += [_feature_block(f, ref_name) for f in drifted]
    parts.append(_trend(report))
    parts.append(_checks(report))
    if rest:
        parts.append("<h2>Other features</h2>")
        parts += [
            f"<details><summary>{escape(f.feature)} &mdash; {escape(f.status)}</summary>"
            f"{_feature_block(f, ref_name)}</details>"
            for f in rest
        ]
    parts.append("</body></html>")
    return "\n".join(parts)
