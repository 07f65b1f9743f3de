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


class TestWindowIndices:
    U = dt.UTC

    def _days(self, names: list[str], lo: dt.date, hi: dt.date, model: str = "m") -> set[str]:
        """The day indices from `lo` to `hi` that `names` (with wildcards) match."""
        import fnmatch

        day, out = lo, set()
        while day <= hi:
            name = schema.index_name(
                "predictions", model, dt.datetime(day.year, day.month, day.day)
            )
            if any(fnmatch.fnmatchcase(name, n) for n in names):
                out.add(name)
            day += dt.timedelta(days=1)
        return out

    def test_exactly_the_days_the_window_touches(self) -> None:
        """Whatever the window (end excluded, offsets, months and years whole or cut), the
        names match the indices of the UTC days from its start to just before its end, and
        no other; whole months and years are one wildcard each."""
        import random

        rng = random.Random(3)
        for _ in range(120):
            start = dt.datetime(2000, 1, 1, tzinfo=self.U) + dt.timedelta(
                minutes=rng.randrange(25 * 365 * 24 * 60)
            )
            if rng.random() < 0.5:  # a midnight, often the first of a month or a year
                start = start.replace(hour=0, minute=0, day=rng.choice([1, start.day]))
                start = start.replace(month=1) if rng.random() < 0.3 else start
            length = dt.timedelta(minutes=rng.choice([1, 60, 1440, 10_000, 500_000, 3_000_000]))
            end = start + length
            names = schema.window_indices("predictions", "m", start, end)
            want, day = set(), start.date()
            while day <= (end - dt.timedelta(microseconds=1)).date():
                want.add(
                    schema.index_name("predictions", "m", dt.datetime(day.year, day.month, day.day))
                )
                day += dt.timedelta(days=1)
            around = (start.date() - dt.timedelta(days=40), end.date() + dt.timedelta(days=40))
            assert self._days(names, *around) == want, (start, end, names)
            assert len(names) <= 62 + 22 + length.days // 365 + 1

    def test_names(self) -> None:
        """A day; a window cut at both ends; whole months; a whole year."""

        def w(a: tuple[int, ...], b: tuple[int, ...]) -> list[str]:
            start, end = dt.datetime(*a, tzinfo=self.U), dt.datetime(*b, tzinfo=self.U)
            return [
                n.removeprefix("predwatch-predictions-m-")
                for n in schema.window_indices("predictions", "m", start, end)
            ]

        assert w((2026, 3, 10), (2026, 3, 11)) == ["2026.03.10"]
        assert w((2026, 3, 10, 8), (2026, 3, 11, 8)) == ["2026.03.10", "2026.03.11"]
        assert w((2026, 2, 28), (2026, 5, 1)) == ["2026.02.28", "2026.03.*", "2026.04.*"]
        assert w((2025, 12, 31), (2027, 1, 2)) == ["2025.12.31", "2026.*", "2027.01.01"]
        offset = dt.timezone(dt.timedelta(hours=-5))  # 22:00 at UTC-5 is 03:00 UTC next day
        start = dt.datetime(2026, 3, 9, 22, tzinfo=offset)
        assert schema.window_indices("outcomes", "m", start, start + dt.timedelta(hours=1)) == [
            "predwatch-outcomes-m-2026.03.10"
        ]

    def test_too_many_names_fall_back_to_the_pattern(self) -> None:
        start = dt.datetime(1, 1, 2, tzinfo=self.U)
        end = dt.datetime(9999, 12, 31, tzinfo=self.U)
        assert schema.window_indices("predictions", "m", start, end) == [
            "predwatch-predictions-m-*"
        ]

    def test_only_daily_kinds(self) -> None:
        now = dt.datetime(2026, 1, 1, tzinfo=self.U)
        with pytest.raises(SchemaError, match="not daily"):
            schema.window_indices("drift", "m", now, now + dt.timedelta(days=1))


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
