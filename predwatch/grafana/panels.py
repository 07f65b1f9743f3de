"""Grafana panels as plain dicts, and their layout on Grafana's 24-column grid.

The shapes follow Grafana's dashboard JSON model (the classic model every Grafana since 8
imports and migrates forward): `gridPos {x, y, w, h}` with `w <= 24`, one `datasource`
reference per panel and per query, Prometheus queries as `targets` with `expr`,
`legendFormat` and a `refId`. The datasource is always the dashboard's `datasource`
template variable, so the same file works against any Prometheus. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

GRID_COLUMNS = 24
DATASOURCE_VARIABLE = "datasource"
DATASOURCE: Obj = {"type": "prometheus", "uid": "${" + DATASOURCE_VARIABLE + "}"}
ROW_HEIGHT = 1


@dataclass(frozen=True)
class Query:
    """One PromQL query of a panel."""

    expr: str
    legend: str = ""
    instant: bool = False
    fmt: str = "time_series"  # time_series | heatmap | table


@dataclass(frozen=True)
class Panel:
    """A panel before layout: kind, title, queries, size and display options."""

    kind: str  # timeseries | stat | heatmap | state-timeline
    title: str
    queries: tuple[Query, ...]
    description: str = ""
    unit: str = "short"
    w: int = 12
    h: int = 8
    options: Mapping[str, Any] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)  # extra fieldConfig.defaults
    overrides: tuple[Obj, ...] = ()


@dataclass(frozen=True)
class Row:
    """A titled row of panels (rendered as a Grafana `row` panel followed by its panels)."""

    title: str
    panels: tuple[Panel, ...]


def layout(rows: Sequence[Row]) -> list[Obj]:
    """The dashboard's `panels`: each row header, then its panels filled left to right.

    Ids count from 1 in order; every panel gets a `gridPos` inside the 24 columns.
    """
    out: list[Obj] = []
    y = 0
    next_id = 1
    for row in rows:
        out.append(
            {
                "id": next_id,
                "type": "row",
                "title": row.title,
                "collapsed": False,
                "gridPos": {"x": 0, "y": y, "w": GRID_COLUMNS, "h": ROW_HEIGHT},
                "panels": [],
            }
        )
        next_id += 1
        y += ROW_HEIGHT
        x = row_h = 0
        for panel in row.panels:
            if not 0 < panel.w <= GRID_COLUMNS or panel.h <= 0:
                raise ValueError(f"panel {panel.title!r}: size {panel.w}x{panel.h} does not fit")
            if x + panel.w > GRID_COLUMNS:
                x, y, row_h = 0, y + row_h, 0
            out.append(render(panel, next_id, {"x": x, "y": y, "w": panel.w, "h": panel.h}))
            next_id += 1
            x += panel.w
            row_h = max(row_h, panel.h)
        y += row_h
    return out


def render(panel: Panel, panel_id: int, grid: Obj) -> Obj:
    """One panel in Grafana's JSON model."""
    targets = []
    for i, q in enumerate(panel.queries):
        target: Obj = {
            "refId": _ref_id(i),
            "datasource": dict(DATASOURCE),
            "editorMode": "code",
            "expr": q.expr,
            "legendFormat": q.legend or "__auto",
            "range": not q.instant,
            "instant": q.instant,
            "format": q.fmt,
        }
        targets.append(target)
    out: Obj = {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "datasource": dict(DATASOURCE),
        "gridPos": grid,
        "targets": targets,
        "fieldConfig": {
            "defaults": {"unit": panel.unit, **panel.defaults},
            "overrides": list(panel.overrides),
        },
        "options": dict(panel.options) or _default_options(panel.kind),
    }
    if panel.description:
        out["description"] = panel.description
    return out


def _ref_id(i: int) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return letters[i] if i < len(letters) else f"Q{i}"


def _default_options(kind: str) -> Obj:
    if kind == "stat":
        return {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "area",
            "textMode": "auto",
        }
    if kind == "heatmap":
        return {
            "calculate": False,
            "cellGap": 1,
            "color": {"mode": "scheme", "scheme": "Oranges", "steps": 64},
            "yAxis": {"axisPlacement": "left"},
            "rowsFrame": {"layout": "auto"},
            "tooltip": {"mode": "single", "yHistogram": True},
            "legend": {"show": True},
        }
    if kind == "state-timeline":
        return {
            "mergeValues": True,
            "showValue": "auto",
            "alignValue": "left",
            "rowHeight": 0.9,
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "single", "sort": "none"},
        }
    return {
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True, "calcs": []},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }


def thresholds(*steps: tuple[float | None, str]) -> Obj:
    """A `thresholds` field config: (value, color) steps, the first value None (-inf)."""
    return {"mode": "absolute", "steps": [{"value": v, "color": c} for v, c in steps]}


def dashed(series_regex: str) -> Obj:
    """A field override drawing the series whose name matches `series_regex` dashed: the
    training reference lines next to the serving ones."""
    return {
        "matcher": {"id": "byRegexp", "options": series_regex},
        "properties": [
            {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
            {"id": "custom.fillOpacity", "value": 0},
        ],
    }
