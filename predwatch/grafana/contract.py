"""What every generated dashboard must satisfy (Grafana's JSON model and predwatch's metrics).

`check(dash)` lists the problems (empty: fine): unique panel ids, grid positions inside 24
columns without overlaps, every panel and query on the `datasource` template variable, every
`$variable` defined. `check(dash, exported)` also requires every metric a query reads to be
among `exported` (the sample names of a scrape, e.g. from `sample_names`). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from predwatch.grafana.panels import DATASOURCE, DATASOURCE_VARIABLE, GRID_COLUMNS
from predwatch.grafana.promql import metric_names

Obj = dict[str, Any]
PANEL_TYPES = frozenset({"row", "timeseries", "stat", "heatmap", "state-timeline"})
# Grafana's own variables ($__rate_interval, $__range, ...) need no definition.
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z0-9_]+)(?::[^}]*)?\}|([A-Za-z0-9_]+))")


def panels(dash: Obj) -> Iterator[Obj]:
    """Every panel, including those nested in collapsed rows."""
    for p in dash.get("panels", []):
        yield p
        yield from p.get("panels", [])


def queries(dash: Obj) -> Iterator[tuple[Obj, str]]:
    """(panel, PromQL expression) of every query of every panel."""
    for p in panels(dash):
        for t in p.get("targets", []):
            yield p, str(t.get("expr", ""))


def used_metrics(dash: Obj) -> set[str]:
    """Every metric name the dashboard's panels and variables read."""
    names: set[str] = set()
    for _, expr in queries(dash):
        names |= metric_names(expr)
    for var in dash.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            names |= metric_names(_label_values_metric(str(var.get("definition", ""))))
    return names


def _label_values_metric(definition: str) -> str:
    m = re.match(r"^\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$", definition)
    return m.group(1) if m else definition


def sample_names(exposition: str) -> set[str]:
    """The sample names in Prometheus' text exposition format (`_total`, `_bucket`... kept)."""
    names: set[str] = set()
    for line in exposition.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            names.add(re.split(r"[{\s]", line, maxsplit=1)[0])
    return names


def check(dash: Obj, exported: Iterable[str] | None = None) -> list[str]:
    """Problems of `dash` (empty list: it satisfies the contract)."""
    problems: list[str] = []
    if not dash.get("uid") or len(str(dash["uid"])) > 40:
        problems.append("uid must be 1-40 characters")
    if not isinstance(dash.get("schemaVersion"), int):
        problems.append("schemaVersion must be a number")
    problems += _check_ids_and_grid(dash)
    problems += _check_datasources(dash)
    problems += _check_variables(dash)
    if exported is not None:
        have = set(exported)
        for name in sorted(used_metrics(dash) - have):
            problems.append(f"metric {name} is not exported by the shipper's endpoint")
    return problems


def _check_ids_and_grid(dash: Obj) -> list[str]:
    problems: list[str] = []
    seen: set[int] = set()
    placed: list[tuple[str, int, int, int, int]] = []
    for p in panels(dash):
        title = str(p.get("title"))
        pid = p.get("id")
        if not isinstance(pid, int) or isinstance(pid, bool):
            problems.append(f"panel {title!r}: id {pid!r} is not a number")
        elif pid in seen:
            problems.append(f"panel {title!r}: id {pid} is used twice")
        else:
            seen.add(pid)
        if p.get("type") not in PANEL_TYPES:
            problems.append(f"panel {title!r}: unexpected type {p.get('type')!r}")
        g = p.get("gridPos") or {}
        try:
            x, y, w, h = (int(g[k]) for k in ("x", "y", "w", "h"))
        except (KeyError, TypeError, ValueError):
            problems.append(f"panel {title!r}: gridPos needs integer x, y, w, h")
            continue
        if x < 0 or y < 0 or w <= 0 or h <= 0 or x + w > GRID_COLUMNS:
            problems.append(f"panel {title!r}: gridPos {g} is outside the {GRID_COLUMNS} columns")
        for other, ox, oy, ow, oh in placed:
            if x < ox + ow and ox < x + w and y < oy + oh and oy < y + h:
                problems.append(f"panel {title!r} overlaps panel {other!r}")
        placed.append((title, x, y, w, h))
    return problems


def _check_datasources(dash: Obj) -> list[str]:
    problems: list[str] = []
    for p in panels(dash):
        if p.get("type") == "row":
            continue
        title = p.get("title")
        if p.get("datasource") != DATASOURCE:
            problems.append(f"panel {title!r}: datasource is not ${DATASOURCE_VARIABLE}")
        if not p.get("targets"):
            problems.append(f"panel {title!r} has no queries")
        refs = [t.get("refId") for t in p.get("targets", [])]
        if len(set(refs)) != len(refs):
            problems.append(f"panel {title!r}: refIds repeat")
        for t in p.get("targets", []):
            if t.get("datasource") != DATASOURCE:
                problems.append(f"panel {title!r}: query datasource is not ${DATASOURCE_VARIABLE}")
            if not str(t.get("expr", "")).strip():
                problems.append(f"panel {title!r}: empty query")
    return problems


def _check_variables(dash: Obj) -> list[str]:
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    problems: list[str] = []
    ds = variables.get(DATASOURCE_VARIABLE)
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problems.append(
            f"template variable {DATASOURCE_VARIABLE!r} (Prometheus data source) is missing"
        )
    for name, var in variables.items():
        if var.get("type") == "query" and var.get("datasource") != DATASOURCE:
            problems.append(f"variable {name!r}: datasource is not ${DATASOURCE_VARIABLE}")
    texts = [expr for _, expr in queries(dash)]
    texts += [str(p.get("datasource", {}).get("uid", "")) for p in panels(dash)]
    for text in texts:
        for m in _VARIABLE.finditer(text):
            name = m.group(1) or m.group(2)
            if not name.startswith("__") and name not in variables:
                problems.append(f"${name} is used but not a template variable")
    return sorted(set(problems), key=problems.index)
