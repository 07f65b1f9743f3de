"""`predwatch quality --estimate` against a real node: estimates before any label, a real drop
(inputs moved to where the model is unsure) flagged with exit 1, realized values and the
estimation error beside the estimate once outcomes arrive, stored for dashboards and alerts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from predwatch import schema
from predwatch.analyzers.baseline_cli import baseline as baseline_cli
from predwatch.analyzers.quality_cli import quality
from predwatch.config import ESConfig
from tests.helpers import quality_data as qd
from tests.helpers.estimate_cli import run_estimate

GOOD = (qd.T0, qd.T0 + qd.DAY)
SHIFTED = (qd.T0 + qd.DAY, qd.T0 + 2 * qd.DAY)


def _true_p(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(1.5 * x - 0.3)))


def _score(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-2.0 * x))  # ranks right, not calibrated


def _baseline(tmp: Path, rng: np.random.Generator) -> Path:
    x = rng.normal(size=20_000)
    y = (rng.random(len(x)) < _true_p(x)).astype(int)
    pd.DataFrame({"x": x, "proba": _score(x), "y": y}).to_csv(tmp / "ref.csv", index=False)
    out = tmp / "baseline.json"
    r = CliRunner().invoke(
        baseline_cli,
        [
            "build",
            str(tmp / "ref.csv"),
            "--model",
            "m",
            "--version",
            "1",
            "--prediction-column",
            "proba",
            "--target-column",
            "y",
            "-o",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    return out


def _rows(x: np.ndarray, start: object, prefix: str, version: str) -> list[qd.Served]:
    step = qd.DAY / (len(x) + 1)
    return [
        qd.Served(f"{prefix}{i}", start + (i + 1) * step, version, {"value": float(s)})  # type: ignore[operator]
        for i, s in enumerate(_score(x))
    ]


@pytest.fixture
def shipped(
    es: Elasticsearch, es_config: ESConfig, model_name: str, tmp_path: Path
) -> tuple[str, Path, np.ndarray]:
    rng = np.random.default_rng(21)
    base = _baseline(tmp_path, rng)
    data = json.loads(base.read_text())
    data["model"]["name"] = model_name
    base.write_text(json.dumps(data))
    qd.install(es, es_config)
    good = rng.normal(size=3000)
    shifted = rng.normal(scale=0.25, size=3000)  # near x = 0: the model is unsure there
    rows = _rows(good, GOOD[0], "g", "1") + _rows(shifted, SHIFTED[0], "s", "2")
    qd.ship_predictions(es, model_name, rows)
    return model_name, base, shifted


class TestEstimateBeforeLabels:
    def test_stored_baseline_is_used_without_a_file(
        self, es: Elasticsearch, es_config: ESConfig, shipped: tuple[str, Path, np.ndarray]
    ) -> None:
        """Without --baseline the baseline stored in predwatch-baselines carries the map."""
        from predwatch.baseline import load_baseline
        from predwatch.baseline_store import upload_baseline

        model, base, _ = shipped
        upload_baseline(es, es_config, load_baseline(base))
        args = [
            "--model",
            model,
            "--start",
            qd.iso(SHIFTED[0]),
            "--end",
            qd.iso(SHIFTED[1]),
            "--estimate",
            "--json",
            "--no-store",
            "--es-url",
            es_config.url,
        ]
        r = CliRunner().invoke(quality, args)
        assert r.exit_code == 1, r.output
        d = json.loads(r.output[r.output.index("{") :])
        assert d["estimated"]["baseline"] == f"{model}@1"
        assert "estimated.accuracy@*" in d["regressed"]

    def test_baseline_without_calibration_is_a_usage_error(
        self, es_config: ESConfig, shipped: tuple[str, Path, np.ndarray], tmp_path: Path
    ) -> None:
        """A baseline built without --target-column: exit 2, saying how to build one."""
        model, base, _ = shipped
        data = json.loads(base.read_text())
        data.pop("estimation")
        plain = tmp_path / "plain.json"
        plain.write_text(json.dumps(data))
        args = [
            "--model",
            model,
            "--window",
            "1d",
            "--estimate",
            "--baseline",
            str(plain),
            "--es-url",
            es_config.url,
        ]
        r = CliRunner().invoke(quality, args)
        assert r.exit_code == 2 and "--target-column" in r.output

    def test_like_reference_window_is_not_flagged(
        self, es_config: ESConfig, shipped: tuple[str, Path, np.ndarray]
    ) -> None:
        """A window like the reference: estimates near the reference metrics, exit 0."""
        model, base, _ = shipped
        code, d = run_estimate(es_config, model, GOOD, base, "--no-store")
        assert code == 0
        est = d["estimated"]["versions"]["*"]
        assert set(est) == {"accuracy", "precision", "recall", "f1", "roc_auc"}
        for name, m in est.items():
            assert m["regressed"] is False, name
            assert m["ci_low"] <= m["reference"] + 0.03 and m["ci_high"] >= m["reference"] - 0.03
            assert m["realized"] is None  # no outcome yet
        assert d["estimated"]["calibration"] == "isotonic"

    def test_drop_is_a_finding_before_any_label(
        self, es_config: ESConfig, shipped: tuple[str, Path, np.ndarray]
    ) -> None:
        """Inputs moved to where the model is unsure: estimated accuracy drops, exit 1."""
        model, base, _ = shipped
        code, d = run_estimate(es_config, model, SHIFTED, base, "--no-store")
        assert code == 1
        assert "estimated.accuracy@*" in d["regressed"]
        assert "estimated.roc_auc@2" in d["regressed"]
        acc = d["estimated"]["versions"]["*"]["accuracy"]
        assert acc["ci_high"] < acc["reference"] - 0.02

    def test_realized_and_error_stored_once_outcomes_arrive(
        self,
        es: Elasticsearch,
        es_config: ESConfig,
        shipped: tuple[str, Path, np.ndarray],
        tmp_path: Path,
    ) -> None:
        """With outcomes, realized stands beside the estimate; both are stored with the error."""
        model, base, shifted = shipped
        rng = np.random.default_rng(5)
        y = (rng.random(len(shifted)) < _true_p(shifted)).astype(int)
        labels = [int(v) for v in y]
        qd.ship_row_outcomes(es, es_config, model, SHIFTED[0], labels, tmp_path / "spool")
        code, d = run_estimate(es_config, model, SHIFTED, base)
        assert code == 1
        acc = d["estimated"]["versions"]["*"]["accuracy"]
        s = _score(shifted)
        real = float(np.mean((s >= 0.5) == (y == 1)))
        assert acc["realized"] == pytest.approx(real)
        assert acc["realized_n"] == len(shifted)
        assert acc["error"] == pytest.approx(acc["value"] - real)
        assert acc["ci_low"] <= real <= acc["ci_high"]
        qd.refresh(es, model)
        docs = es.search(
            index=schema.index_name("drift", model),
            query={"term": {"metric.name": "quality.estimated.accuracy"}},
            size=10,
        )["hits"]["hits"]
        stored = [h["_source"] for h in docs if "version" not in h["_source"]["model"]]
        assert len(stored) == 1
        assert stored[0]["metric"]["realized"] == pytest.approx(real)
        assert stored[0]["drifted"] is True
