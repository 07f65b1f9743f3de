"""Dashboard saved objects: panel layout on Kibana's 48-column grid and the navigation panel.

Panels reference Lens visualizations and saved searches by id (`panelRefName` `panel_<i>`,
reference name `<i>:panel_<i>`, the shape Kibana 8.x/9.x dashboards store). The links between
the three dashboards are a by-value Markdown panel: it has no references to resolve, needs no
extra plugin, and is the same panel format Kibana 9 ships in its own sample dashboards. Pure.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from predwatch.kibana.lens import CORE_MIGRATION_VERSION

Obj = dict[str, Any]

GRID_COLUMNS = 48
# Model version 2 of the dashboard type (10.2.0) is the newest every 9.x release knows;
# Kibana refuses documents newer than it knows, and migrates older ones forward on import.
DASHBOARD_MIGRATION_VERSION = "10.2.0"
PANEL_VERSION = "8.8.0"


@dataclass(frozen=True)
class Panel:
    """One dashboard panel: a saved object by reference, or Markdown text by value."""

    w: int
    h: int
    ref_type: str = "lens"  # lens | search | markdown
    ref_id: str = ""
    markdown: str = ""


def flow_layout(sizes: Sequence[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """(x, y, w, h) of each panel, filled left to right in rows of GRID_COLUMNS."""
    out: list[tuple[int, int, int, int]] = []
    x = y = row_h = 0
    for w, h in sizes:
        if not 0 < w <= GRID_COLUMNS or h <= 0:
            raise ValueError(f"panel size {w}x{h} does not fit a {GRID_COLUMNS}-column grid")
        if x + w > GRID_COLUMNS:
            x, y, row_h = 0, y + row_h, 0
        out.append((x, y, w, h))
        x += w
        row_h = max(row_h, h)
    return out


def dashboard(oid: str, title: str, description: str, panels: Sequence[Panel]) -> Obj:
    """A dashboard saved object showing `panels` in order."""
    saved_panels: list[Obj] = []
    references: list[dict[str, str]] = []
    grid = flow_layout([(p.w, p.h) for p in panels])
    for n, (panel, (x, y, w, h)) in enumerate(zip(panels, grid, strict=True)):
        key = panel.ref_id or f"markdown:{n}"
        pid = str(uuid.uuid5(uuid.UUID(oid), f"panel:{key}"))
        entry: Obj = {
            "version": PANEL_VERSION,
            "gridData": {"x": x, "y": y, "w": w, "h": h, "i": pid},
            "panelIndex": pid,
        }
        if panel.ref_type == "markdown":
            entry["type"] = "visualization"
            entry["embeddableConfig"] = {
                "savedVis": _markdown_vis(panel.markdown),
                "enhancements": {},
                "hidePanelTitles": True,
            }
        else:
            entry["type"] = panel.ref_type
            entry["embeddableConfig"] = {"enhancements": {}}
            entry["panelRefName"] = f"panel_{pid}"
            references.append(
                {"name": f"{pid}:panel_{pid}", "type": panel.ref_type, "id": panel.ref_id}
            )
        saved_panels.append(entry)
    options = {
        "useMargins": True,
        "syncColors": False,
        "syncCursor": True,
        "syncTooltips": False,
        "hidePanelTitles": False,
    }
    return {
        "id": oid,
        "type": "dashboard",
        "managed": False,
        "coreMigrationVersion": CORE_MIGRATION_VERSION,
        "typeMigrationVersion": DASHBOARD_MIGRATION_VERSION,
        "attributes": {
            "title": title,
            "description": description,
            "panelsJSON": json.dumps(saved_panels, separators=(",", ":")),
            "optionsJSON": json.dumps(options, separators=(",", ":")),
            # Off: following a link to another dashboard keeps the time range picked.
            "timeRestore": False,
            "version": 1,
            "kibanaSavedObjectMeta": {
                "searchSourceJSON": json.dumps(
                    {"query": {"query": "", "language": "kuery"}, "filter": []},
                    separators=(",", ":"),
                )
            },
        },
        "references": references,
    }


def _markdown_vis(text: str) -> Obj:
    return {
        "title": "",
        "description": "",
        "type": "markdown",
        "params": {"fontSize": 12, "openLinksInNewTab": False, "markdown": text},
        "uiState": {},
        "data": {
            "aggs": [],
            "searchSource": {"query": {"query": "", "language": "kuery"}, "filter": []},
        },
    }


def app_prefix(space: str = "default", base_path: str = "") -> str:
    """URL path prefix of Kibana apps in `space` (links must start with `/` to render)."""
    base = base_path.rstrip("/")
    return base if space == "default" else f"{base}/s/{space}"


def dashboard_url(dashboard_id: str, space: str = "default", base_path: str = "") -> str:
    return f"{app_prefix(space, base_path)}/app/dashboards#/view/{dashboard_id}"


def discover_url(search_id: str, space: str = "default", base_path: str = "") -> str:
    return f"{app_prefix(space, base_path)}/app/discover#/view/{search_id}"
