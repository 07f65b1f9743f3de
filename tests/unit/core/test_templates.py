"""Unit tests of the rendered templates and the committed `elasticsearch/` assets."""

from __future__ import annotations

import json

from predwatch import templates as t
from predwatch.assets import asset_dir
from predwatch.schema import Feature, FeatureType


class TestStaticAssets:
    def test_committed_files_match_rendering(self) -> None:
        """The JSON under elasticsearch/ is exactly what templates.py renders (no drift)."""
        root = asset_dir("elasticsearch")
        for rel, body in t.static_assets().items():
            on_disk = json.loads((root / rel).read_text())
            assert on_disk == body, f"{rel} is stale: run `python -m predwatch.templates`"

    def test_no_unknown_files(self) -> None:
        """Every committed template file is one the code renders."""
        root = asset_dir("elasticsearch")
        rendered = set(t.static_assets())
        for sub in ("component_templates", "index_templates", "ilm"):
            for path in (root / sub).glob("*.json"):
                assert f"{sub}/{path.name}" in rendered


class TestModelTemplate:
    def test_priority_over_fallback(self) -> None:
        """A model's template wins over the generic one for that model's indices only."""
        body = t.model_template("credit", [Feature("age", FeatureType.NUMERIC)])
        assert body["priority"] > t.fallback_template()["priority"]
        assert body["index_patterns"] == ["predwatch-predictions-credit-*"]

    def test_hash_is_stable(self) -> None:
        """The same body always hashes the same (set-up's "unchanged" depends on it)."""
        a = t.model_template("m", [Feature("x", FeatureType.TEXT)])
        b = t.model_template("m", [Feature("x", FeatureType.TEXT)])
        assert t.body_hash(a) == t.body_hash(b)
        assert t.body_hash(a) != t.body_hash(
            t.model_template("m", [Feature("y", FeatureType.TEXT)])
        )
