"""`predwatch analyze` without a server: help, option errors, bad baselines, ES down."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from predwatch.analyzers.analyze_cli import analyze
from predwatch.baseline import save_baseline
from tests.helpers import analyze_samples as smp

DOWN = {"PREDWATCH_ES_URL": "http://127.0.0.1:1"}  # nothing listens on port 1


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(analyze, list(args), env=DOWN)
    return result.exit_code, result.output


class TestAnalyzeCli:
    def test_help_has_an_example_and_exit_codes(self) -> None:
        """--help shows usage examples and the exit codes."""
        code, out = _run("--help")
        assert code == 0
        assert "predwatch analyze --model credit --window 1h" in out
        assert "Exit codes: 0" in out and "--reference" in out and "--every" in out

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--window", "soon"], "not a duration"),
            (["--start", "yesterday"], "ISO 8601"),
            (["--reference", "2026-01-01"], "START..END"),
            (["--window", "1h", "--start", "2026-01-01", "--end", "2026-01-02"], "not all three"),
            (["--start", "2026-01-02", "--end", "2026-01-01"], "must be after"),
            (["--every", "15m", "--start", "2026-01-01", "--end", "2026-01-02"], "moves"),
            (["--alpha", "2"], "alpha"),
        ],
    )
    def test_bad_options_exit_2(self, args: list[str], message: str) -> None:
        """Malformed options are one line on stderr and exit code 2."""
        code, out = _run("--model", "m1", *args)
        assert code == 2 and message in out and "Traceback" not in out

    def test_bad_model_name(self) -> None:
        """Model names follow the schema rules."""
        code, out = _run("--model", "Credit-Risk")
        assert code == 2 and "may only contain" in out

    def test_elasticsearch_down(self) -> None:
        """An unreachable node is a connection error (exit 2) saying what to do."""
        code, out = _run("--model", "m1")
        assert code == 2 and "could not be reached" in out

    def test_malformed_baseline_before_connecting(self, tmp_path: Path) -> None:
        """A malformed baseline file is reported (exit 2) even before Elasticsearch is asked."""
        bad = tmp_path / "b.json"
        bad.write_text(json.dumps({"format": "predwatch-baseline", "format_version": 1}))
        code, out = _run("--model", "m1", "--baseline", str(bad))
        assert code == 2 and "model: is missing" in out
        bad.write_text("{not json")
        code, out = _run("--model", "m1", "--baseline", str(bad))
        assert code == 2 and "is not JSON" in out
        code, out = _run("--model", "m1", "--baseline", str(tmp_path / "none.json"))
        assert code == 2 and "does not exist" in out

    def test_baseline_of_another_model(self, tmp_path: Path) -> None:
        """A baseline for another model is refused with both names."""
        path = tmp_path / "b.json"
        save_baseline(smp.baseline(model="other"), path)
        code, out = _run("--model", "m1", "--baseline", str(path))
        assert code == 2 and "belongs to model 'other', not 'm1'" in out


class TestEvery:
    def test_loop_runs_until_ctrl_c(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """--every repeats the run, one JSON line per run, and Ctrl-C ends it cleanly (exit 0)."""
        from predwatch.analyzers import analyze_cli, job
        from tests.helpers.analyze_samples import sample_report as _report

        calls: list[object] = []

        def fake_run(es: object, cfg: object, config: object, baseline: object = None) -> object:
            calls.append(config)
            return _report()

        def fake_sleep(seconds: float) -> None:
            if len(calls) >= 2:
                raise KeyboardInterrupt

        monkeypatch.setattr(job, "run", fake_run)
        monkeypatch.setattr(analyze_cli.time, "sleep", fake_sleep)
        res = CliRunner().invoke(analyze, ["--model", "m1", "--every", "15m", "--json"], env=DOWN)
        assert res.exit_code == 0, res.output
        lines = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
        assert len(lines) == 2 and json.loads(lines[0])["model"] == "m1"
        assert "stopped after 2 run(s)" in res.output

    def test_loop_keeps_going_when_elasticsearch_is_down(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A connection failure during the loop is reported and the next run still happens."""
        from predwatch.analyzers import analyze_cli, job
        from predwatch.errors import ConnectionFailed

        calls: list[int] = []

        def failing(*args: object, **kw: object) -> object:
            calls.append(1)
            raise ConnectionFailed("node down")

        def fake_sleep(seconds: float) -> None:
            if len(calls) >= 3:
                raise KeyboardInterrupt

        monkeypatch.setattr(job, "run", failing)
        monkeypatch.setattr(analyze_cli.time, "sleep", fake_sleep)
        res = CliRunner().invoke(analyze, ["--model", "m1", "--every", "1m"], env=DOWN)
        assert res.exit_code == 0 and res.output.count("node down") == 3


class TestEmit:
    @pytest.mark.parametrize("fmt", ["table", "json", "html"])
    def test_output_file(self, fmt: str, tmp_path: Path) -> None:
        """--output writes the chosen format to the file (plain text for the table)."""
        from predwatch.analyzers.analyze_cli import _emit
        from tests.helpers.analyze_samples import sample_report as _report

        path = tmp_path / f"report.{fmt}"
        _emit(_report(), fmt, str(path))
        text = path.read_text()
        if fmt == "json":
            assert json.loads(text)["model"] == "m1"
        elif fmt == "html":
            assert "<svg" in text
        else:
            assert "DRIFT" in text and "\x1b[" not in text
