"""Tiny inline-SVG charts for the HTML report (no plotting dependency, no JavaScript).

Pure string building; every text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

PALETTE = ("#7f8c9a", "#d9534f", "#2f7ed8", "#f0ad4e", "#5cb85c", "#8e44ad")
_FONT = 'font-family="system-ui,sans-serif" font-size="11"'


def _nice_max(x: float) -> float:
    if x <= 0 or not math.isfinite(x):
        return 1.0
    exp = 10.0 ** math.floor(math.log10(x))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * exp >= x:
            return m * exp
    return 10.0 * exp


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        return f"{v:.2g}"
    return f"{v:.4g}"


def _short(label: str, limit: int = 18) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"


def _legend(names: Sequence[str], colors: Sequence[str], x: float, y: float) -> str:
    out = []
    for i, (name, color) in enumerate(zip(names, colors, strict=True)):
        cx = x + i * 130
        out.append(
            f'<rect x="{cx}" y="{y - 9}" width="10" height="10" fill="{color}"/>'
            f'<text x="{cx + 14}" y="{y}" {_FONT}>{escape(name)}</text>'
        )
    return "".join(out)


def bars(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    width: int = 720,
    height: int = 240,
    unit: str = "",
) -> str:
    """Grouped vertical bars: one group per label, one bar per series."""
    colors = PALETTE[: len(series)] if len(series) > 2 else ("#7f8c9a", "#d9534f")[: len(series)]
    left, right, top, bottom = 52, 10, 30, 84
    plot_w, plot_h = width - left - right, height - top - bottom
    vmax = _nice_max(max((v for _, vals in series for v in vals), default=0.0))
    n = max(1, len(labels))
    group_w = plot_w / n
    bar_w = max(1.0, group_w * 0.8 / max(1, len(series)))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="{left}" y="16" {_FONT} font-weight="bold">{escape(title)}</text>',
    ]
    for i in range(5):
        v = vmax * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#e5e5e5"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" {_FONT} text-anchor="end">'
            f"{_fmt(v)}{escape(unit)}</text>"
        )
    for gi, label in enumerate(labels):
        gx = left + gi * group_w + group_w * 0.1
        for si, ((name, vals), color) in enumerate(zip(series, colors, strict=True)):
            v = vals[gi] if gi < len(vals) else 0.0
            h = 0.0 if not math.isfinite(v) else plot_h * max(0.0, v) / vmax
            x = gx + si * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{color}"><title>{escape(name)} '
                f"{escape(label)}: {_fmt(v)}{escape(unit)}</title></rect>"
            )
        if n <= 30 or gi % math.ceil(n / 30) == 0:
            lx, ly = gx + group_w * 0.4, top + plot_h + 10
            parts.append(
                f'<text x="{lx:.1f}" y="{ly:.1f}" {_FONT} text-anchor="end" '
                f'transform="rotate(-35 {lx:.1f} {ly:.1f})">'
                f"{escape(_short(label))}</text>"
            )
    parts.append(_legend([s[0] for s in series], colors, width - 130 * len(series), 16))
    parts.append("</svg>")
    return "".join(parts)


def lines(
    title: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    band: tuple[Sequence[float | None], Sequence[float | None]] | None = None,
    width: int = 720,
    height: int = 240,
) -> str:
    """Line chart over ordered points (gaps where a value is None), with an optional band."""
    left, right, top, bottom = 60, 10, 30, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vals in series for v in vals if v is not None and math.isfinite(v)]
    if band:
        values += [v for side in band for v in side if v is not None and math.isfinite(v)]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if hi == lo:
        lo, hi = lo - 1.0, hi + 1.0
    pad = (hi - lo) * 0.05
    lo, hi = lo - pad, hi + pad
    n = max(1, len(x_labels))

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)
        return x, top + plot_h - plot_h * (v - lo) / (hi - lo)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="{left}" y="16" {_FONT} font-weight="bold">{escape(title)}</text>',
    ]
    for i in range(5):
        v = lo + (hi - lo) * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#e5e5e5"/><text x="{left - 4}" y="{y + 4:.1f}" {_FONT} '
            f'text-anchor="end">{_fmt(v)}</text>'
        )
    if band:
        upper = [(i, v) for i, v in enumerate(band[1]) if v is not None and math.isfinite(v)]
        lower = [(i, v) for i, v in enumerate(band[0]) if v is not None and math.isfinite(v)]
        if upper and lower:
            pts = [xy(i, v) for i, v in upper] + [xy(i, v) for i, v in reversed(lower)]
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            parts.append(f'<polygon points="{path}" fill="#2f7ed8" fill-opacity="0.12"/>')
    colors = ("#2f7ed8", "#d9534f", "#5cb85c", "#f0ad4e")
    for (name, vals), color in zip(series, colors, strict=False):
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
            x, y = xy(i, val)
            segment.append(f"{x:.1f},{y:.1f}")
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{color}">'
                f"<title>{escape(name)} {escape(x_labels[i])}: {_fmt(val)}</title>"
                "</circle>"
            )
        if len(segment) > 1:
            parts.append(
                f'<polyline points="{" ".join(segment)}" fill="none" '
                f'stroke="{color}" stroke-width="1.6"/>'
            )
    step = math.ceil(n / 8)
    for i in range(0, n, step):
        x, _ = xy(i, lo)
        parts.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 16}" {_FONT} '
            f'text-anchor="middle">{escape(x_labels[i])}</text>'
        )
    parts.append(
        _legend([s[0] for s in series], list(colors[: len(series)]), width - 130 * len(series), 16)
    )
    parts.append("</svg>")
    return "".join(parts)
