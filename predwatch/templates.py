"""Index templates, component templates and the ILM policy, rendered from the mappings.

The static ones are also committed under `elasticsearch/` (a unit test keeps the files
equal to what this module renders; `python -m predwatch.templates` rewrites them).
Per-model templates are rendered at set-up time from the model's baseline.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from predwatch import mappings as m
from predwatch import schema as s

Body = dict[str, Any]

SETTINGS_COMPONENT = "predwatch-settings"
ILM_COMPONENT = "predwatch-ilm"  # only installed where the cluster has ILM
# Yours: shards, replicas, refresh interval... composed last, so it wins; predwatch never
# writes it (the Elastic convention for `@custom` component templates).
CUSTOM_COMPONENT = "predwatch@custom"
PREDICTIONS_COMPONENT = "predwatch-predictions-mappings"
ILM_POLICY = "predwatch-daily"
DEFAULT_RETENTION_DAYS = 30
FALLBACK_PRIORITY = 100
MODEL_PRIORITY = 200
META_KEY = "predwatch_hash"


def body_hash(body: Body) -> str:
    """Stable hash of a body, stored in its `_meta` so set-up can tell "unchanged" cheaply."""
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def settings_component(total_fields_limit: int = s.DEFAULT_TOTAL_FIELDS_LIMIT) -> Body:
    """Shards, replicas and the mapping limit every predwatch index shares.

    `total_fields_limit` is also what the shipper sizes its per-document field cap from
    (`mappings.extra_fields_cap`): give both the same value (PREDWATCH_TOTAL_FIELDS_LIMIT).
    Past the limit Elasticsearch keeps new fields in `_source` unmapped and names them in
    `_ignored` instead of refusing the document (`ignore_dynamic_beyond_limit`).
    """
    return {
        "template": {
            "settings": {
                "index": {
                    "number_of_shards": 1,
                    # 0 replicas on a single node (green), 1 as soon as there is a second node.
                    "auto_expand_replicas": "0-1",
                    "mapping": {
                        "total_fields": {
                            "limit": total_fields_limit,
                            "ignore_dynamic_beyond_limit": True,
                        }
                    },
                }
            }
        },
        "_meta": {"description": "predwatch: shards, replicas, mapping limits"},
    }


def ilm_component() -> Body:
    return {
        "template": {"settings": {"index": {"lifecycle": {"name": ILM_POLICY}}}},
        "_meta": {"description": "predwatch: delete old daily indices (installed only with ILM)"},
    }


def ilm_policy(retention_days: int = DEFAULT_RETENTION_DAYS) -> Body:
    return {
        "policy": {
            "phases": {
                "hot": {"min_age": "0ms", "actions": {}},
                "delete": {"min_age": f"{retention_days}d", "actions": {"delete": {}}},
            },
            "_meta": {"description": "predwatch daily indices: deleted after the retention"},
        }
    }


def predictions_component() -> Body:
    return {
        "template": {"mappings": m.prediction_common_mapping()},
        "_meta": {"description": "predwatch: the prediction document (schema.py)"},
    }


def _index_template(
    patterns: list[str], priority: int, components: list[str], template: Body, what: str
) -> Body:
    return {
        "index_patterns": patterns,
        "priority": priority,
        "composed_of": [*components, CUSTOM_COMPONENT],
        "ignore_missing_component_templates": [ILM_COMPONENT, CUSTOM_COMPONENT],
        "template": template,
        "_meta": {"description": what},
    }


def fallback_template() -> Body:
    """Predictions of models without a baseline: every input typed dynamically."""
    return _index_template(
        [s.index_pattern("predictions")],
        FALLBACK_PRIORITY,
        [SETTINGS_COMPONENT, ILM_COMPONENT, PREDICTIONS_COMPONENT],
        {},
        "predwatch: predictions of any model (no baseline)",
    )


def model_template_name(model: str) -> str:
    return f"predwatch-predictions-{s.validate_model_name(model)}"


def model_template(
    model: str,
    features: Sequence[s.Feature],
    classes: Sequence[str] = (),
    total_fields_limit: int = s.DEFAULT_TOTAL_FIELDS_LIMIT,
) -> Body:
    """Predictions of one model, with the features of its baseline mapped explicitly."""
    limit = m.total_fields_limit(features, total_fields_limit)
    return _index_template(
        [s.index_pattern("predictions", model)],
        MODEL_PRIORITY,
        [SETTINGS_COMPONENT, ILM_COMPONENT, PREDICTIONS_COMPONENT],
        {
            "settings": {"index": {"mapping": {"total_fields": {"limit": limit}}}},
            "mappings": m.model_mapping(features, classes),
        },
        f"predwatch: predictions of model {model} (from its baseline)",
    )


def other_templates() -> dict[str, Body]:
    """Templates of outcomes, drift, baselines, dead letters, alerts and deployments."""
    out: dict[str, Body] = {}
    for kind, mapping in m.OTHER_MAPPINGS.items():
        components = [SETTINGS_COMPONENT]
        if kind in s.DAILY_KINDS:
            components.append(ILM_COMPONENT)
        pattern = s.index_pattern(kind) if kind not in s.PER_MODEL_KINDS else f"predwatch-{kind}-*"
        out[f"predwatch-{kind}"] = _index_template(
            [pattern], FALLBACK_PRIORITY, components, {"mappings": mapping()}, f"predwatch: {kind}"
        )
    return out


def static_assets() -> dict[str, Body]:
    """Every asset that does not depend on a model, by its path under `elasticsearch/`."""
    assets: dict[str, Body] = {
        f"component_templates/{SETTINGS_COMPONENT}.json": settings_component(),
        f"component_templates/{ILM_COMPONENT}.json": ilm_component(),
        f"component_templates/{PREDICTIONS_COMPONENT}.json": predictions_component(),
        "index_templates/predwatch-predictions.json": fallback_template(),
        f"ilm/{ILM_POLICY}.json": ilm_policy(),
    }
    for name, body in other_templates().items():
        assets[f"index_templates/{name}.json"] = body
    return assets


def dumps(body: Body) -> str:
    return json.dumps(body, indent=2, sort_keys=True) + "\n"


def write_static_assets(root: Path) -> list[Path]:
    written = []
    for rel, body in static_assets().items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps(body), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("elasticsearch")
    for p in write_static_assets(target):
        print(p)
