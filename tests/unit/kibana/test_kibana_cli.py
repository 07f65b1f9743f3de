"""`predwatch kibana export` and the argument handling of `predwatch setup kibana`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from predwatch.baseline import save_baseline
from predwatch.kibana import ndjson
from predwatch.kibana.cli import kibana, setup_kibana
from predwatch.kibana.objects import saved_objects
from tests.helpers.kibana_fixtures import demo_baseline


@pytest.fixture
def baseline_file(tmp_path: Path) -> Path:
    return save_baseline(demo_baseline(), tmp_path / "baseline.json")


class TestExport:
    def test_writes_the_objects(self, tmp_path: Path, baseline_file: Path) -> None:
        """The file holds exactly what the generator makes; the summary counts by type."""
        out = tmp_path / "demo.ndjson"
        res = CliRunner().invoke(
            kibana, ["export", "--model", "demo", "--baseline", str(baseline_file), "-o", str(out)]
        )
        assert res.exit_code == 0, res.output
        assert ndjson.read(out) == saved_objects(demo_baseline(), "demo")
        assert "3 dashboard" in res.output and str(out) in res.output

    def test_stdout(self) -> None:
        """-o - writes the NDJSON to standard output."""
        res = CliRunner().invoke(kibana, ["export", "--model", "demo", "-o", "-"])
        assert res.exit_code == 0
        assert ndjson.loads(res.output) == saved_objects(None, "demo")

    def test_json_summary(self, tmp_path: Path) -> None:
        """--json prints the file and counts."""
        out = tmp_path / "x.ndjson"
        res = CliRunner().invoke(kibana, ["export", "-m", "demo", "-o", str(out), "--json"])
        assert json.loads(res.output)["by_type"]["dashboard"] == 3

    def test_space_and_base_path_reach_the_links(self, tmp_path: Path) -> None:
        """--space and --base-path shape the links between dashboards."""
        res = CliRunner().invoke(
            kibana, ["export", "-m", "demo", "-o", "-", "--space", "ml", "--base-path", "/kb"]
        )
        assert "/kb/s/ml/app/dashboards#/view/" in res.output

    def test_missing_model_is_one_line(self) -> None:
        """No --model: exit 2 with one error line."""
        res = CliRunner().invoke(kibana, ["export", "-o", "-"])
        assert res.exit_code == 2
        assert res.output.strip() == "error: --model is required"

    def test_missing_baseline_file(self, tmp_path: Path) -> None:
        """A baseline path that does not exist: exit 2, no traceback."""
        res = CliRunner().invoke(
            kibana, ["export", "-m", "demo", "--baseline", str(tmp_path / "no.json"), "-o", "-"]
        )
        assert res.exit_code == 2 and "does not exist" in res.output
        assert "Traceback" not in res.output

    def test_baseline_of_another_model(self, baseline_file: Path) -> None:
        """The baseline's model must be the --model."""
        res = CliRunner().invoke(
            kibana, ["export", "-m", "other", "--baseline", str(baseline_file), "-o", "-"]
        )
        assert res.exit_code == 2 and "not 'other'" in res.output

    def test_help_has_an_example(self) -> None:
        """--help shows an example command."""
        res = CliRunner().invoke(kibana, ["export", "--help"])
        assert "Example" in res.output and "predwatch kibana export" in res.output


class TestSetupArguments:
    def test_needs_model_or_file(self) -> None:
        """Without --model or --file there is nothing to import."""
        res = CliRunner().invoke(setup_kibana, ["--url", "http://127.0.0.1:9"], env={})
        assert res.exit_code == 2 and "give --model" in res.output

    def test_url_scheme_is_checked(self) -> None:
        """A URL without http(s):// is refused before any request."""
        res = CliRunner().invoke(setup_kibana, ["--url", "localhost:5601", "-m", "demo"], env={})
        assert res.exit_code == 2 and "http://" in res.output

    def test_help_has_an_example(self) -> None:
        """--help shows an example command."""
        res = CliRunner().invoke(setup_kibana, ["--help"])
        assert "Example" in res.output and "predwatch setup kibana --url" in res.output
