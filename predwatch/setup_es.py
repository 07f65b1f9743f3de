"""Install predwatch's Elasticsearch assets: component and index templates, the ILM policy
where the cluster has ILM, and per-model templates from baselines. Idempotent: each body
carries a hash in `_meta`; an asset whose hash matches is left alone and reported unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from predwatch import es as es_mod
from predwatch import schema as s
from predwatch import templates as t
from predwatch.assets import asset_dir
from predwatch.baseline import Baseline
from predwatch.config import ESConfig


@dataclass(frozen=True)
class Change:
    kind: str  # component_template | index_template | ilm_policy
    name: str
    action: str  # created | updated | unchanged | skipped
    detail: str = ""

    def line(self) -> str:
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.action:<9} {self.kind} {self.name}{extra}"


def load_static_assets() -> dict[str, dict[str, Any]]:
    """The committed JSON assets under `elasticsearch/`, keyed by relative path."""
    root = asset_dir("elasticsearch")
    out: dict[str, dict[str, Any]] = {}
    for sub in ("component_templates", "index_templates", "ilm"):
        for path in sorted((root / sub).glob("*.json")):
            out[f"{sub}/{path.name}"] = json.loads(path.read_text(encoding="utf-8"))
    return out


def _with_hash(
    body: dict[str, Any], meta_path: tuple[str, ...] = ("_meta",)
) -> tuple[dict[str, Any], str]:
    digest = t.body_hash(body)
    body = json.loads(json.dumps(body))
    target = body
    for key in meta_path:
        target = target.setdefault(key, {})
    target[t.META_KEY] = digest
    return body, digest


class Installer:
    """Puts each asset only when it is missing or different (by the hash in its `_meta`)."""

    def __init__(self, es: Elasticsearch, cfg: ESConfig) -> None:
        self.es = es
        self.cfg = cfg
        self.changes: list[Change] = []

    def _put(
        self,
        kind: str,
        name: str,
        body: dict[str, Any],
        get: Callable[[], dict[str, Any] | None],
        put: Callable[[dict[str, Any]], object],
        meta_path: tuple[str, ...] = ("_meta",),
    ) -> None:
        body, digest = _with_hash(body, meta_path)
        current = es_mod.call(self.cfg, get)
        if current is not None:
            meta = current
            for key in meta_path:
                meta = meta.get(key) or {}
            if meta.get(t.META_KEY) == digest:
                self.changes.append(Change(kind, name, "unchanged"))
                return
        es_mod.call(self.cfg, lambda: put(body))
        self.changes.append(Change(kind, name, "updated" if current is not None else "created"))

    def read_component_template(self, name: str) -> dict[str, Any] | None:
        """The body of component template `name` on the cluster (None: there is none)."""

        def get() -> dict[str, Any] | None:
            try:
                got = self.es.cluster.get_component_template(name=name)
            except NotFoundError:
                return None
            return dict(got["component_templates"][0]["component_template"])

        return es_mod.call(self.cfg, get)

    def component_template(self, name: str, body: dict[str, Any]) -> None:
        def get() -> dict[str, Any] | None:
            return self.read_component_template(name)

        self._put(
            "component_template",
            name,
            body,
            get,
            lambda b: self.es.cluster.put_component_template(name=name, **b),
        )

    def index_template(self, name: str, body: dict[str, Any]) -> None:
        def get() -> dict[str, Any] | None:
            try:
                got = self.es.indices.get_index_template(name=name)
            except NotFoundError:
                return None
            return dict(got["index_templates"][0]["index_template"])

        self._put(
            "index_template",
            name,
            body,
            get,
            lambda b: self.es.indices.put_index_template(name=name, **b),
        )

    def ilm_policy(self, name: str, body: dict[str, Any]) -> None:
        def get() -> dict[str, Any] | None:
            try:
                got = self.es.ilm.get_lifecycle(name=name)
            except NotFoundError:
                return None
            return dict(got[name])

        self._put(
            "ilm_policy",
            name,
            body,
            get,
            lambda b: self.es.ilm.put_lifecycle(name=name, **b),
            ("policy", "_meta"),
        )


def setup_elasticsearch(
    es: Elasticsearch,
    cfg: ESConfig,
    baselines: list[Baseline] | None = None,
    retention_days: int = t.DEFAULT_RETENTION_DAYS,
    total_fields_limit: int = s.DEFAULT_TOTAL_FIELDS_LIMIT,
) -> list[Change]:
    """Install every static asset, the ILM policy where available, and per-model templates.

    `total_fields_limit` replaces the committed settings component's field limit."""
    inst = Installer(es, cfg)
    assets = load_static_assets()
    settings_rel = f"component_templates/{t.SETTINGS_COMPONENT}.json"
    # Otherwise auto_expand_replicas "0-1" would silently cap the user's replica count.
    expand = not t.sets_replicas(inst.read_component_template(t.CUSTOM_COMPONENT))
    if total_fields_limit != s.DEFAULT_TOTAL_FIELDS_LIMIT or not expand:
        assets[settings_rel] = t.settings_component(total_fields_limit, auto_expand_replicas=expand)
    has_ilm = es_mod.has_api(es, cfg, "/_ilm/status")
    for rel, body in assets.items():
        kind, _, file = rel.partition("/")
        name = file.removesuffix(".json")
        if kind == "component_templates":
            if name == t.ILM_COMPONENT and not has_ilm:
                inst.changes.append(
                    Change(
                        "component_template",
                        name,
                        "skipped",
                        "this cluster has no ILM; use `predwatch retention`",
                    )
                )
                continue
            inst.component_template(name, body)
    if has_ilm:
        inst.ilm_policy(t.ILM_POLICY, t.ilm_policy(retention_days))
    else:
        inst.changes.append(
            Change(
                "ilm_policy",
                t.ILM_POLICY,
                "skipped",
                "this cluster has no ILM; use `predwatch retention`",
            )
        )
    for rel, body in assets.items():
        kind, _, file = rel.partition("/")
        if kind == "index_templates":
            inst.index_template(file.removesuffix(".json"), body)
    for b in baselines or []:
        inst.index_template(
            t.model_template_name(b.model),
            t.model_template(b.model, b.schema_features(), b.classes, total_fields_limit),
        )
    return inst.changes
