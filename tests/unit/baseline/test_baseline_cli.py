"""`predwatch baseline build|show` through click's CliRunner (no Elasticsearch)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result

from predwatch.analyzers.baseline_cli import baseline
from predwatch.baseline import load_baseline


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A small training CSV with a score and a label column."""
    rng = np.random.default_rng(0)
    n = 500
    df = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "zip": [f"{z:05d}" for z in rng.integers(0, 30, n)],
            "note": [f"this is note number {i} ok" for i in range(n)],
            "customer_id": range(n),
            "proba": rng.random(n),
            "label": rng.integers(0, 2, n),
        }
    )
    path = tmp_path / "train.csv"
    df.to_csv(path, index=False)
    return path


def run(*args: str) -> Result:
    return CliRunner().invoke(baseline, list(args), env={"PREDWATCH_ES_URL": ""})


def build_args(data: Path, out: Path, *extra: str) -> list[str]:
    return ["build", str(data), "--model", "credit", "--version", "3", "-o", str(out), *extra]


class TestBuild:
    def test_build_writes_file_and_prints_table(self, data: Path, tmp_path: Path) -> None:
        """build writes a loadable baseline and prints one row per feature."""
        out = tmp_path / "b.json"
        res = run(
            *build_args(
                data,
                out,
                "--prediction-column",
                "proba",
                "--prediction-column",
                "label",
                "--categorical",
                "zip",
                "--exclude",
                "customer_id",
                "--trained-at",
                "2026-01-01T00:00:00Z",
                "--chunksize",
                "100",
            )
        )
        assert res.exit_code == 0, res.output
        b = load_baseline(out)
        assert [(f.name, str(f.type)) for f in b.features] == [
            ("age", "numeric"),
            ("zip", "categorical"),
            ("note", "text"),
        ]
        assert b.classes == ("0", "1") and b.trained_at == "2026-01-01T00:00:00Z"
        zip_f = b.feature("zip")
        assert zip_f is not None and zip_f.categorical is not None
        assert all(len(v) == 5 for v in zip_f.categorical.vocabulary)
        assert "baseline credit@3: 500 rows, 3 features" in res.output
        assert "prediction: classification" in res.output

    def test_json_summary(self, data: Path, tmp_path: Path) -> None:
        """--json prints the summary as JSON, with the output path."""
        out = tmp_path / "b.json"
        res = run(*build_args(data, out, "--json", "--numeric", "customer_id"))
        assert res.exit_code == 0, res.output
        doc = json.loads(res.output)
        assert doc["id"] == "credit@3" and doc["output"] == str(out)
        assert doc["uploaded"] is None
        assert {f["name"]: f["type"] for f in doc["features"]}["customer_id"] == "numeric"

    def test_comma_separated_options_and_model_file(self, data: Path, tmp_path: Path) -> None:
        """Column options accept a,b lists; --model-file records the artefact's sha256."""
        model = tmp_path / "model.pkl"
        model.write_bytes(b"abc")
        out = tmp_path / "b.json"
        res = run(
            *build_args(data, out, "--exclude", "customer_id,note", "--model-file", str(model))
        )
        assert res.exit_code == 0, res.output
        b = load_baseline(out)
        assert b.feature("note") is None and b.feature("customer_id") is None
        assert b.hash == ("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")

    @pytest.mark.parametrize(
        ("extra", "message"),
        [
            (["--categorical", "nope"], "column 'nope' given to --categorical is not in the data"),
            (["--trained-at", "last week"], "is not an ISO 8601"),
            (["--holdout", "1.5"], "holdout must be in [0, 1)"),
            (["--token-pattern", "(a)"], "capturing groups"),
        ],
    )
    def test_bad_input_is_one_line_exit_2(
        self, data: Path, tmp_path: Path, extra: list[str], message: str
    ) -> None:
        """Bad options exit 2 with a single error line naming the problem."""
        res = run(*build_args(data, tmp_path / "b.json", *extra))
        assert res.exit_code == 2
        assert res.output.count("\n") == 1 and message in res.output
        assert not (tmp_path / "b.json").exists()

    def test_missing_file_bad_model_empty_data(self, data: Path, tmp_path: Path) -> None:
        """Missing data, a bad model name and data without rows exit 2 with one line."""
        res = run(*build_args(tmp_path / "nope.csv", tmp_path / "b.json"))
        assert res.exit_code == 2 and "does not exist" in res.output
        res = run("build", str(data), "--model", "Credit-Risk", "--version", "1")
        assert res.exit_code == 2 and "may only contain a-z, 0-9 and _" in res.output
        empty = tmp_path / "empty.csv"
        empty.write_text("a,b\n")
        res = run(*build_args(empty, tmp_path / "b.json"))
        assert res.exit_code == 2 and "no rows" in res.output
        assert all(r.output.count("\n") == 1 for r in [res])

    def test_metrics_file(self, data: Path, tmp_path: Path) -> None:
        """--metrics stores held-out metrics (prefix dropped) and their row count."""
        metrics = tmp_path / "heldout.json"
        metrics.write_text(json.dumps({"metrics": {"quality.roc_auc": 0.9, "f1": 0.5}, "rows": 80}))
        out = tmp_path / "b.json"
        res = run(*build_args(data, out, "--metrics", str(metrics), "--json"))
        assert res.exit_code == 0, res.output
        assert json.loads(res.output)["metrics"] == {"roc_auc": 0.9, "f1": 0.5}
        b = load_baseline(out)
        assert b.metrics == {"roc_auc": 0.9, "f1": 0.5} and b.metrics_rows == 80

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            ("{", "is not JSON"),
            ("[]", "expected an object of metric values"),
            ('{"roc_auc": "high"}', "metrics['roc_auc']: expected a finite number"),
        ],
    )
    def test_bad_metrics_file(self, data: Path, tmp_path: Path, content: str, message: str) -> None:
        """A bad --metrics file exits 2 with one line and writes no baseline."""
        metrics = tmp_path / "heldout.json"
        metrics.write_text(content)
        res = run(*build_args(data, tmp_path / "b.json", "--metrics", str(metrics)))
        assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
        assert message in res.output
        assert not (tmp_path / "b.json").exists()

    def test_help_has_example(self) -> None:
        """--help of build shows an example."""
        res = run("build", "--help")
        assert res.exit_code == 0 and "Example:" in res.output
        assert "--prediction-column" in res.output


class TestShow:
    def test_show_table_and_json(self, data: Path, tmp_path: Path) -> None:
        """show prints the summary of a file, or JSON with --json."""
        out = tmp_path / "b.json"
        assert run(*build_args(data, out, "--prediction-column", "proba")).exit_code == 0
        res = run("show", str(out))
        assert res.exit_code == 0 and "age" in res.output and "regression" in res.output
        doc = json.loads(run("show", str(out), "--json").output)
        assert doc["prediction"]["kind"] == "regression"
        assert [f["name"] for f in doc["features"]] == [
            "age",
            "zip",
            "note",
            "customer_id",
            "label",
        ]

    def test_show_bad_files(self, tmp_path: Path) -> None:
        """A missing, non-JSON or newer-format file exits 2 with one line."""
        assert "does not exist" in run("show", str(tmp_path / "x.json")).output
        bad = tmp_path / "bad.json"
        bad.write_text("{oops")
        res = run("show", str(bad))
        assert res.exit_code == 2 and "is not JSON" in res.output
        newer = tmp_path / "newer.json"
        newer.write_text(json.dumps({"format": "predwatch-baseline", "format_version": 7}))
        res = run("show", str(newer))
        assert res.exit_code == 2 and "newer predwatch (format 7)" in res.output
