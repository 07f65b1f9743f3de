"""Builders for Lens saved objects (form-based datasource, no formulas).

The persisted shape follows Kibana 9's Lens saved object (typeMigrationVersion 8.9.0, the
last Lens migration before model versions): `state.datasourceStates.formBased.layers` holds
the columns of each layer, `state.visualization` the chart, and every layer's data view is a
reference named `indexpattern-datasource-layer-<layerId>`. Column and layer ids are derived
from the object id, so a regenerated object is byte-for-byte the same. Pure.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from predwatch import schema as s

Column = dict[str, Any]
Obj = dict[str, Any]

CORE_MIGRATION_VERSION = "8.8.0"
LENS_MIGRATION_VERSION = "8.9.0"
RECORDS = "___records___"  # Lens' pseudo-field of the count operation
METRIC_OPS = ("average", "median", "min", "max", "sum", "standard_deviation")
PERCENT: dict[str, Any] = {"id": "percent", "params": {"decimals": 1}}
SeriesType = Literal[
    "line", "bar", "bar_stacked", "bar_percentage_stacked", "area", "area_percentage_stacked"
]


# --- columns --------------------------------------------------------------------------
def date_histogram(field_name: str = s.TIMESTAMP) -> Column:
    return {
        "label": field_name,
        "dataType": "date",
        "operationType": "date_histogram",
        "sourceField": field_name,
        "isBucketed": True,
        "scale": "interval",
        "params": {"interval": "auto", "includeEmptyRows": True, "dropPartials": False},
    }


def terms(
    field_name: str,
    *,
    size: int = 10,
    label: str | None = None,
    alphabetical: bool = False,
    ascending: bool = False,
    other: bool = True,
) -> Column:
    """Top values of a keyword field, ordered by the layer's first metric (or by name).

    `ascending` picks the values whose metric is smallest (e.g. the lowest p-values).
    """
    order: dict[str, Any] = (
        {"type": "alphabetical", "fallback": False}
        if alphabetical
        else {"type": "column", "columnId": None}  # filled in by `lens()`
    )
    return _labelled(
        {
            "dataType": "string",
            "operationType": "terms",
            "sourceField": field_name,
            "isBucketed": True,
            "scale": "ordinal",
            "params": {
                "size": size,
                "orderBy": order,
                "orderDirection": "asc" if alphabetical or ascending else "desc",
                "otherBucket": other,
                "missingBucket": False,
                "parentFormat": {"id": "terms"},
                "include": [],
                "exclude": [],
                "includeIsRegex": False,
                "excludeIsRegex": False,
            },
        },
        label or f"Top {size} values of {field_name}",
    )


def count(label: str = "Count of records") -> Column:
    return _labelled(
        {
            "dataType": "number",
            "operationType": "count",
            "sourceField": RECORDS,
            "isBucketed": False,
            "scale": "ratio",
            "params": {"emptyAsNull": True},
        },
        label,
    )


def metric(
    op: str, field_name: str, *, label: str, fmt: dict[str, Any] | None = None, where: str = ""
) -> Column:
    """A single-value metric (average, median, min, max, sum, standard_deviation), over the
    documents matching the KQL `where` when given."""
    if op not in METRIC_OPS:
        raise ValueError(f"unknown Lens metric {op!r}")
    params: dict[str, Any] = {"emptyAsNull": True}
    if fmt:
        params["format"] = fmt
    return _where(
        _labelled(
            {
                "dataType": "number",
                "operationType": op,
                "sourceField": field_name,
                "isBucketed": False,
                "scale": "ratio",
                "params": params,
            },
            label,
        ),
        where,
    )


def rate(field_name: str, label: str, *, where: str = "") -> Column:
    """The mean of a 0/1 flag field, shown as a percentage: the rate of the flagged case."""
    return metric("average", field_name, label=label, fmt=PERCENT, where=where)


def percentile(field_name: str, p: float, *, label: str | None = None, where: str = "") -> Column:
    return _where(
        _labelled(
            {
                "dataType": "number",
                "operationType": "percentile",
                "sourceField": field_name,
                "isBucketed": False,
                "scale": "ratio",
                "params": {"percentile": p},
            },
            label or f"p{p:g} of {field_name}",
        ),
        where,
    )


def _where(col: Column, where: str) -> Column:
    if where:
        col["filter"] = {"query": where, "language": "kuery"}
    return col


def last_value(field_name: str, *, label: str, keyword: bool = False) -> Column:
    return _labelled(
        {
            "dataType": "string" if keyword else "number",
            "operationType": "last_value",
            "sourceField": field_name,
            "isBucketed": False,
            "scale": "ordinal" if keyword else "ratio",
            "params": {"sortField": s.TIMESTAMP, "showArrayValues": False},
            "filter": {"query": f"{kql_field(field_name)}: *", "language": "kuery"},
        },
        label,
    )


def static_value(value: float, label: str) -> Column:
    return _labelled(
        {
            "dataType": "number",
            "operationType": "static_value",
            "isStaticValue": True,
            "isBucketed": False,
            "scale": "ratio",
            "params": {"value": repr(float(value))},
            "references": [],
        },
        label,
    )


def _labelled(col: Column, label: str) -> Column:
    return {"label": label, "customLabel": True, **col}


# --- KQL ------------------------------------------------------------------------------
_PLAIN_FIELD = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.@-")


def kql_field(name: str) -> str:
    """A field name as KQL reads it: quoted when it has spaces or KQL's special characters."""
    if name and set(name) <= _PLAIN_FIELD:
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def kql_eq(field_name: str, value: str | int) -> str:
    if isinstance(value, int):
        return f"{kql_field(field_name)} : {value}"
    return f'{kql_field(field_name)} : "' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- objects --------------------------------------------------------------------------
@dataclass
class Lens:
    """What one Lens visualization shows; `build` turns it into a saved object."""

    title: str
    data_view: str
    vis: Literal["xy", "table", "metric"]
    metrics: Sequence[Column]
    x: Column | None = None  # xy only: usually a date histogram
    split: Column | None = None  # xy: break down by; table: first row column
    rows: Sequence[Column] = ()  # table: bucket columns
    series: SeriesType = "line"
    query: str = ""
    description: str = ""
    reference_lines: Sequence[tuple[str, float]] = ()

    def build(self, oid: str) -> Obj:
        return _build(self, oid)


def _sub_id(oid: str, what: str) -> str:
    return str(uuid.uuid5(uuid.UUID(oid), what))


def _build(spec: Lens, oid: str) -> Obj:
    layer = _sub_id(oid, "layer:data")
    buckets: list[Column] = []
    if spec.vis == "xy":
        if spec.x is None:
            raise ValueError(f"{spec.title}: an XY chart needs an x column")
        buckets = ([spec.split] if spec.split else []) + [spec.x]
    elif spec.vis == "table":
        buckets = list(spec.rows)
    ids = [_sub_id(oid, f"column:{i}") for i in range(len(buckets) + len(spec.metrics))]
    bucket_ids, metric_ids = ids[: len(buckets)], ids[len(buckets) :]
    columns: dict[str, Column] = {}
    for cid, col in zip(ids, [*buckets, *spec.metrics], strict=True):
        col = _copy(col)
        order = col.get("params", {}).get("orderBy")
        if order and order.get("type") == "column":
            order["columnId"] = metric_ids[0]
        columns[cid] = col
    layers: dict[str, Any] = {
        layer: {"columns": columns, "columnOrder": ids, "incompleteColumns": {}}
    }
    references = [_layer_ref(layer, spec.data_view)]

    if spec.vis == "xy":
        split_id = bucket_ids[0] if spec.split else None
        vis_layers: list[dict[str, Any]] = [
            {
                "layerId": layer,
                "layerType": "data",
                "seriesType": spec.series,
                "xAccessor": bucket_ids[-1],
                "accessors": metric_ids,
                **({"splitAccessor": split_id} if split_id else {}),
            }
        ]
        if spec.reference_lines:
            ref_layer = _sub_id(oid, "layer:reference")
            ref_ids = [_sub_id(oid, f"reference:{i}") for i in range(len(spec.reference_lines))]
            layers[ref_layer] = {
                "columns": {
                    rid: static_value(v, label)
                    for rid, (label, v) in zip(ref_ids, spec.reference_lines, strict=True)
                },
                "columnOrder": ref_ids,
                "incompleteColumns": {},
            }
            references.append(_layer_ref(ref_layer, spec.data_view))
            vis_layers.append(
                {
                    "layerId": ref_layer,
                    "layerType": "referenceLine",
                    "accessors": ref_ids,
                    "yConfig": [
                        {
                            "forAccessor": rid,
                            "axisMode": "left",
                            "lineStyle": "dashed",
                            "lineWidth": 1,
                            "color": "#6A717D",
                            "textVisibility": True,
                        }
                        for rid in ref_ids
                    ],
                }
            )
        visualization: dict[str, Any] = _xy_settings(spec.series, vis_layers)
        vis_type = "lnsXY"
    elif spec.vis == "table":
        visualization = {
            "layerId": layer,
            "layerType": "data",
            "columns": [{"columnId": cid, "isTransposed": False} for cid in ids],
            "sorting": {"columnId": metric_ids[0], "direction": "desc"},
        }
        vis_type = "lnsDatatable"
    else:
        visualization = {"layerId": layer, "layerType": "data", "metricAccessor": metric_ids[0]}
        vis_type = "lnsMetric"

    return {
        "id": oid,
        "type": "lens",
        "managed": False,
        "coreMigrationVersion": CORE_MIGRATION_VERSION,
        "typeMigrationVersion": LENS_MIGRATION_VERSION,
        "attributes": {
            "title": spec.title,
            "description": spec.description,
            "visualizationType": vis_type,
            "state": {
                "datasourceStates": {"formBased": {"layers": layers}},
                "visualization": visualization,
                "query": {"query": spec.query, "language": "kuery"},
                "filters": [],
                "internalReferences": [],
                "adHocDataViews": {},
            },
        },
        "references": references,
    }


def _layer_ref(layer_id: str, data_view: str) -> dict[str, str]:
    return {
        "type": "index-pattern",
        "id": data_view,
        "name": f"indexpattern-datasource-layer-{layer_id}",
    }


def _xy_settings(series: str, layers: list[dict[str, Any]]) -> dict[str, Any]:
    both = {"x": True, "yLeft": True, "yRight": True}
    return {
        "legend": {"isVisible": True, "position": "right"},
        "valueLabels": "hide",
        "fittingFunction": "None",
        "axisTitlesVisibilitySettings": dict(both),
        "tickLabelsVisibilitySettings": dict(both),
        "gridlinesVisibilitySettings": dict(both),
        "labelsOrientation": {"x": 0, "yLeft": 0, "yRight": 0},
        "preferredSeriesType": series,
        "layers": layers,
    }


def _copy(col: Column) -> Column:
    out: Column = {}
    for k, v in col.items():
        out[k] = _copy(v) if isinstance(v, dict) else (list(v) if isinstance(v, list) else v)
    return out
