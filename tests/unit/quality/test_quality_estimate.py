"""quality --estimate without a server: the reference fit, the baseline's estimation block,
the verdicts beside realized values, the stored documents and the CLI's baseline build."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from predwatch.analyzers import estimate as est
from predwatch.analyzers import quality_estimate as qe
from predwatch.analyzers import quality_job as qj
from predwatch.analyzers.aggregates import Window
from predwatch.analyzers.baseline_cli import baseline as baseline_cli
from predwatch.analyzers.estimate_fit import fit_reference
from predwatch.analyzers.quality import Metric
from predwatch.analyzers.quality_eval import Task
from predwatch.baseline import Baseline, BaselineError, load_baseline
from predwatch.baseline_checks import Invalid, read_estimation


def _frame(seed: int = 0, n: int = 20_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = rng.random(n) < 1.0 / (1.0 + np.exp(-(1.5 * x - 0.3)))
    return pd.DataFrame({"proba": 1.0 / (1.0 + np.exp(-2.0 * x)), "y": y.astype(int)})


def _block(seed: int = 0) -> dict[str, object]:
    return fit_reference([_frame(seed)], score="proba", target="y")


class TestFitReference:
    def test_block_is_valid_and_small(self) -> None:
        """The block passes the baseline's own check, is JSON and a few kB."""
        block = _block()
        assert read_estimation(json.loads(json.dumps(block))) == block
        assert block["positive"] == "1" and block["calibration"]["method"] == "isotonic"  # type: ignore[index]
        assert len(json.dumps(block)) < 10_000
        errors = block["reference"]["mean_abs_error_out_of_fold"]  # type: ignore[index]
        assert set(errors) == set(est.METRICS) and max(errors.values()) < 0.02

    def test_chunks_give_the_same_map(self) -> None:
        """Reading the rows in chunks changes nothing (same seed, same folds per row order)."""
        f = _frame(1)
        whole = fit_reference([f], score="proba", target="y")
        parts = fit_reference([f.iloc[:7000], f.iloc[7000:]], score="proba", target="y")
        assert whole["reference"]["realized"] == parts["reference"]["realized"]  # type: ignore[index]

    def test_third_label_is_refused(self) -> None:
        """A third label value without --class-scores says how to give the class scores."""
        f = _frame(2)
        f.loc[:10, "y"] = 7
        with pytest.raises(BaselineError, match="--class-scores PREFIX"):
            fit_reference([f], score="proba", target="y")

    def test_margins_get_their_own_grid(self) -> None:
        """Scores outside [0, 1] are read again on a grid of their own range."""
        f = _frame(3)
        f["margin"] = 4.0 * (f["proba"] - 0.5)
        block = fit_reference([f], score="margin", target="y", threshold=0.0, again=[f])
        grid = block["grid"]
        assert grid["low"] < 0 < grid["high"] and grid["low"] >= -2.0  # type: ignore[index]

    def test_one_class_only_is_an_error(self) -> None:
        """Calibration needs rows of both classes."""
        f = _frame(4)
        f["y"] = 1
        with pytest.raises(BaselineError, match="both classes"):
            fit_reference([f], score="proba", target="y")


class TestBaselineBlock:
    def test_baseline_without_estimation_is_unchanged(self, tmp_path: Path) -> None:
        """Older baselines stay valid and are written without the key (format 1 kept)."""
        src = Path(__file__).parents[1] / "alerts" / "demo.baseline.json"
        b = load_baseline(src)
        assert b.estimation is None
        assert "estimation" not in b.to_dict() and b.to_dict()["format_version"] == 1

    def test_round_trip_with_estimation(self) -> None:
        """A baseline with the block reads back equal."""
        src = Path(__file__).parents[1] / "alerts" / "demo.baseline.json"
        b = dataclasses.replace(load_baseline(src), estimation=_block())
        again = Baseline.from_dict(json.loads(json.dumps(b.to_dict())))
        assert again.estimation == b.estimation

    @pytest.mark.parametrize(
        ("change", "where"),
        [
            ({"kind": "ternary"}, "estimation.kind"),
            ({"kind": "multiclass"}, "estimation.classes"),
            ({"grid": {"low": 1.0, "high": 0.0, "bins": 10}}, "estimation.grid.high"),
            ({"threshold": "half"}, "estimation.threshold"),
        ],
    )
    def test_bad_block_names_its_path(self, change: dict[str, object], where: str) -> None:
        """A damaged block is refused with the path of the bad field."""
        with pytest.raises(Invalid, match=where.replace(".", r"\.")):
            read_estimation({**_block(), **change})

    def test_non_monotone_blocks_refused(self) -> None:
        """Calibration blocks must rise."""
        block = _block()
        cal = dict(block["calibration"])  # type: ignore[arg-type]
        cal["blocks"] = [[0.1, 0.2, 0.6, 5], [0.3, 0.4, 0.5, 5]]
        with pytest.raises(Invalid, match=r"blocks\[1\]"):
            read_estimation({**block, "calibration": cal})


class TestVerdicts:
    def _estimation(self) -> qe.Estimation:
        return qe.Estimation.from_block(_block(), "m@1")

    def test_missing_block_says_how_to_build_it(self) -> None:
        """A baseline without calibration: a usage error naming --target-column."""
        with pytest.raises(Exception, match="--target-column"):
            qe.Estimation.from_block(None, "m@1")

    def test_drop_below_reference_minus_tolerance_is_regressed(self) -> None:
        """Judged on the interval, against the baseline's reference; realized sits beside."""
        e = self._estimation()
        ref = e.reference["accuracy"]
        low = est.Estimate("accuracy", ref - 0.1, ref - 0.12, ref - 0.08, 2000, 0.01, 0.0)
        near = est.Estimate("roc_auc", e.reference["roc_auc"], 0.0, 1.0, 2000, 0.01, 0.0)
        realized = {"*": [Metric("labelled", 500.0, n=2000), Metric("accuracy", ref - 0.09)]}
        groups = qe.judge({"*": [low, near]}, realized, e, tolerance=0.02, min_count=30)
        acc, auc = groups["*"]
        assert acc.verdict.regressed is True and auc.verdict.regressed is False
        assert acc.realized == pytest.approx(ref - 0.09) and acc.realized_n == 500
        assert acc.error == pytest.approx(-0.01)
        assert auc.realized is None and auc.error is None
        assert qe.regressed(groups) == ["estimated.accuracy@*"]

    def test_report_json_and_documents(self) -> None:
        """The report lists estimated findings, keeps JSON key `estimated` and stores one
        quality.estimated.<metric> document per metric and version."""
        e = self._estimation()
        ref = e.reference["accuracy"]
        low = est.Estimate("accuracy", ref - 0.1, ref - 0.12, ref - 0.08, 2000, 0.01, 0.0)
        groups = qe.judge({"*": [low], "2": [low]}, {}, e, tolerance=0.02, min_count=30)
        w = Window(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
        report = qj.QualityReport(
            "r1",
            w.end,
            "m",
            Task("classification", "1"),
            w,
            "baseline",
            None,
            "predictions",
            {"*": ()},
            0.02,
            0.95,
            estimated=groups,
            estimation=e,
        )
        assert report.exit_code == 1
        d = report.to_dict()
        assert d["regressed"] == ["estimated.accuracy@*", "estimated.accuracy@2"]
        assert d["estimated"]["versions"]["*"]["accuracy"]["regressed"] is True
        docs = [x for x in qj.documents(report) if x["record_type"] == "metric"]
        assert {x["metric"]["name"] for x in docs} == {"quality.estimated.accuracy"}
        assert {x["metric"]["scope"] for x in docs} == {"all", "version"}
        assert all(x["drifted"] is True for x in docs)
        summary = next(x for x in qj.documents(report) if x["record_type"] == "quality")
        assert "quality.estimated.accuracy@*" in summary["drifted_features"]


class TestBaselineBuildCli:
    def test_target_column_stores_calibration_and_metrics(self, tmp_path: Path) -> None:
        """baseline build --target-column: the target is no feature, the block and the
        reference metrics are stored, the prediction is a classifier's."""
        _frame(5).assign(x=np.arange(20_000) % 7).to_csv(tmp_path / "ref.csv", index=False)
        out = tmp_path / "b.json"
        r = CliRunner().invoke(
            baseline_cli,
            [
                "build",
                str(tmp_path / "ref.csv"),
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
                "--json",
            ],
        )
        assert r.exit_code == 0, r.output
        b = load_baseline(out)
        assert [f.name for f in b.features] == ["x"]
        assert b.estimation is not None and b.prediction is not None
        assert b.prediction.kind == "classification"
        assert set(b.metrics) == set(est.METRICS) and b.metrics_rows == 20_000
        summary = json.loads(r.output[r.output.index("{") :])
        assert summary["estimation"]["calibration"] == "isotonic"

    def test_target_column_needs_a_score(self, tmp_path: Path) -> None:
        """Without --prediction-column there is nothing to calibrate: exit 2."""
        _frame(6).to_csv(tmp_path / "ref.csv", index=False)
        r = CliRunner().invoke(
            baseline_cli,
            [
                "build",
                str(tmp_path / "ref.csv"),
                "--model",
                "m",
                "--version",
                "1",
                "--target-column",
                "y",
                "-o",
                str(tmp_path / "b.json"),
            ],
        )
        assert r.exit_code == 2 and "--prediction-column" in r.output
