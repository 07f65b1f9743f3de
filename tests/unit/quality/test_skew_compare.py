"""Feature skew without a server: importing the pipeline, recomputing, comparing values."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from predwatch.analyzers import skew as sk


def write_module(tmp_path: Path, body: str) -> str:
    """A uniquely named module in tmp_path (importlib caches modules by name)."""
    name = f"skew_pipe_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(body)
    return name


class TestLoadPipeline:
    def test_callable_from_current_directory(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """module:callable is imported from the current directory, as uvicorn does."""
        name = write_module(tmp_path, "def build(df):\n    return df * 2\n")
        monkeypatch.chdir(tmp_path)
        monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(tmp_path)])
        p = sk.load_pipeline(f"{name}:build")
        assert p.fn(pd.DataFrame({"a": [1]}))["a"][0] == 2

    def test_transformer_attribute(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A fitted transformer is used through its transform()."""
        name = write_module(
            tmp_path,
            "import pandas as pd\nfrom sklearn.preprocessing import StandardScaler\n"
            "class Holder:\n"
            "    scaler = StandardScaler().fit(pd.DataFrame({'x': [0.0, 2.0]}))\n",
        )
        monkeypatch.chdir(tmp_path)
        p = sk.load_pipeline(f"{name}:Holder.scaler")
        assert p.fn.__name__ == "transform"

    @pytest.mark.parametrize(
        ("spec", "message"),
        [
            ("no_colon", "module:callable"),
            ("predwatch_no_such_module_x:f", "cannot import"),
            ("json:no_such_thing", "has no attribute"),
            ("math:pi", "neither callable"),
        ],
    )
    def test_errors(self, spec: str, message: str) -> None:
        """Typos and non-callables are reported in one line."""
        with pytest.raises(sk.SkewError, match=message):
            sk.load_pipeline(spec)

    def test_import_error_inside_module(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A module that fails on import says so, with the cause."""
        name = write_module(tmp_path, "import predwatch_missing_dependency_zz\n")
        monkeypatch.chdir(tmp_path)
        with pytest.raises(sk.SkewError, match="ModuleNotFoundError"):
            sk.load_pipeline(f"{name}:f")


def pipeline_of(obj: object, spec: str = "t:p") -> sk.Pipeline:
    fn = obj.transform if hasattr(obj, "transform") else obj  # type: ignore[attr-defined]
    return sk.Pipeline(spec, fn, obj)  # type: ignore[arg-type]


class TestRecompute:
    def test_sklearn_column_transformer(self) -> None:
        """ndarray / sparse output is named through get_feature_names_out."""
        df = pd.DataFrame({"h": [1.0, 2.0, 3.0], "c": ["a", "b", "a"]})
        ct = ColumnTransformer(
            [("num", StandardScaler(), ["h"]), ("cat", OneHotEncoder(), ["c"])],
            sparse_threshold=1.0,
        ).fit(df)
        out, names = sk.recompute(pipeline_of(ct), df, ["num__h", "cat__c_b"])
        assert list(out.columns) == ["num__h", "cat__c_b"]
        assert names == ["num__h", "cat__c_a", "cat__c_b"]
        assert out["cat__c_b"].tolist() == [0.0, 1.0, 0.0]

    def test_sparse_output(self) -> None:
        """Sparse matrices are densified only for the compared columns."""

        class P:
            def transform(self, df: pd.DataFrame) -> sparse.csr_matrix:
                return sparse.csr_matrix(np.eye(len(df), 3))

            def get_feature_names_out(self) -> list[str]:
                return ["a", "b", "c"]

        out, _ = sk.recompute(pipeline_of(P()), pd.DataFrame({"x": [1, 2]}), ["b"])
        assert out["b"].tolist() == [0.0, 1.0]

    def test_array_without_names(self) -> None:
        """An unnamed array is refused with what to return instead."""
        p = sk.Pipeline("m:f", lambda df: np.zeros((len(df), 2)), lambda df: None)
        with pytest.raises(sk.SkewError, match="without feature names"):
            sk.recompute(p, pd.DataFrame({"x": [1]}), ["a"])

    def test_raising_pipeline(self) -> None:
        """An exception in the pipeline is reported with its type and message."""

        def boom(df: pd.DataFrame) -> pd.DataFrame:
            raise KeyError("height")

        with pytest.raises(sk.SkewError, match="raised KeyError"):
            sk.recompute(sk.Pipeline("m:boom", boom, boom), pd.DataFrame({"x": [1]}), ["a"])

    def test_row_count_must_match(self) -> None:
        """A pipeline that drops rows cannot be compared row by row."""
        p = sk.Pipeline("m:f", lambda df: df.iloc[:1], None)
        with pytest.raises(sk.SkewError, match="1 rows for 2 inputs"):
            sk.recompute(p, pd.DataFrame({"a": [1, 2]}), ["a"])


class TestValuesMatch:
    @pytest.mark.parametrize(
        ("a", "b", "match"),
        [
            (1.0, 1.0 + 1e-9, True),
            (1.0, 1.001, False),
            (1e12, 1e12 * (1 + 1e-12), True),  # relative tolerance
            (None, float("nan"), True),
            (None, 0.0, False),
            ("red", "red", True),
            ("red", "Red", False),
            (True, 1.0, True),
            ("2", 2.0, True),
            (float("inf"), float("inf"), True),
        ],
    )
    def test_rules(self, a: object, b: object, match: bool) -> None:
        """Numbers within tolerance, text by equality, missing only with missing."""
        assert sk.values_match(a, b, 1e-6, 1e-9)[0] is match


class TestCompare:
    def test_unit_change_is_named(self) -> None:
        """A served feature in other units is the one reported, with examples."""
        inputs = pd.DataFrame({"height_ft": [1000.0, 2000.0, 3000.0, 4000.0], "k": [1, 2, 3, 4]})

        def features(df: pd.DataFrame) -> pd.DataFrame:
            return pd.DataFrame({"height": df["height_ft"] / 1000.0, "k2": df["k"] * 2})

        served = [
            {"height": v / 1000.0 * (0.3048 if i >= 2 else 1.0), "k2": k * 2}
            for i, (v, k) in enumerate(zip(inputs["height_ft"], inputs["k"], strict=True))
        ]
        smp = sk.Sample(["a", "b", "c", "d"], inputs, served, 4)
        rep = sk.compare("m", sk.Pipeline("m:f", features, features), smp)
        assert rep.skewed == ["height"]
        h = next(f for f in rep.features if f.name == "height")
        assert (h.mismatched, h.compared) == (2, 4)
        assert [e.prediction_id for e in h.examples] == ["c", "d"]
        assert h.max_abs_diff == pytest.approx(4.0 * (1 - 0.3048))
        assert rep.exit_code == 1

    def test_clean_and_tolerated(self) -> None:
        """Equal features pass; --max-mismatch tolerates a share of rows."""
        inputs = pd.DataFrame({"x": [1.0, 2.0]})
        f = lambda df: pd.DataFrame({"x2": df["x"] * 2, "extra": df["x"]})  # noqa: E731
        smp = sk.Sample(["a", "b"], inputs, [{"x2": 2.0}, {"x2": 4.0}], 2)
        rep = sk.compare("m", sk.Pipeline("m:f", f, f), smp)
        assert rep.skewed == [] and rep.exit_code == 0
        assert rep.not_served == ("extra",)
        bad = sk.Sample(["a", "b"], inputs, [{"x2": 2.0}, {"x2": 5.0}], 2)
        assert sk.compare("m", sk.Pipeline("m:f", f, f), bad, max_mismatch=0.5).skewed == []

    def test_no_common_feature(self) -> None:
        """Served names the pipeline does not produce: a clear error listing them."""
        f = lambda df: pd.DataFrame({"other": df["x"]})  # noqa: E731
        smp = sk.Sample(["a"], pd.DataFrame({"x": [1]}), [{"served_only": 1}], 1)
        with pytest.raises(sk.SkewError, match="served_only"):
            sk.compare("m", sk.Pipeline("m:f", f, f), smp)
