"""Tiny inline-SVG charts for the HTML report (no plotting dependency, no JavaScript).

Pure string building; every text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

PALETTE = ("#7f8c9a", "#d9534f", "#2f7ed8", "#f0ad4e", "#5cb85c", "#8e44ad")
_FONT = 'font-family="system-ui,sans-serif" font-size="12"'
# Charts are drawn on this canvas and scale with the page (viewBox; CSS may set the width).
WIDTH, HEIGHT = 640, 250


def _nice_step(span: float, ticks: int = 4) -> float:
    """A 1-2-2.5-5 x 10^k step that cuts `span` into about `ticks` parts."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / ticks
    exp = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * exp >= raw - 1e-12 * raw:
            return m * exp
    return 10.0 * exp


def nice_ticks(
    lo: float, hi: float, domain: tuple[float, float] | None = None
) -> tuple[float, float, list[float]]:
    """Axis limits on round numbers around [lo, hi], and the ticks between them.

    `domain` bounds the axis (a probability never needs ticks below 0 or above 1). A flat
    series gets a range around its value, so one point sits in the middle of the chart.
    """
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    if domain is not None:
        lo, hi = max(lo, domain[0]), min(hi, domain[1])
        if hi <= lo:
            lo, hi = domain
    step = _nice_step(hi - lo)
    lo, hi = math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
    if domain is not None:
        lo, hi = max(lo, domain[0]), min(hi, domain[1])
    count = round((hi - lo) / step)
    ticks = [lo + i * step for i in range(count + 1)]
    return lo, hi, [round(t, 12) for t in ticks]


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e6 or abs(v) < 1e-3:
        return f"{v:.2g}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.4g}"


def _short_num(v: float) -> str:
    """Three significant digits for labels printed on the chart (6.51 %, not 6.513 %)."""
    return _fmt(v) if abs(v) >= 1000 else f"{v:.3g}"


def _open(title: str, width: int, height: int) -> str:
    return (
        # width/height give the natural size on pages without the report's CSS (the demo
        # page); the report's CSS scales class "chart" to its column.
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">'
        f'<text x="4" y="16" {_FONT} font-weight="bold">{escape(title)}</text>'
    )


def _short(label: str, limit: int = 18) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"


def _legend(names: Sequence[str], colors: Sequence[str], x: float, y: float) -> str:
    out = []
    cx = x
    for name, color in zip(names, colors, strict=True):
        out.append(
            f'<rect x="{cx}" y="{y - 9}" width="10" height="10" fill="{color}"/>'
            f'<text x="{cx + 14}" y="{y}" {_FONT}>{escape(name)}</text>'
        )
        cx += 24 + 7 * len(name)
    return "".join(out)


def _grid(
    ticks: Sequence[float],
    y_of: Callable[[float], float],
    left: float,
    right: float,
    unit: str = "",
) -> str:
    return "".join(
        f'<line x1="{left}" x2="{right}" y1="{y_of(v):.1f}" y2="{y_of(v):.1f}" stroke="#e5e5e5"/>'
        f'<text x="{left - 4}" y="{y_of(v) + 4:.1f}" {_FONT} text-anchor="end">'
        f"{_fmt(v)}{escape(unit)}</text>"
        for v in ticks
    )


def _slanted(labels: Sequence[str], width: float = WIDTH - 66) -> bool:
    """Labels wider than their share of the axis (about 7 units a character) are slanted."""
    return any(len(x) * 7 > width / max(1, len(labels)) - 8 for x in labels)


def _x_labels(labels: Sequence[str], x_of: Callable[[int], float], y: float, width: float) -> str:
    """Slanted labels when they are many or long, level ones otherwise; at most ~24 shown."""
    n = len(labels)
    step = math.ceil(n / 24) if n else 1
    slant = _slanted(labels, width)
    out = []
    for i in range(0, n, step):
        x = x_of(i)
        if slant:
            out.append(
                f'<text x="{x:.1f}" y="{y:.1f}" {_FONT} text-anchor="end" '
                f'transform="rotate(-35 {x:.1f} {y:.1f})">{escape(_short(labels[i]))}</text>'
            )
        else:
            out.append(
                f'<text x="{x:.1f}" y="{y + 4:.1f}" {_FONT} text-anchor="middle">'
                f"{escape(labels[i])}</text>"
            )
    return "".join(out)


def bars(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    width: int = WIDTH,
    height: int = HEIGHT + 30,
    unit: str = "",
) -> str:
    """Grouped vertical bars: one group per label, one bar per series."""
    colors = PALETTE[: len(series)] if len(series) > 2 else ("#7f8c9a", "#d9534f")[: len(series)]
    left, right, top = 56, 10, 46
    bottom = 84 if _slanted(labels, width - left - right) else 30
    height -= 84 - bottom  # level labels need no room below the axis
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((v for _, vals in series for v in vals if math.isfinite(v)), default=0.0)
    _, vmax, ticks = nice_ticks(0.0, peak if peak > 0 else 1.0)
    n = max(1, len(labels))
    group_w = plot_w / n
    # A bar never grows wider than 48 units: one bucket is a bar, not a wall.
    bar_w = max(1.0, min(48.0, group_w * 0.8 / max(1, len(series))))
    base = top + plot_h

    def y_of(v: float) -> float:
        return base - plot_h * v / vmax

    def x_of(i: int) -> float:
        return left + group_w * (i + 0.5)

    parts = [_open(title, width, height), _grid(ticks, y_of, left, width - right, unit)]
    few = n * len(series) <= 8  # few bars: print their values on them
    for gi, label in enumerate(labels):
        gx = x_of(gi) - bar_w * len(series) / 2
        for si, ((name, vals), color) in enumerate(zip(series, colors, strict=True)):
            v = vals[gi] if gi < len(vals) else 0.0
            h = 0.0 if not math.isfinite(v) else plot_h * max(0.0, v) / vmax
            x = gx + si * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{color}"><title>{escape(name)} '
                f"{escape(label)}: {_fmt(v)}{escape(unit)}</title></rect>"
            )
            if few and math.isfinite(v):
                parts.append(
                    f'<text x="{x + bar_w / 2:.1f}" y="{base - h - 4:.1f}" {_FONT} '
                    f'text-anchor="middle">{_short_num(v)}{escape(unit)}</text>'
                )
    parts.append(_x_labels(labels, x_of, base + 14, plot_w))
    parts.append(_legend([s[0] for s in series], colors, left, 34))
    parts.append("</svg>")
    return "".join(parts)


def lines(
    title: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    band: tuple[Sequence[float | None], Sequence[float | None]] | None = None,
    domain: tuple[float, float] | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """Line chart over ordered points (gaps where a value is None), with an optional band.

    `domain` bounds the y axis (e.g. (0, 1) for probabilities; the band is clipped to it).
    Up to two points are drawn as labelled markers and the band as error bars: a line
    through one or two points says nothing a number does not say better.
    """
    left, right, top, bottom = 64, 10, 46, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vals in series for v in vals if v is not None and math.isfinite(v)]
    if band:
        values += [v for side in band for v in side if v is not None and math.isfinite(v)]
    lo, hi, ticks = nice_ticks(*((min(values), max(values)) if values else (0.0, 1.0)), domain)
    n = max(1, len(x_labels))
    short = n <= 2
    base = top + plot_h

    def y_of(v: float) -> float:
        return base - plot_h * (min(hi, max(lo, v)) - lo) / (hi - lo)

    def x_of(i: int) -> float:
        return left + plot_w * (i + 0.5) / n

    parts = [_open(title, width, height), _grid(ticks, y_of, left, width - right)]
    if band:
        if short:
            for i in range(n):
                a, b = band[0][i], band[1][i]
                if a is not None and b is not None and math.isfinite(a) and math.isfinite(b):
                    x = x_of(i)
                    parts.append(
                        f'<path d="M{x - 10:.1f},{y_of(b):.1f}h20M{x:.1f},{y_of(b):.1f}'
                        f'V{y_of(a):.1f}M{x - 10:.1f},{y_of(a):.1f}h20" stroke="#2f7ed8" '
                        'stroke-opacity="0.45" stroke-width="2" fill="none"/>'
                    )
        else:
            # One polygon per run of buckets with a band: a gap is not bridged.
            run: list[tuple[int, float, float]] = []
            for i, (a, b) in enumerate([*zip(band[0], band[1], strict=True), (None, None)]):
                if a is not None and b is not None and math.isfinite(a) and math.isfinite(b):
                    run.append((i, a, b))
                    continue
                if len(run) > 1:
                    pts = [(x_of(j), y_of(hi_)) for j, _, hi_ in run]
                    pts += [(x_of(j), y_of(lo_)) for j, lo_, _ in reversed(run)]
                    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
                    parts.append(f'<polygon points="{path}" fill="#2f7ed8" fill-opacity="0.12"/>')
                run = []
    colors = ("#2f7ed8", "#d9534f", "#5cb85c", "#f0ad4e")
    for si, ((name, vals), color) in enumerate(zip(series, colors, strict=False)):
        segment: list[str] = []
        for i, val in enumerate(vals):
            if val is None or not math.isfinite(val):
                if len(segment) > 1:
                    parts.append(
                        f'<polyline points="{" ".join(segment)}" fill="none" '
                        f'stroke="{color}" stroke-width="1.6"/>'
                    )
                segment = []
                continue
            x, y = x_of(i), y_of(val)
            segment.append(f"{x:.1f},{y:.1f}")
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{4 if short else 2}" fill="{color}">'
                f"<title>{escape(name)} {escape(x_labels[i])}: {_fmt(val)}</title>"
                "</circle>"
            )
            if short:
                # Labels left of the first series' markers and right of the others' stay apart.
                dx, anchor = (-8, "end") if si % 2 == 0 else (8, "start")
                parts.append(
                    f'<text x="{x + dx:.1f}" y="{y + 4:.1f}" {_FONT} text-anchor="{anchor}" '
                    f'fill="{color}">{_fmt(val)}</text>'
                )
        if len(segment) > 1:
            parts.append(
                f'<polyline points="{" ".join(segment)}" fill="none" '
                f'stroke="{color}" stroke-width="1.6"/>'
            )
    # As many x labels as fit side by side (about 7 units a character).
    widest = max((len(x) for x in x_labels), default=1) * 7 + 12
    step = max(1, math.ceil(n * widest / plot_w))
    shown = list(range(0, len(x_labels), step))
    for i in shown:
        # A label that does not fit centred under its point ends there, unless it would
        # then run into its neighbour: it is left out.
        anchor = "end" if x_of(i) + widest / 2 > width else "middle"
        if anchor == "end" and i != shown[0] and width - widest < x_of(i - step) + widest / 2:
            continue
        parts.append(
            f'<text x="{min(x_of(i), width - 2.0):.1f}" y="{base + 18}" {_FONT} '
            f'text-anchor="{anchor}">{escape(x_labels[i])}</text>'
        )
    parts.append(_legend([s[0] for s in series], list(colors[: len(series)]), left, 34))
    parts.append("</svg>")
    return "".join(parts)
