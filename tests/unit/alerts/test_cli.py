"""The alerts CLI without a server: rules, render, dry runs, help and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from predwatch.alerts.cli import alerts, setup_kibana_rules, setup_watches
from predwatch.alerts.rules import load_rules

DEMO = str(Path(__file__).with_name("demo.baseline.json"))


def run(cmd: object, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cmd, list(args))  # type: ignore[arg-type]
    return result.exit_code, result.output


class TestRulesCommand:
    def test_writes_a_rule_file(self, tmp_path: Path) -> None:
        """`alerts rules -o FILE` writes rules that load back for the baseline's model."""
        code, out = run(
            alerts, "rules", "--baseline", DEMO, "-o", str(tmp_path / "r.yaml"), "--min-count", "30"
        )
        assert code == 0 and "wrote" in out
        rs = load_rules(tmp_path / "r.yaml", {})
        assert rs.model == "demo" and rs.baseline == "demo@1.0"
        assert {r.min_count for r in rs.rules} >= {30}

    def test_prints_json(self) -> None:
        """Without -o the rules are printed (here as JSON); another model's baseline is refused."""
        code, out = run(alerts, "rules", "--baseline", DEMO, "--model", "demo", "--format", "json")
        assert code == 0 and json.loads(out)["model"] == "demo"
        code, out = run(alerts, "rules", "--baseline", DEMO, "--model", "other", "--format", "json")
        assert code == 2 and "the baseline is for model 'demo'" in out


class TestRender:
    def test_watcher_files_keep_env_references(self, tmp_path: Path) -> None:
        """Rendering writes one file per watch and never the secret behind `${VAR}`."""
        rules = tmp_path / "r.json"
        run(alerts, "rules", "--baseline", DEMO, "-o", str(rules), "--destination", "hook")
        data = json.loads(rules.read_text())
        data["destinations"] = {
            "hook": {
                "type": "webhook",
                "url": "https://h.example/x",
                "headers": {"Authorization": "Bearer ${HOOK_TOKEN}"},
            }
        }
        rules.write_text(json.dumps(data))
        result = CliRunner(env={"HOOK_TOKEN": "s3cr3t"}).invoke(
            alerts, ["render", "--rules", str(rules), "-o", str(tmp_path / "w"), "--json"]
        )
        assert result.exit_code == 0, result.output
        written = json.loads(result.output)["written"]
        assert len(written) == 25
        text = "".join(Path(p).read_text() for p in written)
        assert "${HOOK_TOKEN}" in text and "s3cr3t" not in text

    def test_kibana_target(self, tmp_path: Path) -> None:
        """`--target kibana` writes rule bodies and notes what Kibana cannot express."""
        code, out = run(
            alerts, "render", "--baseline", DEMO, "--target", "kibana", "-o", str(tmp_path / "k")
        )
        assert code == 0 and "note: multiple_versions" in out
        assert len(list((tmp_path / "k").glob("*.json"))) == 21

    def test_needs_a_rule_source(self) -> None:
        """Without --rules, --baseline or --model the command says what to give."""
        code, out = run(alerts, "render")
        assert code == 2 and "give --rules FILE, --baseline FILE, or --model M" in out


class TestSetupDryRuns:
    def test_watches_dry_run(self) -> None:
        """`setup watches --dry-run` renders and checks without a cluster."""
        code, out = run(setup_watches, "--baseline", DEMO, "--dry-run", "--json")
        assert code == 0 and len(json.loads(out)["watches"]) == 25

    def test_kibana_dry_run(self) -> None:
        """`setup kibana-rules --dry-run` prints the bodies it would install."""
        code, out = run(setup_kibana_rules, "--baseline", DEMO, "--dry-run")
        assert code == 0 and len(json.loads(out)) == 21


class TestHelp:
    @pytest.mark.parametrize("args", [["rules"], ["render"], ["check"], []])
    def test_help_has_an_example(self, args: list[str]) -> None:
        """Every command's --help shows an example."""
        code, out = run(alerts, *args, "--help")
        assert code == 0 and "Example:" in out

    def test_setup_help(self) -> None:
        """The setup commands document the licence and the fallback."""
        assert "skipped" in run(setup_watches, "--help")[1]
        assert "basic licence" in run(setup_kibana_rules, "--help")[1]
