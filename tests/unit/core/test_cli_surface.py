"""Unit tests of the CLI surface: every command loads, has help with an example."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from predwatch.cli import COMMANDS, main


def _all_commands() -> list[list[str]]:
    paths: list[list[str]] = []
    ctx = click.Context(main)
    for name in sorted(COMMANDS):
        cmd = main.get_command(ctx, name)
        assert cmd is not None
        paths.append([name])
        if isinstance(cmd, click.Group):
            paths += [[name, sub] for sub in cmd.list_commands(ctx)]
    return paths


class TestHelp:
    @pytest.mark.parametrize("path", _all_commands(), ids=" ".join)
    def test_help(self, path: list[str]) -> None:
        """`--help` works and shows an example for every command."""
        result = CliRunner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0, result.output
        assert "Example" in result.output or "example" in result.output

    def test_unknown_command(self) -> None:
        """An unknown command is a usage error (exit 2)."""
        assert CliRunner().invoke(main, ["nope"]).exit_code == 2


class TestErrors:
    def test_unreachable(self) -> None:
        """An unreachable URL gives one clear line and exit 2, no traceback."""
        result = CliRunner().invoke(
            main, ["setup", "elasticsearch", "--es-url", "http://127.0.0.1:9"]
        )
        assert result.exit_code == 2
        assert "could not be reached" in result.output
        assert "Traceback" not in result.output

    def test_baseline_not_json(self, tmp_path: object) -> None:
        """A baseline file that is not JSON is refused with exit 2 before any connection."""
        from pathlib import Path

        bad = Path(str(tmp_path)) / "b.json"
        bad.write_text("{nope")
        result = CliRunner().invoke(
            main,
            ["setup", "elasticsearch", "--baseline", str(bad), "--es-url", "http://127.0.0.1:9"],
        )
        assert result.exit_code == 2
        assert "not JSON" in result.output

    def test_bad_model(self) -> None:
        """A model name with a hyphen is refused with a suggestion."""
        result = CliRunner().invoke(main, ["setup", "elasticsearch", "--model", "credit-risk"])
        assert result.exit_code == 2
        assert "credit_risk" in result.output
