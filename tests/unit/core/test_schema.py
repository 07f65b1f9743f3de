"""Unit tests of the document schema: names, index names, mappings derived from features."""

from __future__ import annotations

import datetime as dt

import pytest

from predwatch import mappings, schema
from predwatch.schema import Feature, FeatureType, SchemaError


class TestModelNames:
    @pytest.mark.parametrize("name", ["credit", "credit_risk", "m1", "a" * schema.MAX_MODEL_NAME])
    def test_valid(self, name: str) -> None:
        """Lower-case letters, digits and underscores are accepted unchanged."""
        assert schema.validate_model_name(name) == name

    @pytest.mark.parametrize(
        ("name", "needle"),
        [
            ("credit-risk", "try 'credit_risk'"),
            ("Credit", "try 'credit'"),
            ("credit risk", "a-z, 0-9 and _"),
            ("", "empty"),
            ("a" * (schema.MAX_MODEL_NAME + 1), "longer than"),
            ("crédit", "a-z, 0-9"),
        ],
    )
    def test_invalid(self, name: str, needle: str) -> None:
        """Hyphens, capitals, spaces, accents and over-long names are refused with a hint."""
        with pytest.raises(SchemaError, match=needle):
            schema.validate_model_name(name)


class TestFeatureNames:
    @pytest.mark.parametrize("name", ["age", "user.age", "Marital Status", "x_1", "Größe", "a-b"])
    def test_kept_as_is(self, name: str) -> None:
        """Dots, spaces, capitals and non-ASCII letters survive unchanged."""
        assert schema.validate_feature_name(name) == name

    @pytest.mark.parametrize(
        ("name", "needle"),
        [
            ("", "empty"),
            ("   ", "empty"),
            (" age", "white space"),
            ("a..b", "empty part"),
            (".a", "empty part"),
            ("a*", "wildcards"),
            ('a"b', "quotes"),
            ("a\nb", "control"),
            ("x" * (schema.MAX_FEATURE_NAME + 1), "limit"),
        ],
    )
    def test_refused(self, name: str, needle: str) -> None:
        """Names Elasticsearch or Kibana cannot hold are refused and the reason is named."""
        with pytest.raises(SchemaError, match=needle):
            schema.validate_feature_name(name)

    def test_duplicates_refused(self) -> None:
        """The same feature twice is an error, not a silent overwrite."""
        with pytest.raises(SchemaError, match="twice"):
            schema.validate_features([Feature("a", FeatureType.NUMERIC)] * 2)

    def test_too_many(self) -> None:
        """More features than predwatch maps is refused with what to do."""
        feats = [Feature(f"f{i}", FeatureType.NUMERIC) for i in range(schema.MAX_FEATURES + 1)]
        with pytest.raises(SchemaError, match="exclude"):
            schema.validate_features(feats)


class TestIndexNames:
    def test_daily_from_event_time(self) -> None:
        """The UTC day of the event decides the daily index, whatever the offset."""
        when = dt.datetime(2026, 11, 27, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
        assert schema.index_name("predictions", "credit", when) == (
            "predwatch-predictions-credit-2026.11.28"
        )

    def test_naive_is_utc(self) -> None:
        """A naive datetime is taken as UTC."""
        assert schema.index_name("outcomes", "m", dt.datetime(2026, 1, 2, 3)).endswith("2026.01.02")

    def test_other_kinds(self) -> None:
        """Per-model and shared indices follow docs/architecture.md."""
        assert schema.index_name("drift", "credit") == "predwatch-drift-credit"
        assert schema.index_name("deadletter") == "predwatch-deadletter"
        assert schema.index_pattern("predictions", "credit") == "predwatch-predictions-credit-*"

    def test_pattern_does_not_match_longer_model(self) -> None:
        """The pattern of model `credit` cannot read the indices of a model `credit_risk`."""
        import fnmatch

        assert not fnmatch.fnmatch(
            "predwatch-predictions-credit_risk-2026.11.27",
            schema.index_pattern("predictions", "credit"),
        )

    def test_unknown_kind(self) -> None:
        """An unknown index kind is an error listing the known ones."""
        with pytest.raises(SchemaError, match="predictions"):
            schema.index_name("nope")


class TestMappings:
    def test_feature_types(self) -> None:
        """Numeric -> double, categorical -> keyword, text -> text + keyword; flags are bytes."""
        props = mappings.model_mapping(
            [
                Feature("age", FeatureType.NUMERIC),
                Feature("user.city", FeatureType.CATEGORICAL),
                Feature("Comment Text", FeatureType.TEXT),
            ]
        )["properties"]
        inputs = props["inputs"]
        assert inputs["subobjects"] is False
        assert inputs["properties"]["age"]["type"] == "double"
        assert inputs["properties"]["user.city"]["type"] == "keyword"
        assert inputs["properties"]["Comment Text"]["type"] == "text"
        monitor = props["monitor"]["properties"]
        assert monitor["missing"]["properties"]["age"]["type"] == "byte"
        assert monitor["oov"]["properties"]["user.city"]["type"] == "byte"
        assert monitor["out_of_range"]["properties"]["age"]["type"] == "byte"
        assert monitor["text"]["properties"]["Comment Text.oov_rate"]["type"] == "float"

    def test_thousand_features_fit(self) -> None:
        """A thousand features get a total_fields limit above what they need."""
        feats = [Feature(f"f{i}", FeatureType.CATEGORICAL) for i in range(1000)]
        limit = mappings.total_fields_limit(feats)
        assert limit > 1000 * schema.FIELDS_PER_FEATURE["categorical"]

    def test_common_mapping_never_rejects_extras(self) -> None:
        """Unknown top-level fields are not indexed; numeric inputs ignore malformed values."""
        common = mappings.prediction_common_mapping()
        assert common["dynamic"] is False
        long_rule = next(t for t in common["dynamic_templates"] if "inputs_long" in t)
        assert long_rule["inputs_long"]["mapping"]["ignore_malformed"] is True
