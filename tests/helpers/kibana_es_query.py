"""predwatch's model of what Kibana's es-query rule executor does (Kibana cannot run here).

The alert contract tests run `simulated_search` on the real node and decide with
`evaluate_params` as Kibana's executor would; their verdict is only as good as this model of
Kibana (fetch_es_query and the comparators of Kibana's stack alerts), not proof that a Kibana
rule fires.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

Body = dict[str, Any]


def simulated_search(params: Mapping[str, Any], date_end: str | None = None) -> Body:
    """The search Kibana's es-query executor sends for non-grouped `params` (fetch_es_query:
    the rule query filtered to the time window, plus `metricAgg` for non-count types)."""
    size, unit = params["timeWindowSize"], params["timeWindowUnit"]
    end = date_end or "now"
    rng = {
        "gte": f"{end}-{size}{unit}" if end == "now" else f"{end}||-{size}{unit}",
        "lte": end,
        "format": "strict_date_optional_time",
    }
    body: Body = {
        "size": params.get("size", 0),
        "track_total_hits": True,
        "query": {
            "bool": {
                "filter": [
                    {"range": {params["timeField"]: rng}},
                    json.loads(params["esQuery"])["query"],
                ]
            }
        },
    }
    if params.get("aggType", "count") != "count":
        body["aggs"] = {"metricAgg": {params["aggType"]: {"field": params["aggField"]}}}
    return body


def evaluate_params(params: Mapping[str, Any], response: Mapping[str, Any]) -> tuple[bool, Any]:
    """(condition met, value) as Kibana decides it for a non-grouped es-query rule."""
    if params.get("aggType", "count") == "count":
        total = response["hits"]["total"]
        value: Any = total["value"] if isinstance(total, Mapping) else total
    else:
        value = response.get("aggregations", {}).get("metricAgg", {}).get("value")
    if value is None:
        return False, None
    t = params["threshold"]
    c = params["thresholdComparator"]
    met = {
        ">": lambda: value > t[0],
        ">=": lambda: value >= t[0],
        "<": lambda: value < t[0],
        "<=": lambda: value <= t[0],
        "between": lambda: t[0] <= value <= t[1],
        "notBetween": lambda: value < t[0] or value > t[1],
    }[c]()
    return bool(met), value
