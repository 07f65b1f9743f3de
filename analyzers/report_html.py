"""The HTML report: one self-contained file (inline CSS and SVG, no scripts, no links out)."""

from __future__ import annotations

import datetime as dt
import math
from html import escape

from predwatch.analyzers import svg
from predwatch.analyzers.aggregates import format_duration, iso
from predwatch.analyzers.compare import FeatureResult
from predwatch.analyzers.report import (
    Report,
    _fmt,
    grid_cell,
    grid_features,
    latency_line,
    plural,
    worst_test,
)
from predwatch.analyzers.segment_compare import SegmentedComparison

MAX_BARS = 25

# The page fills the window up to a comfortable reading width; charts sit side by side when
# there is room and scale down (never below 480 units: their text stays legible, and
# narrower screens scroll the chart sideways) on a phone.
_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;margin:0 auto;padding:16px 24px;color:#222;
max-width:1800px;line-height:1.4}
h1{font-size:20px;margin:4px 0 8px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f5}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;
white-space:nowrap}td.note{min-width:16em}
.wide{overflow-x:auto;max-width:100%}
.drifted{color:#c9302c;font-weight:bold}.ok{color:#3c763d}.nodata{color:#8a6d3b}
.finding{background:#fbeaea;border:1px solid #e4b9b9;padding:8px}
.clean{background:#eaf5ea;border:1px solid #b9dcb9;padding:8px}.muted{color:#666}
.charts,.feature{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,560px),1fr));
gap:8px 24px}
.chartbox{overflow-x:auto}svg.chart{width:100%;min-width:480px;height:auto;display:block}
details{margin:6px 0;border-top:1px solid #eee;padding-top:4px}summary{cursor:pointer}
@media (max-width:600px){body{padding:10px 12px}td,th{padding:3px 5px}
.wide td,.wide th{white-space:nowrap}.wide td.note div{white-space:normal;width:26em}}
"""

# What each rate in FeatureResult.rates means, as (share, whose): "missing_current" is the
# share of missing values in the serving window.
RATE_NAMES = {
    "missing": "missing values",
    "out_of_range": "outside the training range",
    "unseen": "unseen values",
}


def _pct(v: float) -> str:
    """A share as a percentage with the precision small shares need."""
    x = 100.0 * v
    if x == 0:
        return "0 %"
    if abs(x) < 0.01:
        return f"{x:.2g} %"
    return f"{x:.2f} %"


def _wide(table: str) -> str:
    """A table that scrolls sideways on a narrow screen instead of widening the page."""
    return f"<div class='wide'>{table}</div>"


def _chart(svg_text: str) -> str:
    return f"<div class='chartbox'>{svg_text}</div>"


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
            f"<tr{cls}><td>{escape(t.name)}</td><td class='num'>{_fmt(t.statistic)}</td>"
            f"<td class='num'>{_fmt(t.p_value_adjusted)}</td><td class='num'>"
            f"{_fmt(t.effect_size)} <span class='muted'>{escape(t.effect_name)}</span></td>"
            f"<td class='num'>{_fmt(t.threshold)}</td>"
            f"<td class='num'>{_fmt(t.min_detectable_effect)}</td>"
            f"<td>{'yes' if t.drifted else 'no'}</td>"
            f"<td class='note'><div>{escape(t.note)}</div></td></tr>"
        )
    return _wide(
        "<table><tr><th>test</th><th class='num'>statistic</th><th class='num'>p (Holm)</th>"
        "<th class='num'>effect</th><th class='num'>threshold</th>"
        "<th class='num'>detectable from</th><th>drift</th><th>note</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _rates_table(f: FeatureResult, reference: str) -> str:
    """Missing / out-of-range / unseen shares: serving window against the reference."""
    rows = []
    for key, label in RATE_NAMES.items():
        cur, ref = f.rates.get(f"{key}_current"), f.rates.get(f"{key}_reference")
        if cur is None and ref is None:
            continue
        if key == "unseen" and f.type == "text":
            label = "unseen words"
        ref_text = "-" if ref is None else _pct(ref)
        if key == "out_of_range" and reference == "baseline" and ref is not None:
            # The training values set the range: 2 / (n + 1) is what a new sample shows.
            ref_text += " expected"
        rows.append(
            f"<tr><th>{escape(label)}</th><td class='num'>{'-' if cur is None else _pct(cur)}"
            f"</td><td class='num'>{ref_text}</td></tr>"
        )
    if not rows:
        return ""
    return (
        f"<table><tr><th>share</th><th class='num'>serving</th><th class='num'>"
        f"{escape(reference)}</th></tr>{''.join(rows)}</table>"
    )


def _feature_block(f: FeatureResult, reference: str) -> str:
    parts = [f"<h3>{escape(f.feature)} <small>({escape(f.type)})</small> {_status(f)}</h3>"]
    for note in (f.note, f.power_note):
        if note:
            parts.append(f"<p class='muted'>{escape(note)}</p>")
    # Chart and shares side by side when the window is wide, one above the other on a phone.
    cells = []
    d = f.distribution.coarse(MAX_BARS) if f.distribution else None
    if d is not None and (math.fsum(d.reference) or math.fsum(d.current)):
        cells.append(
            _chart(
                svg.bars(
                    f"{f.feature}: share per bin (%)",
                    d.labels,
                    [(reference, _share(d.reference)), ("serving", _share(d.current))],
                    unit="%",
                )
            )
        )
    side = _rates_table(f, reference)
    if f.unseen_top:
        vals = ", ".join(f"{escape(v)} ({c:,.0f})" for v, c in f.unseen_top)
        side += f"<p>most frequent unseen values: {vals}</p>"
    cells.append(f"<div>{side}</div>")
    parts.append("<div class='feature'>" + "".join(cells) + "</div>")
    parts.append(_tests_table(f))
    return "".join(parts)


def _overview(rows: tuple[FeatureResult, ...]) -> str:
    out = [
        "<table><tr><th>feature</th><th>type</th><th>verdict</th><th class='num'>n current</th>"
        "<th class='num'>n reference</th><th>strongest test</th><th>note</th></tr>"
    ]
    for f in rows:
        w = worst_test(f)
        note = "; ".join(x for x in (f.note, f.power_note) if x)
        strongest = (
            f"{escape(w.name)} {_fmt(w.effect_size)} (threshold {_fmt(w.threshold)})" if w else "-"
        )
        out.append(
            f"<tr><td>{escape(f.feature)}</td><td>{escape(f.type)}</td>"
            f"<td>{_status(f)}</td><td class='num'>{f.n_current:,.0f}</td>"
            f"<td class='num'>{f.n_reference:,.0f}</td><td>{strongest}</td>"
            f"<td class='note'><div>{escape(note)}</div></td></tr>"
        )
    out.append("</table>")
    return _wide("".join(out))


_CELL_CLASS = {"DRIFT": "drifted", "ok": "ok", "n/a": "nodata"}


def _segment_grid(segmented: SegmentedComparison) -> str:
    """Segment x feature: the verdict of each feature in each segment, then the mix."""
    names = grid_features(segmented)
    head = "".join(f"<th>{escape(n)}</th>" for n in names)
    out = [
        "<table><tr><th>segment</th><th class='num'>n current</th>"
        f"<th class='num'>n reference</th><th>verdict</th>{head}<th>note</th></tr>"
    ]
    for r in segmented.segments:
        verdict = "drifted" if r.drifted else r.status
        cls = {"drifted": "drifted", "ok": "ok"}.get(verdict, "nodata")
        cells = "".join(
            f"<td class='{_CELL_CLASS.get(x, 'muted')}'>{escape(x)}</td>"
            for x in (grid_cell(r, n) for n in names)
        )
        out.append(
            f"<tr><td>{escape(r.name)}</td><td class='num'>{r.n_current:,.0f}</td>"
            f"<td class='num'>{r.n_reference:,.0f}</td>"
            f"<td><span class='{cls}'>{escape(verdict)}</span></td>{cells}"
            f"<td class='note'><div>{escape(r.note)}</div></td></tr>"
        )
    out.append("</table>")
    mix = [f"<h3>Segment mix</h3>{_overview(segmented.mix)}"] if segmented.mix else []
    return _wide("".join(out)) + "".join(mix)


def _domain(report: Report) -> tuple[float, float] | None:
    """(0, 1) when every prediction of the window is a probability-like score, else None."""
    s = report.prediction_summary
    if s is None or s.min is None or s.max is None:
        return None
    return (0.0, 1.0) if s.min >= 0.0 and s.max <= 1.0 else None


def _trend(report: Report) -> str:
    if not report.trend:
        return ""
    starts = [b.start.astimezone(dt.UTC) for b in report.trend]
    one_day = len({t.date() for t in starts}) == 1
    labels = [t.strftime("%H:%M" if one_day else "%m-%d %H:%M") for t in starts]
    every = report.trend_interval
    charts = []
    domain = _domain(report)
    if any(b.mean is not None for b in report.trend):
        lo = [None if b.mean is None or b.std is None else b.mean - b.std for b in report.trend]
        hi = [None if b.mean is None or b.std is None else b.mean + b.std for b in report.trend]
        charts.append(
            svg.lines(
                f"prediction per {every}: mean, median (band: mean \u00b1 sd)",
                labels,
                [
                    ("mean", [b.mean for b in report.trend]),
                    ("median", [b.median for b in report.trend]),
                ],
                band=(lo, hi),
                domain=domain,
            )
        )
        charts.append(
            svg.lines(
                f"prediction per {every}: min, max",
                labels,
                [("min", [b.min for b in report.trend]), ("max", [b.max for b in report.trend])],
                domain=domain,
            )
        )
    charts.append(
        svg.bars(f"predictions per {every}", labels, [("count", [b.count for b in report.trend])])
    )
    day = f", {starts[0]:%Y-%m-%d} (UTC)" if one_day else " (UTC)"
    head = f"<p class='muted'>{plural(len(report.trend), 'bucket')} of {escape(every)}{day}</p>"
    return (
        "<h2>Trends</h2>"
        + head
        + "<div class='charts'>"
        + "".join(_chart(c) for c in charts)
        + "</div>"
    )


def _when(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _prediction_row(report: Report) -> str | None:
    s = report.prediction_summary
    if s is None:
        return None
    parts = [
        plural(s.n, "prediction"),
        f"mean {_fmt(s.mean)}",
        f"median {_fmt(report.prediction_median)}",
        f"sd {_fmt(s.std)}",
        f"min {_fmt(s.min)}",
        f"max {_fmt(s.max)}",
    ]
    if report.trend_slope is not None:
        parts.append(f"mean moves {report.trend_slope:+.3g} per hour")
    return " \u00b7 ".join(parts)


def _versions_rows(report: Report) -> list[tuple[str, str]]:
    if not report.versions:
        return []
    total = sum(g.count for g in report.versions)
    groups = "; ".join(
        f"{g.version}: {plural(g.count, 'prediction')}"
        + (f" ({100 * g.count / total:.0f} %)" if total else "")
        + (f", mean {_fmt(g.summary.mean)}" if g.summary is not None else "")
        for g in report.versions
    )
    rows = [("model versions", groups)]
    tests = report.version_tests
    if tests:
        if all(t.p_value is None for t in tests):
            verdict = tests[0].note or "not compared"
        else:
            differ = [t.name for t in tests if t.drifted]
            effects = ", ".join(
                f"{t.name} {t.effect_name.replace('_', ' ')} {_fmt(t.effect_size)} "
                f"(threshold {_fmt(t.threshold)}, p {_fmt(t.p_value_adjusted)})"
                for t in tests
            )
            verdict = "differ (" + ", ".join(differ) + ")" if differ else "do not differ"
            verdict = f"{verdict}: {effects}"
        rows.append(("predictions across versions", verdict))
    return rows


def _nonfinite_row(report: Report) -> str | None:
    nf = report.nonfinite
    if nf is None or not nf.applies:
        return None
    if not nf.predictions and not nf.documents:
        return "none"
    return (
        f"{plural(nf.predictions, 'prediction')} without a finite value; "
        f"{plural(nf.documents, 'document')} with NaN or infinity somewhere"
    )


def _age_row(report: Report) -> str | None:
    st = report.staleness
    if st is None:
        return None
    if st.trained_at is None or st.age is None:
        return (
            "unknown: neither the predictions (model.trained_at) nor the baseline say when "
            "the model was trained"
        )
    source = {"predictions": "model.trained_at of the predictions", "baseline": "the baseline"}
    text = (
        f"trained {_when(st.trained_at)} ({source.get(st.source, st.source)}), "
        f"{st.age.total_seconds() / 86400:.1f} days before the window's end; "
    )
    if st.max_age is None:
        return text + "no maximum age set (--max-age)"
    limit = format_duration(st.max_age)
    if st.stale:
        return text + f"STALE: older than {limit} (versions {', '.join(st.stale_versions)})"
    return text + f"within the maximum age of {limit}"


def _latency_row(report: Report) -> str | None:
    lat = report.latency
    if lat is None or (lat.current is None and lat.previous is None):
        return None
    text = latency_line(lat)
    if lat.ratio is not None:
        limit = f"flagged above x{1 + lat.tolerance:.2f}"
        text += f": {'REGRESSED' if lat.regressed else 'no regression'} ({limit})"
    return text


def _checks(report: Report) -> str:
    rows: list[tuple[str, str | None]] = [
        ("prediction value", _prediction_row(report)),
        *_versions_rows(report),
        ("non-finite predictions", _nonfinite_row(report)),
        ("model age", _age_row(report)),
        ("latency", _latency_row(report)),
    ]
    flagged = {
        "non-finite predictions": report.nonfinite is not None and report.nonfinite.flagged,
        "model age": report.staleness is not None and report.staleness.stale,
        "latency": report.latency is not None and report.latency.regressed,
        "predictions across versions": any(t.drifted for t in report.version_tests),
    }
    body = "".join(
        f"<tr><th>{escape(k)}</th><td{' class=drifted' if flagged.get(k) else ''}>"
        f"{escape(v)}</td></tr>"
        for k, v in rows
        if v is not None
    )
    table = _latency_table(report)
    return f"<h2>Model checks</h2>{_wide(f'<table>{body}</table>')}{table}"


def _latency_table(report: Report) -> str:
    """Every latency percentile, now and in the previous window."""
    lat = report.latency
    if lat is None or lat.current is None or not lat.current.count:
        return ""
    prev = lat.previous.percentiles if lat.previous and lat.previous.count else {}
    rows = "".join(
        f"<tr><th>p{escape(k)}</th><td class='num'>{_fmt(v)}</td>"
        f"<td class='num'>{_fmt(prev.get(k))}</td></tr>"
        for k, v in lat.current.percentiles.items()
    )
    return (
        "<table><tr><th>latency (ms)</th><th class='num'>window</th>"
        f"<th class='num'>previous window</th></tr>{rows}</table>"
    )


def render_html(report: Report) -> str:
    """The whole report as one HTML document."""
    ref = report.reference.describe()
    findings = report.findings
    verdict = (
        (
            f"<div class='finding'><b>{plural(len(findings), 'finding')}:</b> "
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
    ref_name = {"baseline": "baseline", "previous": "previous window"}.get(
        report.reference.kind, "reference range"
    )
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>predwatch analyze: {escape(report.model)}</title><style>{_CSS}</style></head>",
        f"<body><h1>predwatch analyze &mdash; model {escape(report.model)}</h1>",
        f"<p>window {iso(report.window.start)} .. {iso(report.window.end)} "
        f"({plural(report.documents, 'prediction')}); reference: {escape(ref)} "
        f"({plural(report.reference.documents, 'row')}); alpha {report.alpha} with "
        f"Holm; run {escape(report.run_id)}</p>",
        verdict,
        "".join(f"<p class='nodata'>note: {escape(n)}</p>" for n in report.notes),
        "<h2>Features</h2>",
        _overview(report.comparison.features),
    ]
    if report.comparison.predictions:
        parts += ["<h2>Predictions</h2>", _overview(report.comparison.predictions)]
    if report.segmented.segments:
        parts += ["<h2>Segments</h2>", _segment_grid(report.segmented)]
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
