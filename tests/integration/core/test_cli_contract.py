"""Every command that talks to Elasticsearch keeps the contract under bad connections: a
malformed URL, an unreachable host and a TLS mismatch (both ways) give exit 2 and exactly one
line on stderr that names the cause, and never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from predwatch.cli import COMMANDS, main
from predwatch.config import ESConfig

REPO = Path(__file__).resolve().parents[3]
BASELINE = str(REPO / "tests" / "unit" / "alerts" / "demo.baseline.json")


def commands(tmp: Path) -> dict[str, list[str]]:
    """Each command with --es-url and the least arguments that make it connect."""
    data = tmp / "train.csv"
    data.write_text("a,b\n1,x\n2,y\n")
    outcomes = tmp / "outcomes.csv"
    outcomes.write_text("prediction_id,actual\np1,1\n")
    return {
        "alerts check": ["--model", "demo"],
        "analyze": ["--model", "demo"],
        "baseline build": [str(data), "--model", "demo", "--version", "1", "--upload",
                           "--output", str(tmp / "b.json")],
        "demo": [],
        "outcomes load": [str(outcomes), "--model", "demo"],
        "quality": ["--model", "demo"],
        "retention": ["--days", "7"],
        "setup elasticsearch": [],
        "setup roles": [],
        "setup watches": ["--baseline", BASELINE],
        "skew check": ["--model", "demo", "--pipeline", "json:loads"],
    }  # fmt: skip


# Commands with --es-url that do not connect in this test, and why.
NOT_CONNECTING = {
    "setup kibana-rules": "talks to Kibana (--kibana-url), which is not in this test",
    "spool replay": "connects only when an orphaned spool exists (malformed URL still tested)",
}


def _es_commands() -> set[str]:
    """Every leaf command (as "group sub" or "name") that has an --es-url option."""
    ctx = click.Context(main)
    found: set[str] = set()

    def walk(cmd: click.Command, path: str) -> None:
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                assert sub is not None
                walk(sub, f"{path} {name}")
        elif any(p.name == "es_url" for p in cmd.params):
            found.add(path)

    for name in COMMANDS:
        cmd = main.get_command(ctx, name)
        assert cmd is not None
        walk(cmd, name)
    return found


def _variants(es_config: ESConfig, secured: Any) -> dict[str, tuple[str, str]]:
    plain, tls = es_config.url, secured.url
    return {
        "malformed": ("http://127.0.0.1:notaport", "not a valid URL"),
        "unreachable": ("http://127.0.0.1:9", "could not be reached"),
        "http-to-tls": (tls.replace("https://", "http://"), "scheme mismatch"),
        "https-to-plain": (plain.replace("http://", "https://"), "scheme mismatch"),
    }


def _invoke(path: str, args: list[str], url: str) -> click.testing.Result:
    env = {k: None for k in ("PREDWATCH_ES_USERNAME", "PREDWATCH_ES_PASSWORD",
                             "PREDWATCH_ES_API_KEY", "PREDWATCH_ES_CA_CERT")}  # fmt: skip
    return CliRunner().invoke(main, [*path.split(), *args, "--es-url", url], env=env)


class TestEveryCommand:
    def test_table_covers_every_command(self, tmp_path: Path) -> None:
        """A new command with --es-url must be added to this test (or say why not)."""
        listed = set(commands(tmp_path)) | set(NOT_CONNECTING)
        assert _es_commands() - listed == set()

    @pytest.mark.parametrize(
        "variant", ["malformed", "unreachable", "http-to-tls", "https-to-plain"]
    )
    def test_bad_connection(
        self, variant: str, tmp_path: Path, es_config: ESConfig, secured_node: Any
    ) -> None:
        """Exit 2, one stderr line starting with 'error:' and naming the cause, for all."""
        url, needle = _variants(es_config, secured_node)[variant]
        wrong = {}
        for path, args in commands(tmp_path).items():
            res = _invoke(path, args, url)
            lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
            ok = (
                res.exit_code == 2
                and len(lines) == 1
                and lines[0].startswith("error: ")
                and needle in lines[0]
                and "Traceback" not in res.output
            )
            if not ok:
                wrong[path] = (res.exit_code, res.stderr[-400:])
        assert wrong == {}

    def test_spool_replay_malformed_url(self) -> None:
        """spool replay refuses a malformed URL like every other command."""
        res = _invoke("spool replay", [], "http://127.0.0.1:notaport")
        assert res.exit_code == 2 and "not a valid URL" in res.stderr


class TestQualityUnknownModel:
    def test_quality_of_unknown_model_is_exit_2(self, es_config: ESConfig) -> None:
        """`quality --model nosuchmodel` is an error (exit 2) like analyze, not "no regression"."""
        res = CliRunner().invoke(
            main,
            ["quality", "--model", "nosuchmodel_x9", "--window", "1h", "--es-url", es_config.url],
        )
        assert res.exit_code == 2, res.output
        assert "no predictions indices for model 'nosuchmodel_x9'" in res.stderr
