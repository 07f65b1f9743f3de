"""Least-privilege Elasticsearch roles, one per predwatch component (docs/security.md).

The definitions live in `elasticsearch/security/roles.json` ({role name: role descriptor}),
the body of `PUT /_security/role/<name>` and, as YAML, the content of a node's
`config/roles.yml` (file-based roles: clusters without the native realm's `.security`
index, or managed as files).
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from elasticsearch import Elasticsearch

from predwatch import es as es_mod
from predwatch.assets import asset_dir
from predwatch.config import ESConfig

COMPONENTS = {
    "predwatch_shipper": "serving apps (the shipper), outcomes load",
    "predwatch_analyzer": "analyze, quality, skew check, alerts check",
    "predwatch_setup": "setup elasticsearch, setup watches, baseline build --upload",
    "predwatch_retention": "retention",
    "predwatch_viewer": "people and Kibana dashboards (read only)",
}


def load_roles() -> dict[str, dict[str, Any]]:
    """Every role: name -> role descriptor."""
    path = asset_dir("elasticsearch") / "security" / "roles.json"
    roles: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return roles


def roles_yaml(roles: dict[str, dict[str, Any]]) -> str:
    """`roles` as the content of a node's config/roles.yml."""
    return yaml.safe_dump(roles, sort_keys=False, width=100)


def install_roles(es: Elasticsearch, cfg: ESConfig, roles: dict[str, dict[str, Any]]) -> list[str]:
    """Create or update each role through the security API; returns one line per role."""
    lines = []
    for name, body in roles.items():
        resp = es_mod.call(cfg, lambda n=name, b=body: es.security.put_role(name=n, **b))  # type: ignore[misc]
        created = bool(resp.body.get("role", {}).get("created"))
        lines.append(f"{'created' if created else 'updated':<9} role {name}")
    return lines
