"""Every CLI failure is one line on stderr and exit 2: the cases of issue 13, no server needed."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import click
import elastic_transport
import pytest
from click.testing import CliRunner, Result

from predwatch.cli import COMMANDS, Entry, main
from predwatch.cli_common import connection_options

DOWN = "http://127.0.0.1:9"  # nothing listens on the discard port
DEMO_BASELINE = Path(__file__).resolve().parents[1] / "alerts" / "demo.baseline.json"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"PREDWATCH_ES_URL": DOWN})


def assert_one_line_error(result: Result, needle: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ") and needle in lines[0], lines[0]
    assert "Traceback" not in result.output


@click.command("boom")
def boom() -> None:
    """Example: fails like a bug would."""
    raise ValueError("something\nunexpected")


@click.command("escaped")
@connection_options
def escaped(cfg: object) -> None:
    """Example: a client error nobody translated."""
    raise elastic_transport.ConnectionError("refused")


@click.command("nofile")
def nofile() -> None:
    """Example: an OSError with a file name."""
    open("/nonexistent/predwatch/x")  # noqa: SIM115


class TestGeneralMechanism:
    @pytest.fixture(autouse=True)
    def _commands(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in ("boom", "escaped", "nofile"):
            monkeypatch.setitem(COMMANDS, name, Entry(f"{__name__}:{name}", "a test command"))

    def test_unexpected_exception_is_exit_2_one_line(self) -> None:
        """A bug's ValueError: exit 2 (never 1, "a finding"), one line, no traceback."""
        assert_one_line_error(run("boom"), "unexpected ValueError: something unexpected")

    def test_escaped_client_error_is_explained(self) -> None:
        """A raw client ConnectionError is explained like any connection failure."""
        assert_one_line_error(run("escaped", "--es-url", DOWN), "could not be reached")

    def test_os_error_names_the_file(self) -> None:
        """An OSError says which file, on one line."""
        assert_one_line_error(run("nofile"), "/nonexistent/predwatch/x")

    def test_password_in_url_never_printed(self) -> None:
        """A failing command given https://user:PW@host shows neither PW nor the userinfo."""
        result = run("escaped", "--es-url", "http://elastic:SECRETPW@127.0.0.1:9")
        assert_one_line_error(result, "http://127.0.0.1:9")
        assert "SECRETPW" not in result.output and "no credentials" not in result.output


class TestIssueCases:
    def test_window_overflow(self) -> None:
        """`analyze --window 99999999d` is a clear error, not an OverflowError."""
        assert_one_line_error(run("analyze", "--model", "m1", "--window", "99999999d"), "years")

    def test_html_output_in_missing_folder(self) -> None:
        """`--output /nonexistent/x.html` is refused before connecting."""
        result = run(
            "analyze", "--model", "m1", "--format", "html", "--output", "/nonexistent/x.html"
        )
        assert_one_line_error(result, "does not exist")

    def test_ca_cert_not_a_certificate(self, tmp_path: Path) -> None:
        """`--ca-cert` naming a file that is no PEM certificate: exit 2, says so."""
        bad = tmp_path / "ca.pem"
        bad.write_text("not a certificate\n")
        result = run(
            "setup", "elasticsearch", "--es-url", "https://127.0.0.1:9", "--ca-cert", str(bad)
        )
        assert_one_line_error(result, "cannot be used")

    @pytest.mark.parametrize("path", ["/nonexistent/ca.pem", "/tmp/" + "x" * 5000])
    def test_ca_cert_bad_path(self, path: str) -> None:
        """`--ca-cert` with a path that is missing or impossible: exit 2 and one line."""
        result = run("setup", "elasticsearch", "--es-url", "https://127.0.0.1:9", "--ca-cert", path)
        assert_one_line_error(result, "does not exist or is not a file")

    @pytest.mark.parametrize("command", ["rules", "check"])
    def test_alerts_with_another_models_baseline(self, command: str) -> None:
        """`alerts rules|check --model A --baseline <B's>` refuses, like analyze and setup."""
        result = run("alerts", command, "--model", "other", "--baseline", str(DEMO_BASELINE))
        assert_one_line_error(result, "the baseline is for model 'demo'")

    @pytest.mark.parametrize("model", ["credit-risk", "../../..", "a/b"])
    def test_spool_status_invalid_model(self, model: str) -> None:
        """An invalid --model (or a path) is refused instead of listing other folders."""
        assert_one_line_error(run("spool", "status", "--model", model), "model name")

    def test_table_uses_full_width_of_a_pipe(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Piped (not a terminal), table cells are not wrapped at 80 columns."""
        from predwatch.analyzers.analyze_cli import _emit
        from tests.helpers.analyze_samples import sample_report as _report

        monkeypatch.delenv("COLUMNS", raising=False)
        _emit(_report(), "table", None)
        out = capsys.readouterr().out
        assert "strongest test (effect vs threshold)" in out
        # The whole cell on one line: test, effect, threshold and adjusted p-value.
        assert any(
            re.search(r"oov_rate [\d.]+ \(>= 0\.2, p=[\d.e+-]+\)", line)
            for line in out.splitlines()
        )


class TestLogDestination:
    def test_info_and_resolved_alerts_are_shown(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Inside the CLI, the `log` destination prints info-severity and resolved alerts."""
        from predwatch.alerts import notify
        from predwatch.alerts.rules import Destination

        dest = Destination("log", "log")
        base = {
            "rule_id": "unseen.x",
            "kind": "unseen",
            "model": "m",
            "title": "t",
            "value": 1.0,
            "threshold": 0.0,
            "window": "1h",
            "time": "2026-01-01T00:00:00Z",
        }
        with notify.log_to_stderr():
            notify.deliver(
                dest, notify.Alert(**base, severity="info", status="fired", message="INFO-FIRED")
            )
            notify.deliver(
                dest, notify.Alert(**base, severity="warning", status="resolved", message="CLEARED")
            )
        err = capsys.readouterr().err
        assert "INFO-FIRED" in err and "CLEARED" in err
        assert not logging.getLogger("predwatch.alerts").handlers  # removed afterwards


def test_spool_status_valid_model_still_works(tmp_path: Path) -> None:
    """A valid model name with an empty spool root still answers (exit 0)."""
    result = CliRunner().invoke(
        main, ["spool", "status", "--model", "credit", "--spool-dir", str(tmp_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["pending_records"] == 0
    shutil.rmtree(tmp_path, ignore_errors=True)
