"""`predwatch outcomes load` against a real node: CSV and Parquet, corrections replace,
bad rows skipped and counted, a regressor's quality equals scikit-learn's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch
from sklearn import metrics as skm

from predwatch import schema
from predwatch.analyzers import quality_job as qj
from predwatch.analyzers.aggregates import Window
from predwatch.analyzers.outcomes_cli import outcomes
from predwatch.config import ESConfig
from tests.helpers import quality_data as qd


def _load(cfg: ESConfig, path: Path, model: str, *extra: str) -> dict[str, object]:
    r = CliRunner().invoke(
        outcomes, ["load", str(path), "--model", model, "--json", "--es-url", cfg.url, *extra]
    )
    assert r.exit_code == 0, r.output
    return json.loads(r.output)  # type: ignore[no-any-return]


def _stored(es: Elasticsearch, model: str) -> dict[str, dict[str, object]]:
    pattern = schema.index_pattern("outcomes", model)
    es.indices.refresh(index=pattern)
    hits = es.search(index=pattern, size=100)["hits"]["hits"]
    return {h["_source"]["prediction_id"]: h for h in hits}


class TestLoad:
    def test_csv_counts_and_documents(
        self, es: Elasticsearch, es_config: ESConfig, model_name: str, tmp_path: Path
    ) -> None:
        """Rows become outcome documents; rows without id or actual are skipped and counted."""
        p = tmp_path / "labels.csv"
        p.write_text(
            "prediction_id,actual,at\n"
            "p1,1,2025-03-01T10:00:00Z\n"
            "p2,0,2025-03-02T10:00:00Z\n"
            ",1,2025-03-01T10:00:00Z\n"
            "p3,,2025-03-01T10:00:00Z\n"
            "p4,spam,not a time\n"
        )
        out = _load(es_config, p, model_name, "--timestamp-column", "at", "--model-version", "7")
        assert out["indexed"] == 2
        assert out["skipped"] == {"no_prediction_id": 1, "no_actual": 1, "bad_timestamp": 1}
        assert out["indices"] == [
            f"predwatch-outcomes-{model_name}-2025.03.01",
            f"predwatch-outcomes-{model_name}-2025.03.02",
        ]
        docs = _stored(es, model_name)
        src = docs["p1"]["_source"]
        assert src["outcome"] == {"value": 1.0, "label": "1"}
        assert src["model"] == {"name": model_name, "version": "7"}
        assert src["@timestamp"] == "2025-03-01T10:00:00.000Z"
        assert docs["p1"]["_id"] == "p1"

    def test_correction_replaces(
        self, es: Elasticsearch, es_config: ESConfig, model_name: str, tmp_path: Path
    ) -> None:
        """Loading an outcome again (same day) replaces it: counted as replaced, one document."""
        p = tmp_path / "a.csv"
        p.write_text("prediction_id,actual,at\nx1,cat,2025-03-01T10:00:00Z\n")
        assert _load(es_config, p, model_name, "--timestamp-column", "at")["created"] == 1
        p.write_text("prediction_id,actual,at\nx1,dog,2025-03-01T18:00:00Z\n")
        out = _load(es_config, p, model_name, "--timestamp-column", "at")
        assert (out["created"], out["updated"]) == (0, 1)
        docs = _stored(es, model_name)
        assert len(docs) == 1 and docs["x1"]["_source"]["outcome"] == {"label": "dog"}

    def test_missing_column_exits_2(
        self, es: Elasticsearch, es_config: ESConfig, model_name: str, tmp_path: Path
    ) -> None:
        """A missing column is an error (exit 2) and nothing is written."""
        p = tmp_path / "a.csv"
        p.write_text("request,label\nx1,1\n")
        r = CliRunner().invoke(
            outcomes, ["load", str(p), "--model", model_name, "--es-url", es_config.url]
        )
        assert r.exit_code == 2
        assert "no column 'prediction_id'" in r.output
        assert not es.indices.get(index=schema.index_pattern("outcomes", model_name)).body


class TestRegressionFromParquet:
    def test_mae_rmse_r2_equal_sklearn(
        self, es: Elasticsearch, es_config: ESConfig, model_name: str, tmp_path: Path
    ) -> None:
        """Outcomes of a regressor loaded from Parquet: MAE, RMSE and R2 equal sklearn's."""
        rng = np.random.default_rng(5)
        window = Window(qd.T0, qd.T0 + qd.DAY)
        qd.install(es, es_config)
        rows = qd.regression_rows(rng, 1200, window.start, qd.DAY)
        qd.ship_predictions(es, model_name, rows)
        labelled = qd.label(rng, rows, 0.8)
        pd.DataFrame(
            {
                "id": [r.pid for r in labelled],
                "y": [r.actual for r in labelled],
                "t": [pd.Timestamp(r.outcome_at) for r in labelled],
            }
        ).to_parquet(tmp_path / "y.parquet")
        out = _load(
            es_config,
            tmp_path / "y.parquet",
            model_name,
            "--id-column", "id", "--actual-column", "y", "--timestamp-column", "t",
        )  # fmt: skip
        assert out["indexed"] == len(labelled)
        config = qj.QualityConfig(model=model_name, window=window, page_size=300, store=False)
        report = qj.run(es, es_config, config)
        assert report.task.kind == "regression"
        m = report.to_dict()["versions"]["1"]
        y = np.array([r.actual for r in labelled])
        yhat = np.array([r.prediction["value"] for r in labelled])
        assert m["mae"]["value"] == pytest.approx(skm.mean_absolute_error(y, yhat), rel=1e-9)
        assert m["rmse"]["value"] == pytest.approx(
            np.sqrt(skm.mean_squared_error(y, yhat)), rel=1e-9
        )
        assert m["r2"]["value"] == pytest.approx(skm.r2_score(y, yhat), rel=1e-9)
        assert m["labelled_share"]["value"] == pytest.approx(len(labelled) / len(rows))
