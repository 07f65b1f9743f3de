"""`predwatch skew check` against a real node: features logged by the real shipper
(`log_prediction(..., features=...)`) are recomputed with the registered scikit-learn
transformer; a unit change in one serving feature is caught and named, a clean one passes."""

from __future__ import annotations

import json
import pickle
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from predwatch.analyzers.skew_cli import skew
from predwatch.config import ESConfig
from predwatch.shipper import Shipper

SKIES = ["clear", "cloudy", "overcast"]


@dataclass(frozen=True)
class Served:
    clean: str  # model whose serving features match training
    broken: str  # model whose serving computes height from metres
    bare: str  # model logging no features
    module: str  # the pipeline module's name, importable from `folder`
    folder: Path


def _frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "height_ft": rng.exponential(800.0, n).round(1),
            "speed": rng.normal(140.0, 30.0, n).round(1),
            "sky": rng.choice(SKIES, n),
        }
    )


def _ship(
    cfg: ESConfig, model: str, rows: pd.DataFrame, feats: pd.DataFrame | None, spool: Path
) -> None:
    with Shipper(model, "1", es_config=cfg, handle_sigterm=False, spool_dir=spool) as shipper:
        for i, row in enumerate(rows.to_dict("records")):
            features = feats.iloc[i].to_dict() if feats is not None else None
            shipper.log_prediction(row, 0.5, prediction_id=f"{model}-{i}", features=features)
        assert shipper.flush(30.0)


@pytest.fixture(scope="module")
def served(
    es: Elasticsearch, es_config: ESConfig, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    rng = np.random.default_rng(21)
    pre = ColumnTransformer(
        [
            ("num", StandardScaler(), ["height_ft", "speed"]),
            ("cat", OneHotEncoder(sparse_output=False, handle_unknown="ignore"), ["sky"]),
        ]
    ).fit(_frame(rng, 2000))
    folder = tmp_path_factory.mktemp("pipeline")
    (folder / "pre.pkl").write_bytes(pickle.dumps(pre))
    module = f"skew_features_{uuid.uuid4().hex[:8]}"
    (folder / f"{module}.py").write_text(
        "import pickle\n"
        "from pathlib import Path\n"
        "preprocessor = pickle.loads((Path(__file__).parent / 'pre.pkl').read_bytes())\n"
        "def broken(df):\n"
        "    raise ValueError('training code expects a column named altitude')\n"
    )
    tag = uuid.uuid4().hex[:8]
    names = Served(f"t_skc_{tag}", f"t_skb_{tag}", f"t_skn_{tag}", module, folder)
    serving = _frame(rng, 400)
    names_out = list(pre.get_feature_names_out())
    good = pd.DataFrame(pre.transform(serving), columns=names_out)
    metres = serving.assign(height_ft=serving["height_ft"] * 0.3048)  # the unit bug
    bad = pd.DataFrame(pre.transform(metres), columns=names_out)
    spool = tmp_path_factory.mktemp("spool")
    _ship(es_config, names.clean, serving, good, spool)
    _ship(es_config, names.broken, serving, bad, spool)
    _ship(es_config, names.bare, serving, None, spool)
    es.indices.refresh(index=f"predwatch-predictions-t_sk*_{tag}-*")
    try:
        yield names
    finally:
        for model in (names.clean, names.broken, names.bare):
            for index in es.indices.get(index=f"predwatch-*-{model}*").body:
                es.options(ignore_status=404).indices.delete(index=index)


def _check(cfg: ESConfig, s: Served, model: str, pipeline: str, *extra: str) -> tuple[int, str]:
    r = CliRunner().invoke(
        skew,
        ["check", "--model", model, "--pipeline", f"{s.module}:{pipeline}", "--sample", "300",
         "--es-url", cfg.url, *extra],
    )  # fmt: skip
    return r.exit_code, r.output


@pytest.fixture
def in_folder(served: Served, monkeypatch: pytest.MonkeyPatch) -> Served:
    """Run from the folder holding the pipeline module, as a user would."""
    monkeypatch.chdir(served.folder)
    monkeypatch.setattr("sys.path", list(__import__("sys").path))
    return served


class TestSkewCheck:
    def test_clean_pipeline_passes(self, es_config: ESConfig, in_folder: Served) -> None:
        """Serving computed the features like training: every feature matches, exit 0."""
        code, out = _check(es_config, in_folder, in_folder.clean, "preprocessor", "--json")
        assert code == 0, out
        report = json.loads(out)
        assert report["sampled"] == 300
        assert report["skewed"] == []
        names = {f["feature"] for f in report["features"]}
        assert names == {"num__height_ft", "num__speed", *(f"cat__sky_{s}" for s in SKIES)}
        assert all(f["mismatched"] == 0 for f in report["features"])

    def test_unit_change_is_caught_and_named(self, es_config: ESConfig, in_folder: Served) -> None:
        """Height served in metres: only num__height_ft is skewed, with examples; exit 1."""
        code, out = _check(es_config, in_folder, in_folder.broken, "preprocessor", "--json")
        assert code == 1, out
        report = json.loads(out)
        assert report["skewed"] == ["num__height_ft"]
        height = next(f for f in report["features"] if f["feature"] == "num__height_ft")
        assert height["mismatch_share"] == 1.0
        assert height["max_abs_diff"] > 0.1
        assert len(height["examples"]) == 3
        assert height["examples"][0]["prediction_id"].startswith(in_folder.broken)

    def test_table_output_names_the_feature(self, es_config: ESConfig, in_folder: Served) -> None:
        """The table says which feature is skewed."""
        code, out = _check(es_config, in_folder, in_folder.broken, "preprocessor")
        assert code == 1
        assert "feature skew: num__height_ft" in out

    def test_no_served_features(self, es_config: ESConfig, in_folder: Served) -> None:
        """Predictions without `features`: exit 2 and how to log them."""
        code, out = _check(es_config, in_folder, in_folder.bare, "preprocessor")
        assert code == 2
        assert "Shipper.log_prediction" in out and "features=" in out

    def test_pipeline_raises(self, es_config: ESConfig, in_folder: Served) -> None:
        """A pipeline failing on the served inputs: exit 2 with its error, no traceback."""
        code, out = _check(es_config, in_folder, in_folder.clean, "broken")
        assert code == 2
        assert "raised ValueError: training code expects a column named altitude" in out
        assert "Traceback" not in out
