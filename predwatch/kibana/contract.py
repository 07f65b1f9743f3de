"""The contract between the saved objects and the mappings: every reference resolves, every
field a visualization or search uses is mapped with a type Kibana can aggregate, dashboard
panels fit the grid without overlapping, and every supported Kibana line (8.19, 9.x) imports
them (`versions`). Used by the tests and as a guard before export. Pure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from predwatch import mappings as m
from predwatch import schema as s
from predwatch.baseline import Baseline
from predwatch.kibana import versions
from predwatch.kibana.dashboards import GRID_COLUMNS
from predwatch.kibana.lens import RECORDS

Obj = dict[str, Any]

# Field types Elasticsearch reports as aggregatable by default (doc values on).
AGGREGATABLE = frozenset(
    {
        "keyword", "constant_keyword", "wildcard", "boolean", "date", "date_nanos", "ip",
        "long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float",
        "unsigned_long",
    }
)  # fmt: skip
NUMERIC = frozenset(
    {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float",
     "unsigned_long"}
)  # fmt: skip
# Lens operations that need a numeric field (terms/last_value take any aggregatable one).
NUMERIC_OPS = frozenset(
    {"average", "median", "min", "max", "sum", "standard_deviation", "percentile"}
)


@dataclass(frozen=True)
class Use:
    """One field one saved object uses: in which data view, and what for."""

    obj: str  # "<type>:<id>"
    data_view: str
    field: str
    need: str  # "aggregatable" | "numeric" | "exists"


# --- mappings -------------------------------------------------------------------------
def field_types(mapping: Mapping[str, Any]) -> dict[str, str]:
    """Full field name -> type of every leaf of a mapping (multi-fields included)."""
    out: dict[str, str] = {}

    def walk(props: Mapping[str, Any], prefix: str) -> None:
        for name, spec in props.items():
            full = f"{prefix}{name}"
            if spec.get("enabled") is False:
                continue
            if "properties" in spec:
                walk(spec["properties"], full + ".")
            if "type" in spec and spec["type"] not in ("object", "nested"):
                out[full] = spec["type"]
                for sub, sub_spec in spec.get("fields", {}).items():
                    out[f"{full}.{sub}"] = sub_spec["type"]

    walk(mapping.get("properties", {}), "")
    return out


def merge(*mappings: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge of mappings, later ones winning (what composed templates do)."""
    out: dict[str, Any] = {}
    for mp in mappings:
        for key, value in mp.items():
            if isinstance(value, Mapping) and isinstance(out.get(key), dict):
                out[key] = merge(out[key], value)
            else:
                out[key] = json.loads(json.dumps(value))
    return out


def predictions_mapping(baseline: Baseline | None) -> dict[str, Any]:
    """The mapping a model's prediction indices get: common part + the baseline's features."""
    if baseline is None:
        return m.prediction_common_mapping()
    return merge(
        m.prediction_common_mapping(),
        m.model_mapping(baseline.schema_features(), baseline.classes),
    )


def mappings_by_title(model: str, baseline: Baseline | None) -> dict[str, dict[str, Any]]:
    """Data-view title (index pattern) -> the mapping of the indices it reads."""
    return {
        s.index_pattern("predictions", model): predictions_mapping(baseline),
        s.index_pattern("drift", model): m.drift_mapping(),
        s.index_pattern("alerts"): m.alerts_mapping(),
        s.index_pattern("deadletter"): m.deadletter_mapping(),
    }


# --- fields used ----------------------------------------------------------------------
_KQL_FIELD = re.compile(
    r'(?:(?<=^)|(?<=[\s(]))("(?:\\.|[^"\\])*"|(?:\\.|[^\s\\():<>"*{}])+)\s*(?::|<=|>=|<|>)'
)


def kql_fields(query: str) -> list[str]:
    """Field names of the `field: value` / `field > n` clauses of a KQL query."""
    out = []
    for match in _KQL_FIELD.finditer(query):
        raw = match.group(1)
        if raw.startswith('"'):
            name = re.sub(r"\\(.)", r"\1", raw[1:-1])
        else:
            name = re.sub(r"\\(.)", r"\1", raw)
        out.append(name)
    return out


def used_fields(obj: Obj) -> list[Use]:
    """Every field `obj` reads (Lens columns, sort fields, queries, search columns)."""
    key = f"{obj['type']}:{obj['id']}"
    refs = {r["name"]: r["id"] for r in obj.get("references", [])}
    uses: list[Use] = []
    if obj["type"] == "lens":
        state = obj["attributes"]["state"]
        query = state.get("query", {}).get("query", "")
        for layer_id, layer in state["datasourceStates"]["formBased"]["layers"].items():
            dv = refs.get(f"indexpattern-datasource-layer-{layer_id}", "")
            for f in kql_fields(query):
                uses.append(Use(key, dv, f, "aggregatable"))
            for col in layer["columns"].values():
                uses += _column_uses(key, dv, col)
    elif obj["type"] == "search":
        attrs = obj["attributes"]
        source = json.loads(attrs["kibanaSavedObjectMeta"]["searchSourceJSON"])
        dv = refs.get(source.get("indexRefName", ""), "")
        uses += [Use(key, dv, c, "exists") for c in attrs.get("columns", [])]
        uses += [Use(key, dv, pair[0], "aggregatable") for pair in attrs.get("sort", [])]
        uses += [
            Use(key, dv, f, "aggregatable")
            for f in kql_fields(source.get("query", {}).get("query", ""))
        ]
    return uses


def _column_uses(key: str, dv: str, col: Obj) -> list[Use]:
    uses: list[Use] = []
    op = col.get("operationType")
    source = col.get("sourceField")
    if source and source != RECORDS:
        uses.append(Use(key, dv, source, "numeric" if op in NUMERIC_OPS else "aggregatable"))
    sort_field = col.get("params", {}).get("sortField")
    if sort_field:
        uses.append(Use(key, dv, sort_field, "aggregatable"))
    col_filter = col.get("filter")
    if col_filter:
        uses += [Use(key, dv, f, "aggregatable") for f in kql_fields(col_filter["query"])]
    return uses


# --- checks ---------------------------------------------------------------------------
def check(objects: Sequence[Obj], model: str, baseline: Baseline | None) -> list[str]:
    """Everything wrong with `objects` (an empty list when they keep the contract)."""
    problems: list[str] = []
    by_key = {(o["type"], o["id"]): o for o in objects}
    if len(by_key) != len(objects):
        problems.append("two objects share a type and id")
    for o in objects:
        for ref in o.get("references", []):
            if (ref["type"], ref["id"]) not in by_key:
                problems.append(
                    f"{o['type']}:{o['id']} references missing {ref['type']}:{ref['id']}"
                )
        if o["type"] == "dashboard":
            problems += check_dashboard(o)
    problems += check_fields(objects, model, baseline)
    for line in versions.KIBANA_LINES:  # one set of objects for every supported Kibana
        problems += versions.check(objects, line)
    return problems


def check_fields(objects: Sequence[Obj], model: str, baseline: Baseline | None) -> list[str]:
    titles = mappings_by_title(model, baseline)
    types_by_dv: dict[str, dict[str, str]] = {}
    for o in objects:
        if o["type"] == "index-pattern":
            mapping = titles.get(o["attributes"]["title"])
            if mapping is None:
                return [
                    f"data view {o['id']} reads {o['attributes']['title']!r}, no predwatch index"
                ]
            types_by_dv[o["id"]] = field_types(mapping)
    problems = []
    for o in objects:
        for use in used_fields(o):
            types = types_by_dv.get(use.data_view)
            if types is None:
                problems.append(f"{use.obj} uses field {use.field!r} of an unknown data view")
                continue
            ftype = types.get(use.field)
            if ftype is None:
                problems.append(f"{use.obj} uses {use.field!r}, which is not mapped")
            elif use.need == "aggregatable" and ftype not in AGGREGATABLE:
                problems.append(f"{use.obj} aggregates {use.field!r} of type {ftype}")
            elif use.need == "numeric" and ftype not in NUMERIC:
                problems.append(f"{use.obj} needs a number but {use.field!r} is {ftype}")
    return problems


def check_dashboard(obj: Obj) -> list[str]:
    """Panels inside the 48 columns, no overlaps, every panelRefName backed by a reference."""
    problems = []
    key = f"dashboard:{obj['id']}"
    panels = json.loads(obj["attributes"]["panelsJSON"])
    ref_names = {r["name"] for r in obj.get("references", [])}
    cells: dict[tuple[int, int], str] = {}
    for p in panels:
        g = p["gridData"]
        if g["i"] != p["panelIndex"]:
            problems.append(f"{key}: panel {p['panelIndex']} has gridData.i {g['i']}")
        if g["x"] < 0 or g["y"] < 0 or g["w"] <= 0 or g["h"] <= 0 or g["x"] + g["w"] > GRID_COLUMNS:
            problems.append(f"{key}: panel {p['panelIndex']} is outside the grid: {g}")
        for cx in range(g["x"], g["x"] + g["w"]):
            for cy in range(g["y"], g["y"] + g["h"]):
                other = cells.setdefault((cx, cy), p["panelIndex"])
                if other != p["panelIndex"]:
                    problems.append(f"{key}: panels {other} and {p['panelIndex']} overlap")
                    break
            else:
                continue
            break
        ref_name = p.get("panelRefName")
        if ref_name and f"{p['panelIndex']}:{ref_name}" not in ref_names:
            problems.append(f"{key}: panel {p['panelIndex']} has no reference {ref_name}")
    return problems


def fields_by_data_view(objects: Sequence[Obj]) -> dict[str, set[str]]:
    """Data-view title -> the fields the objects use in it (for checks against a cluster)."""
    titles = {o["id"]: o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"}
    out: dict[str, set[str]] = {}
    for o in objects:
        for use in used_fields(o):
            if use.need != "exists":
                out.setdefault(titles.get(use.data_view, "?"), set()).add(use.field)
    return out
