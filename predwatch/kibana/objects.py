"""Every Kibana saved object of one model, generated from its baseline. Pure.

`saved_objects(baseline, model)` returns data views (predictions, drift results, alerts,
dead letters), Lens visualizations, two saved searches (OOV examples, dead letters) and three
dashboards (inputs, predictions, drift) that link to each other. Ids are stable
(see `context.object_id`): re-importing a regenerated set updates the objects in place.
"""

from __future__ import annotations

import json
import re
from typing import Any

from predwatch import schema as s
from predwatch.baseline import Baseline
from predwatch.kibana import lens as L
from predwatch.kibana.context import (
    DASHBOARDS,
    DEFAULT_MAX_FEATURES,
    ERROR_REASON,
    ERROR_STATUS,
    ERROR_TYPE,
    SEARCHES,
    TARGET_INDEX,
    Ctx,
    Item,
    KibanaError,
    data_view_model,
)
from predwatch.kibana.dashboards import Panel, dashboard, dashboard_url, discover_url
from predwatch.kibana.drift import drift_items
from predwatch.kibana.inputs import input_items
from predwatch.kibana.predictions import prediction_items

Obj = dict[str, Any]

DATA_VIEW_MIGRATION_VERSION = "8.0.0"
# Saved-search model version 2: known to every 9.x; later versions (tabs) migrate it forward.
SEARCH_MIGRATION_VERSION = "10.2.0"
SEARCH_COLUMNS_CAP = 10
_SPACE_RE = re.compile(r"^[a-z0-9_-]+$")

DASHBOARD_TITLES = {"inputs": "Inputs", "predictions": "Predictions", "drift": "Drift & alerts"}
ANSWERS = {
    "inputs": "What is the model being fed? Value shares of categorical inputs, unseen "
    "values and words, missing and out-of-range rates, numeric percentiles — against the "
    "training baseline.",
    "predictions": "Is the service healthy and are its outputs sane? Traffic, latency, "
    "prediction statistics, label and model-version shares, non-finite values, dead letters.",
    "drift": "Has serving data moved away from training? Analyzer verdicts, effect sizes and "
    "p-values per feature over time, and the alerts raised.",
}
DATA_VIEW_NAMES = {
    "predictions": "predwatch predictions: {model}",
    "drift": "predwatch drift results: {model}",
    "alerts": "predwatch alerts",
    "deadletter": "predwatch dead letters",
}


def saved_objects(
    baseline: Baseline | None,
    model: str,
    *,
    space: str = "default",
    base_path: str = "",
    max_features: int = DEFAULT_MAX_FEATURES,
) -> list[Obj]:
    """All saved objects of `model` (data views first, dashboards last)."""
    try:
        s.validate_model_name(model)
    except s.SchemaError as exc:
        raise KibanaError(str(exc)) from None
    if baseline is not None and baseline.model != model:
        raise KibanaError(
            f"the baseline is for model {baseline.model!r}, not {model!r}; pass the right "
            "--baseline or --model"
        )
    if not _SPACE_RE.match(space):
        raise KibanaError(
            f"Kibana space id {space!r} may only contain a-z, 0-9, _ and - (use the space's "
            "id from its URL /s/<id>/, not its display name)"
        )
    if max_features < 0:
        raise KibanaError("max_features must not be negative")
    ctx = Ctx(model, space, base_path, max_features)

    inputs, omitted = input_items(ctx, baseline)
    boards = {
        "inputs": inputs,
        "predictions": prediction_items(ctx, baseline),
        "drift": drift_items(ctx),
    }
    objects = [
        data_view(ctx, kind, baseline) for kind in ("predictions", "drift", "alerts", "deadletter")
    ]
    for which in DASHBOARDS:
        objects += [
            item.lens.build(ctx.oid("lens", item.key)) for item in boards[which] if item.lens
        ]
    objects += [oov_search(ctx, baseline), deadletter_search(ctx)]
    for which in DASHBOARDS:
        nav = _nav_markdown(ctx, which, omitted if which == "inputs" else [])
        panels = [Panel(48, 5 if omitted and which == "inputs" else 4, "markdown", markdown=nav)]
        panels += [_panel(ctx, item) for item in boards[which]]
        objects.append(
            dashboard(
                ctx.dashboard(which),
                f"predwatch {model}: {DASHBOARD_TITLES[which].lower()}",
                ANSWERS[which],
                panels,
            )
        )
    return objects


def _panel(ctx: Ctx, item: Item) -> Panel:
    if item.lens is not None:
        return Panel(item.w, item.h, "lens", ctx.oid("lens", item.key))
    return Panel(item.w, item.h, "search", item.search)


# --- data views -----------------------------------------------------------------------
def data_view(ctx: Ctx, kind: str, baseline: Baseline | None) -> Obj:
    """The data view (index-pattern saved object) over the `kind` indices."""
    per_model = data_view_model(kind, ctx.model) == ctx.model
    title = s.index_pattern(kind, ctx.model if per_model else None)
    formats: dict[str, Any] = {s.LATENCY_MS: {"id": "number", "params": {"pattern": "0,0.[00]"}}}
    if kind == "predictions" and baseline is not None:
        for f in baseline.features:
            if f.type is s.FeatureType.TEXT:
                formats[s.text_field(f.name, s.TEXT_OOV_RATE)] = {"id": "percent"}
    attributes: dict[str, Any] = {
        "title": title,
        "name": DATA_VIEW_NAMES[kind].format(model=ctx.model),
        "timeFieldName": s.TIMESTAMP,
        "fieldFormatMap": json.dumps(formats if kind == "predictions" else {}, sort_keys=True),
    }
    return {
        "id": ctx.data_view(kind),
        "type": "index-pattern",
        "managed": False,
        "coreMigrationVersion": L.CORE_MIGRATION_VERSION,
        "typeMigrationVersion": DATA_VIEW_MIGRATION_VERSION,
        "attributes": attributes,
        "references": [],
    }


# --- saved searches -------------------------------------------------------------------
def saved_search(
    oid: str, title: str, description: str, data_view_id: str, query: str, columns: list[str]
) -> Obj:
    ref = "kibanaSavedObjectMeta.searchSourceJSON.index"
    source = {"query": {"query": query, "language": "kuery"}, "filter": [], "indexRefName": ref}
    return {
        "id": oid,
        "type": "search",
        "managed": False,
        "coreMigrationVersion": L.CORE_MIGRATION_VERSION,
        "typeMigrationVersion": SEARCH_MIGRATION_VERSION,
        "attributes": {
            "title": title,
            "description": description,
            "columns": columns,
            "sort": [[s.TIMESTAMP, "desc"]],
            "grid": {},
            "hideChart": False,
            "isTextBasedQuery": False,
            "kibanaSavedObjectMeta": {
                "searchSourceJSON": json.dumps(source, separators=(",", ":"))
            },
        },
        "references": [{"name": ref, "type": "index-pattern", "id": data_view_id}],
    }


def oov_search(ctx: Ctx, baseline: Baseline | None) -> Obj:
    """Predictions with at least one unseen categorical value or unseen word."""
    clauses = [f"{s.OOV_COUNT} > 0"]
    columns = [s.MODEL_VERSION, s.PREDICTION_ID, s.OOV_COUNT]
    features = list(baseline.features[: ctx.max_features]) if baseline else []
    for f in features:
        if f.type is s.FeatureType.TEXT:
            clauses.append(f"{L.kql_field(s.text_field(f.name, s.TEXT_OOV_TOKENS))} > 0")
            columns.append(s.text_field(f.name, s.TEXT_OOV_TERMS))
        elif f.type is s.FeatureType.CATEGORICAL:
            columns.append(s.feature_field(s.UNSEEN, f.name))
    return saved_search(
        ctx.search("oov_examples"),
        ctx.title("Out-of-vocabulary examples"),
        "Predictions with a categorical value or a word the training data never had.",
        ctx.data_view("predictions"),
        " or ".join(clauses),
        columns[: 3 + SEARCH_COLUMNS_CAP],
    )


def deadletter_search(ctx: Ctx) -> Obj:
    return saved_search(
        ctx.search("deadletters"),
        ctx.title("Dead letters"),
        "Prediction documents Elasticsearch refused, with the error and target index.",
        ctx.data_view("deadletter"),
        ctx.model_query,
        [TARGET_INDEX, ERROR_TYPE, ERROR_STATUS, ERROR_REASON, s.PREDICTION_ID],
    )


# --- navigation -----------------------------------------------------------------------
def _nav_markdown(ctx: Ctx, current: str, omitted: list[str]) -> str:
    links = []
    for which in DASHBOARDS:
        label = DASHBOARD_TITLES[which]
        if which == current:
            links.append(f"**{label}**")
        else:
            links.append(
                f"[{label}]({dashboard_url(ctx.dashboard(which), ctx.space, ctx.base_path)})"
            )
    searches = {"oov_examples": "OOV examples", "deadletters": "Dead letters"}
    discover = [
        f"[{searches[w]}]({discover_url(ctx.search(w), ctx.space, ctx.base_path)})"
        for w in SEARCHES
    ]
    text = (
        f"**predwatch · model `{ctx.model}`** — {' · '.join(links)} — Discover: "
        f"{' · '.join(discover)}\n\n{ANSWERS[current]}"
    )
    if omitted:
        shown = ", ".join(f"`{n}`" for n in omitted[:10])
        more = f" and {len(omitted) - 10} more" if len(omitted) > 10 else ""
        text += (
            f"\n\nNo per-feature panels for {len(omitted)} feature(s) over the limit of "
            f"{ctx.max_features}: {shown}{more} (raise `--max-features`)."
        )
    return text
