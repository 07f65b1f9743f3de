"""Unit tests of the rendered templates and the committed `elasticsearch/` assets."""

from __future__ import annotations

import json

from predwatch import templates as t
from predwatch.assets import asset_dir
from predwatch.schema import Feature, FeatureType
from tests.helpers import processes


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
        """The same body hashes the same in every process (set-up's "unchanged" depends on it)."""
        a = t.model_template("m", [Feature("x", FeatureType.TEXT)])
        code = (
            f"from {t.__name__} import body_hash, model_template;"
            f"from {Feature.__module__} import Feature, FeatureType;"
            "print(body_hash(model_template('m', [Feature('x', FeatureType.TEXT)])))"
        )
        assert processes.outputs(code) == [f"{t.body_hash(a)}\n"] * 2
        assert t.body_hash(a) != t.body_hash(
            t.model_template("m", [Feature("y", FeatureType.TEXT)])
        )


class TestFieldLimit:
    def test_limit_named_and_configurable(self) -> None:
        """The settings component names total_fields.limit; a model template honours a
        larger configured limit; the shipper's cap grows with it."""
        from predwatch import mappings
        from predwatch.config import total_fields_limit

        limit = t.settings_component()["template"]["settings"]["index"]["mapping"]
        assert limit["total_fields"]["limit"] == 1000
        assert limit["total_fields"]["ignore_dynamic_beyond_limit"] is True
        wide = t.settings_component(5000)["template"]["settings"]["index"]["mapping"]
        assert wide["total_fields"]["limit"] == 5000
        feats = [Feature("age", FeatureType.NUMERIC)]
        body = t.model_template("m", feats, total_fields_limit=5000)
        assert body["template"]["settings"]["index"]["mapping"]["total_fields"]["limit"] == 5000
        assert mappings.extra_fields_cap(5000, feats) > mappings.extra_fields_cap(1000, feats)
        assert total_fields_limit(None, {}) == 1000
        assert total_fields_limit(None, {"PREDWATCH_TOTAL_FIELDS_LIMIT": "3000"}) == 3000
        assert total_fields_limit(2000, {"PREDWATCH_TOTAL_FIELDS_LIMIT": "3000"}) == 2000

    def test_bad_limit_refused(self) -> None:
        """A limit that is no number, or too small, is a clear configuration error."""
        import pytest

        from predwatch.config import total_fields_limit
        from predwatch.errors import ConfigError

        for bad in ("lots", "10", -1):
            with pytest.raises(ConfigError, match="PREDWATCH_TOTAL_FIELDS_LIMIT"):
                total_fields_limit(None, {"PREDWATCH_TOTAL_FIELDS_LIMIT": str(bad)})

    def test_new_monitor_fields_mapped(self) -> None:
        """The new monitor counts are integers; unindexed values are never parsed."""
        from predwatch import mappings
        from predwatch import schema as s

        props = mappings.prediction_common_mapping()["properties"]
        monitor = props["monitor"]["properties"]
        for name in (s.UNSERIALIZABLE, s.UNINDEXED_COUNT):
            assert monitor[name.split(".", 1)[1]] == {"type": "integer"}
        assert props[s.UNINDEXED] == {"type": "object", "enabled": False}


class TestReplicas:
    def test_default_auto_expands(self) -> None:
        """By default replicas follow the cluster: 0 on one node, 1 from the second node on."""
        index = t.settings_component()["template"]["settings"]["index"]
        assert index["auto_expand_replicas"] == "0-1"

    def test_custom_replicas_switch_auto_expand_off(self) -> None:
        """A replica count in predwatch@custom, in any spelling, is not capped by 0-1."""
        for settings in (
            {"index": {"number_of_replicas": 2}},
            {"index.number_of_replicas": 2},
            {"number_of_replicas": 2, "number_of_shards": 3},
        ):
            assert t.sets_replicas({"template": {"settings": settings}}), settings
        index = t.settings_component(auto_expand_replicas=False)["template"]["settings"]["index"]
        assert "auto_expand_replicas" not in index

    def test_custom_without_replicas_keeps_auto_expand(self) -> None:
        """Shards only, or the user's own auto_expand_replicas, leave the default alone."""
        assert not t.sets_replicas(None)
        assert not t.sets_replicas({"template": {"settings": {"index": {"number_of_shards": 3}}}})
        both = {"index": {"number_of_replicas": 2, "auto_expand_replicas": "0-2"}}
        assert not t.sets_replicas({"template": {"settings": both}})
