"""The baseline format: dataclasses, JSON round trip and validation messages."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from predwatch import schema
from predwatch.baseline import (
    Baseline,
    BaselineError,
    CategoricalProfile,
    FeatureProfile,
    NumericProfile,
    PredictionProfile,
    TextProfile,
    Tokenizer,
    category_key,
    load_baseline,
    save_baseline,
)

T = schema.FeatureType


def _numeric(n: int = 10) -> NumericProfile:
    return NumericProfile(
        edges=(1.0, 2.5), counts=(3.0, 3.0, n - 6.0), mean=2.0, var=1.5, min=0.0, max=9.0, n=n
    )


def make_baseline() -> Baseline:
    """A small baseline with one feature of each type and a classification prediction."""
    cat = CategoricalProfile({"a": 6, "b": 3}, other=1, vocabulary=frozenset("abc"), n=10)
    text = TextProfile(
        Tokenizer(), {"hello": 5, "world": 2}, expected_oov_rate=0.25, length=_numeric(), n=10
    )
    return Baseline(
        model="credit",
        version="1.2",
        trained_at="2026-01-02T03:04:05Z",
        hash="sha256:abc",
        created_at="2026-02-01T00:00:00Z",
        rows=12,
        features=(
            FeatureProfile("age", T.NUMERIC, 12, 2, numeric=_numeric()),
            FeatureProfile("user.Country code", T.CATEGORICAL, 12, 2, categorical=cat),
            FeatureProfile("comment", T.TEXT, 12, 2, text=text),
        ),
        prediction=PredictionProfile(
            "classification",
            value=NumericProfile((0.5,), (6.0, 6.0), 0.5, 0.1, 0.0, 1.0, 12),
            label=CategoricalProfile({"no": 6, "yes": 6}, 0, frozenset({"no", "yes"}), 12),
            classes=("no", "yes"),
        ),
    )


def good() -> dict[str, Any]:
    return make_baseline().to_dict()


def _error(d: Any) -> str:
    with pytest.raises(BaselineError) as info:
        Baseline.from_dict(d)
    return str(info.value)


class TestRoundTrip:
    def test_to_dict_from_dict_is_identity(self) -> None:
        """from_dict(to_dict(b)) gives back an equal baseline."""
        b = make_baseline()
        assert Baseline.from_dict(b.to_dict()) == b

    def test_bin_means_and_singletons_round_trip(self) -> None:
        """The optional bin means (null for an empty bin) and singleton count survive."""
        b = make_baseline()
        d = b.to_dict()
        d["features"][0]["numeric"]["bin_means"] = [0.5, None, 2.5][
            : len(d["features"][0]["numeric"]["counts"])
        ]
        d["features"][1]["categorical"]["singletons"] = 1
        again = Baseline.from_dict(d)
        num, cat = again.features[0].numeric, again.features[1].categorical
        assert num is not None and num.bin_means is not None and cat is not None
        assert cat.singletons == 1 and cat.unseen_share == 0.1
        assert Baseline.from_dict(again.to_dict()).to_dict() == again.to_dict()

    def test_bad_bin_means_and_singletons(self) -> None:
        """A bin_means list of the wrong length, or more singletons than values, is refused."""
        d = make_baseline().to_dict()
        d["features"][0]["numeric"]["bin_means"] = [1.0]
        with pytest.raises(BaselineError, match="bin_means"):
            Baseline.from_dict(d)
        d = make_baseline().to_dict()
        d["features"][1]["categorical"]["singletons"] = 99
        with pytest.raises(BaselineError, match="singletons"):
            Baseline.from_dict(d)

    def test_save_and_load(self, tmp_path: Path) -> None:
        """A saved baseline loads back equal, and the file is strict JSON."""
        b = make_baseline()
        path = save_baseline(b, tmp_path / "sub" / "baseline.json")
        json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
        assert load_baseline(path) == b

    def test_saved_file_mode_follows_umask(self, tmp_path: Path) -> None:
        """The baseline file is readable like any other new file (no 0600 temp-file mode)."""
        import os

        old = os.umask(0o022)
        try:
            path = save_baseline(make_baseline(), tmp_path / "b.json")
        finally:
            os.umask(old)
        assert path.stat().st_mode & 0o777 == 0o644
        assert [p.name for p in tmp_path.iterdir()] == ["b.json"]

    def test_non_finite_statistics_become_null(self, tmp_path: Path) -> None:
        """NaN mean/var (all-missing column) are written as null and read back as NaN."""
        empty = NumericProfile((), (0.0,), math.nan, math.nan, math.nan, math.nan, 0)
        b = Baseline(
            "m",
            "1",
            None,
            None,
            "2026-01-01T00:00:00Z",
            3,
            (FeatureProfile("x", T.NUMERIC, 3, 3, numeric=empty),),
        )
        d = b.to_dict()
        assert d["features"][0]["numeric"]["mean"] is None
        back = load_baseline(save_baseline(b, tmp_path / "b.json"))
        p = back.features[0].numeric
        assert p is not None and math.isnan(p.mean) and p.n == 0

    def test_json_layout(self) -> None:
        """The top level has the format marker, version and model block."""
        d = good()
        assert d["format"] == "predwatch-baseline"
        assert d["format_version"] == 1
        assert d["model"] == {
            "name": "credit",
            "version": "1.2",
            "trained_at": "2026-01-02T03:04:05Z",
            "hash": "sha256:abc",
        }
        assert d["features"][1]["categorical"]["vocabulary"] == ["a", "b", "c"]


class TestAccessors:
    def test_id_feature_classes(self) -> None:
        """id is model@version; feature() finds by name or returns None; classes come through."""
        b = make_baseline()
        assert b.id == "credit@1.2"
        f = b.feature("user.Country code")
        assert f is not None and f.categorical is not None
        assert "c" in f.categorical.vocabulary
        assert b.feature("nope") is None
        assert b.classes == ("no", "yes")
        assert len({b, Baseline.from_dict(b.to_dict())}) == 1  # hashable (dicts inside)

    def test_schema_features(self) -> None:
        """schema_features lists name and type in order."""
        assert make_baseline().schema_features() == [
            schema.Feature("age", T.NUMERIC),
            schema.Feature("user.Country code", T.CATEGORICAL),
            schema.Feature("comment", T.TEXT),
        ]

    def test_range_buckets(self) -> None:
        """range_buckets gives the ES range agg of the inner edges (K buckets)."""
        assert _numeric().range_buckets() == [
            {"to": 1.0},
            {"from": 1.0, "to": 2.5},
            {"from": 2.5},
        ]

    def test_missing_rate(self) -> None:
        """missing_rate is missing / count."""
        f = make_baseline().feature("age")
        assert f is not None and f.missing_rate == pytest.approx(2 / 12)


class TestTokenizer:
    def test_default_tokens(self) -> None:
        """The default tokenizer lower-cases and keeps letters, digits and apostrophes."""
        assert Tokenizer().tokens("Don't PANIC, 42 times!") == ["don't", "panic", "42", "times"]

    def test_bad_pattern(self) -> None:
        """A pattern that is not a regex, or has a capturing group, is refused."""
        with pytest.raises(BaselineError, match="not a regex"):
            Tokenizer("[a-")
        with pytest.raises(BaselineError, match="capturing groups"):
            Tokenizer("(a)+")


class TestCategoryKey:
    @pytest.mark.parametrize(
        ("value", "key"),
        [
            ("x", "x"),
            ("", None),
            (None, None),
            (math.nan, None),
            (True, "true"),
            (np.bool_(False), "false"),
            (3, "3"),
            (3.0, "3"),
            (np.int64(7), "7"),
            (np.float32(2.5), "2.5"),
            (0.1, "0.1"),
        ],
    )
    def test_canonical_strings(self, value: Any, key: str | None) -> None:
        """Values map to one canonical string (or None for missing)."""
        assert category_key(value) == key


class TestValidation:
    def test_not_json(self, tmp_path: Path) -> None:
        """A file that is not JSON names the file and the line."""
        p = tmp_path / "baseline.json"
        p.write_text('{"format":\n  nope}')
        with pytest.raises(BaselineError, match=r"baseline.json is not JSON: .*\(line 2\)"):
            load_baseline(p)

    def test_missing_file(self, tmp_path: Path) -> None:
        """A missing file says so."""
        with pytest.raises(BaselineError, match="does not exist"):
            load_baseline(tmp_path / "nope.json")

    def test_newer_version(self, tmp_path: Path) -> None:
        """A newer format_version asks to upgrade predwatch."""
        d = good()
        d["format_version"] = 2
        p = tmp_path / "b.json"
        p.write_text(json.dumps(d))
        with pytest.raises(
            BaselineError, match=r"written by a newer predwatch \(format 2\); upgrade predwatch"
        ):
            load_baseline(p)

    def test_not_a_baseline(self) -> None:
        """Some other JSON document is refused by its missing format marker."""
        assert "is not a predwatch baseline" in _error({"hello": 1})
        assert "is not a predwatch baseline" in _error([1, 2])

    def test_wrong_counts_length(self) -> None:
        """Counts must have one more entry than edges; the path of the field is named."""
        d = good()
        d["features"][0]["numeric"]["counts"] = [1.0, 9.0]
        assert "features[0].numeric.counts: expected 3 numbers, got 2" in _error(d)

    def test_edges_must_increase(self) -> None:
        """Edges that do not increase strictly are refused."""
        d = good()
        d["features"][0]["numeric"]["edges"] = [2.5, 2.5]
        assert "features[0].numeric.edges[1]: edges must be strictly increasing" in _error(d)

    def test_counts_must_add_up(self) -> None:
        """Bin counts must add up to n."""
        d = good()
        d["features"][0]["numeric"]["counts"] = [1.0, 1.0, 1.0]
        assert "features[0].numeric.counts: counts add up to 3 but n is 10" in _error(d)

    def test_frequencies_must_add_up(self) -> None:
        """Frequencies + other must add up to n."""
        d = good()
        d["features"][1]["categorical"]["other"] = 5
        assert "features[1].categorical.frequencies" in _error(d)

    def test_bad_model_name(self) -> None:
        """An invalid model name is refused with the schema's reason."""
        d = good()
        d["model"]["name"] = "Credit-Risk"
        assert "model.name: model name 'Credit-Risk' may only contain" in _error(d)

    def test_bad_feature_name_and_duplicates(self) -> None:
        """Feature names go through schema validation; duplicates are refused."""
        d = good()
        d["features"][0]["name"] = "a*b"
        assert "features[0].name: feature name 'a*b' contains '*'" in _error(d)
        d = good()
        d["features"][2]["name"] = "age"
        d["features"][2] = {**d["features"][0]}
        assert "feature 'age' appears twice" in _error(d)

    def test_wrong_types(self) -> None:
        """Fields of the wrong JSON type are named with what was found."""
        d = good()
        d["features"][0]["count"] = "12"
        assert "features[0].count: expected a count, got string" in _error(d)
        d = good()
        d["features"][0]["type"] = "image"
        assert "features[0].type: 'image' is not one of" in _error(d)
        d = good()
        del d["features"][0]["numeric"]
        assert "features[0].numeric: is missing" in _error(d)
        d = good()
        d["features"][2]["text"]["expected_oov_rate"] = 1.5
        assert "features[2].text.expected_oov_rate: expected a rate in [0, 1]" in _error(d)

    def test_counts_consistency(self) -> None:
        """Feature count must equal rows, and n must equal count - missing."""
        d = good()
        d["features"][0]["count"] = 11
        assert "features[0].count: is 11 but the baseline has 12 rows" in _error(d)
        d = good()
        d["features"][0]["missing"] = 3
        assert "features[0].numeric.n: is 10 but count - missing is 9" in _error(d)

    def test_vocabulary_holds_frequent_values(self) -> None:
        """Every value of the frequency table must be in the vocabulary."""
        d = good()
        d["features"][1]["categorical"]["vocabulary"] = ["a"]
        assert "lacks frequent value 'b'" in _error(d)

    def test_prediction_validation(self) -> None:
        """Prediction kind must be known, regression needs a value profile."""
        d = good()
        d["prediction"]["kind"] = "ranking"
        assert "prediction.kind: 'ranking' is not one of" in _error(d)
        d = good()
        d["prediction"] = {"kind": "regression", "value": None, "label": None, "classes": []}
        assert "prediction.value: a regression prediction needs a value profile" in _error(d)

    def test_flags_and_string_arrays_are_typed(self) -> None:
        """A falsy non-boolean flag or a non-array `classes` is refused, not read as false/empty."""
        d = good()
        d["features"][1]["categorical"]["vocabulary_truncated"] = 0
        assert "features[1].categorical.vocabulary_truncated: expected true or false" in _error(d)
        d = good()
        d["prediction"]["classes"] = ""
        assert "prediction.classes: expected an array of strings" in _error(d)

    def test_nested_paths(self) -> None:
        """Errors deep inside a feature or the model name the full path of the field."""
        d = good()
        del d["features"][2]["text"]["tokenizer"]["lowercase"]
        assert "features[2].text.tokenizer.lowercase: is missing" in _error(d)
        d = good()
        word = next(iter(d["features"][2]["text"]["vocabulary"]))
        d["features"][2]["text"]["vocabulary"][word] = "many"
        assert f"features[2].text.vocabulary[{word!r}]: expected a count, got string" in _error(d)
        d = good()
        del d["model"]["name"]
        assert "model.name: is missing" in _error(d)
        d = good()
        del d["model"]["hash"], d["model"]["trained_at"]
        assert Baseline.from_dict(d).hash is None

    def test_bad_dates(self) -> None:
        """trained_at and created_at must be ISO 8601."""
        d = good()
        d["model"]["trained_at"] = "yesterday"
        assert "model.trained_at: 'yesterday' is not an ISO 8601" in _error(d)


class TestHeldOutMetrics:
    def test_round_trip(self) -> None:
        """Held-out metrics and their row count survive to_dict/from_dict."""
        import dataclasses

        b = dataclasses.replace(
            make_baseline(), metrics={"roc_auc": 0.93, "accuracy": 1}, metrics_rows=500
        )
        d = b.to_dict()
        assert d["metrics"] == {"accuracy": 1.0, "roc_auc": 0.93}
        assert d["metrics_rows"] == 500
        assert d["format_version"] == 1
        back = Baseline.from_dict(json.loads(json.dumps(d)))
        assert back == b
        assert back.metrics == {"accuracy": 1.0, "roc_auc": 0.93}
        assert back.metrics_rows == 500

    def test_absent_keys(self) -> None:
        """A baseline without metrics writes neither key and reads back empty metrics."""
        d = good()
        assert "metrics" not in d and "metrics_rows" not in d
        b = Baseline.from_dict(d)
        assert b.metrics == {} and b.metrics_rows is None

    @pytest.mark.parametrize(
        ("metrics", "rows", "message"),
        [
            ({"roc_auc": None}, None, "metrics['roc_auc']: expected a finite number"),
            ({"roc_auc": "0.9"}, None, "metrics['roc_auc']: expected a finite number"),
            ({"roc_auc": True}, None, "metrics['roc_auc']: expected a finite number"),
            ([0.9], None, "metrics: expected an object"),
            ({"": 0.9}, None, "metric names must be non-empty strings"),
            ({"mae": 1.0}, -3, "metrics_rows: expected a non-negative whole number"),
        ],
    )
    def test_validation(self, metrics: Any, rows: Any, message: str) -> None:
        """Bad metric values or counts are rejected with the path of the bad field."""
        d = good()
        d["metrics"] = metrics
        d["metrics_rows"] = rows
        assert message in _error(d)

    def test_non_finite_rejected_on_construction(self) -> None:
        """A Baseline built in code with a NaN metric fails at once (the file would be invalid)."""
        import dataclasses

        with pytest.raises(BaselineError, match="finite"):
            dataclasses.replace(make_baseline(), metrics={"rmse": math.nan})
