"""The outcomes / quality / skew commands without a server: help, usage errors, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from predwatch.analyzers.outcomes_cli import outcomes
from predwatch.analyzers.quality_cli import quality
from predwatch.analyzers.skew_cli import skew

NOWHERE = ["--es-url", "http://127.0.0.1:9"]  # nothing listens on the discard port


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


class TestHelp:
    @pytest.mark.parametrize(
        ("cmd", "args", "example"),
        [
            (outcomes, ["load", "--help"], "predwatch outcomes load labels.csv"),
            (quality, ["--help"], "predwatch quality --model credit"),
            (skew, ["check", "--help"], "predwatch skew check --model credit"),
        ],
    )
    def test_help_has_example_and_exit_codes(
        self, runner: CliRunner, cmd: object, args: list[str], example: str
    ) -> None:
        """Every command's --help shows an example and its exit codes."""
        r = runner.invoke(cmd, args)  # type: ignore[arg-type]
        assert r.exit_code == 0
        assert example in r.output
        assert "Exit codes" in r.output


class TestUsageErrors:
    def test_missing_column_exits_2(self, runner: CliRunner, tmp_path: Path) -> None:
        """A file without the id column: one line naming it, exit 2, before any request."""
        p = tmp_path / "o.csv"
        p.write_text("id,actual\n1,0\n")
        r = runner.invoke(outcomes, ["load", str(p), "--model", "m", *NOWHERE])
        assert r.exit_code == 2
        assert "no column 'prediction_id'" in r.output
        assert "Traceback" not in r.output

    def test_bad_model_name(self, runner: CliRunner) -> None:
        """An invalid model name is refused with a suggestion."""
        r = runner.invoke(quality, ["--model", "Credit-Risk", *NOWHERE])
        assert r.exit_code == 2
        assert "credit_risk" in r.output

    def test_bad_reference_file(self, runner: CliRunner, tmp_path: Path) -> None:
        """A reference file that does not exist is named."""
        r = runner.invoke(
            quality, ["--model", "m", "--reference", str(tmp_path / "x.json"), *NOWHERE]
        )
        assert r.exit_code == 2
        assert "does not exist" in r.output

    def test_pipeline_not_importable(self, runner: CliRunner) -> None:
        """A pipeline that cannot be imported fails before connecting."""
        r = runner.invoke(
            skew, ["check", "--model", "m", "--pipeline", "no_such_mod_q:f", *NOWHERE]
        )
        assert r.exit_code == 2
        assert "cannot import the pipeline module 'no_such_mod_q'" in r.output

    def test_connection_refused(self, runner: CliRunner) -> None:
        """No Elasticsearch: one line saying how to get one, exit 2."""
        r = runner.invoke(quality, ["--model", "m", "--window", "1h", *NOWHERE])
        assert r.exit_code == 2
        assert "could not be reached" in r.output

    def test_window_and_range_together(self, runner: CliRunner) -> None:
        """--window with both --start and --end is ambiguous."""
        r = runner.invoke(
            quality,
            ["--model", "m", "--window", "1d", "--start", "2025-01-01", "--end", "2025-01-02"],
        )
        assert r.exit_code == 2
        assert "not all three" in r.output


class TestBaselineReference:
    def test_baseline_without_metrics(self, runner: CliRunner, tmp_path: Path) -> None:
        """A baseline without held-out metrics: the error says what to use instead."""
        import pandas as pd

        from predwatch.analyzers.profile import build_baseline
        from predwatch.baseline import save_baseline

        frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "score": [0.1, 0.4, 0.6, 0.9]})
        b = build_baseline(frame, model="m", version="1", prediction_columns=["score"])
        path = save_baseline(b, tmp_path / "b.json")
        args = ["--reference", "baseline", "--baseline", str(path), *NOWHERE]
        r = runner.invoke(quality, ["--model", "m", *args])
        assert r.exit_code == 2
        assert "has no held-out metrics" in r.output and "--reference FILE.json" in r.output
        r = runner.invoke(quality, ["--model", "other", *args])
        assert r.exit_code == 2
        assert "belongs to model 'm'" in r.output
