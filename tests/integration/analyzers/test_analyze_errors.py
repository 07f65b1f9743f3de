"""`predwatch analyze` refuses bad input with exit code 2 and one clear line (real node)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from predwatch import schema
from predwatch.analyzers.analyze_cli import analyze
from predwatch.analyzers.profile import build_baseline
from predwatch.baseline import Baseline, FeatureProfile, save_baseline
from predwatch.config import ESConfig
from tests.helpers import analyze_data as ad

START = dt.datetime(2025, 2, 1, 8, tzinfo=dt.UTC)


@pytest.fixture
def small(es: Elasticsearch, es_config: ESConfig, model_name: str, tmp_path: Path) -> Baseline:
    """A model with 200 predictions in one hour and its baseline."""
    rng = np.random.default_rng(3)
    baseline = build_baseline(
        ad.frame(rng, 500),
        model=model_name,
        version="1",
        prediction_columns=["score"],
        text=ad.TEXT_FEATURES,
    )
    ad.install(es, es_config, baseline)
    ad.ship(
        es, ad.documents(ad.frame(rng, 200), baseline, START, START + dt.timedelta(hours=1), rng)
    )
    return baseline


def _analyze(es_config: ESConfig, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(
        analyze,
        ["--start", START.isoformat(), "--window", "1h", "--no-store", *args],
        env={"PREDWATCH_ES_URL": es_config.url},
    )
    return res.exit_code, res.output


class TestBadInput:
    def test_unknown_model(self, es_config: ESConfig, model_name: str) -> None:
        """A model without prediction indices: exit 2 naming the index pattern."""
        code, out = _analyze(es_config, "--model", model_name)
        assert code == 2 and "no predictions indices" in out and model_name in out

    def test_no_stored_baseline(self, es_config: ESConfig, small: Baseline) -> None:
        """No --baseline and none stored: exit 2 saying how to make one."""
        code, out = _analyze(es_config, "--model", small.model)
        assert code == 2 and "predwatch baseline build" in out

    def test_malformed_baseline(self, es_config: ESConfig, small: Baseline, tmp_path: Path) -> None:
        """A baseline file with a wrong field: exit 2 naming the field."""
        d = small.to_dict()
        d["features"][0]["count"] = -1
        path = tmp_path / "bad.json"
        path.write_text(__import__("json").dumps(d))
        code, out = _analyze(es_config, "--model", small.model, "--baseline", str(path))
        assert code == 2 and "features[0].count" in out

    def test_baseline_of_another_model(
        self, es_config: ESConfig, small: Baseline, tmp_path: Path
    ) -> None:
        """A baseline built for another model: exit 2 naming both models."""
        path = save_baseline(dataclasses.replace(small, model="someone_else"), tmp_path / "b.json")
        code, out = _analyze(es_config, "--model", small.model, "--baseline", str(path))
        assert code == 2 and "belongs to model 'someone_else'" in out

    def test_baseline_types_disagree_with_the_data(
        self, es_config: ESConfig, small: Baseline, tmp_path: Path
    ) -> None:
        """A baseline calling a mapped numeric feature categorical: exit 2, no traceback."""
        cat = next(f for f in small.features if f.categorical is not None)
        features = tuple(
            FeatureProfile(
                "num_mean",
                schema.FeatureType.CATEGORICAL,
                f.count,
                f.missing,
                categorical=cat.categorical,
            )
            if f.name == "num_mean"
            else f
            for f in small.features
        )
        wrong = dataclasses.replace(small, features=features)
        path = save_baseline(wrong, tmp_path / "b.json")
        code, out = _analyze(es_config, "--model", small.model, "--baseline", str(path))
        assert code == 2 and "'num_mean' is categorical" in out and "double" in out
        assert "Traceback" not in out

    def test_elasticsearch_down(self, small: Baseline, tmp_path: Path) -> None:
        """An unreachable node: exit 2 with what to do."""
        path = save_baseline(small, tmp_path / "b.json")
        res = CliRunner().invoke(
            analyze,
            ["--model", small.model, "--baseline", str(path)],
            env={"PREDWATCH_ES_URL": "http://127.0.0.1:1"},
        )
        assert res.exit_code == 2 and "could not be reached" in res.output

    def test_empty_window_is_fine(
        self, es_config: ESConfig, small: Baseline, tmp_path: Path
    ) -> None:
        """A window without predictions is 'insufficient data', exit 0, not an error."""
        path = save_baseline(small, tmp_path / "b.json")
        res = CliRunner().invoke(
            analyze,
            [
                "--model",
                small.model,
                "--baseline",
                str(path),
                "--window",
                "1h",
                "--no-store",
                "--json",
            ],
            env={"PREDWATCH_ES_URL": es_config.url},
        )
        assert res.exit_code == 0, res.output
        data = __import__("json").loads(res.stdout)
        assert data["documents"] == 0
        assert {f["status"] for f in data["features"]} == {"insufficient data"}
