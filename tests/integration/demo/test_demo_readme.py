"""The documented commands around the demo (docs/demo.md, docs/analyze.md and the other
pages), run against the demo's outputs and model.

Each test names the documented command it runs; the model name is the demo run's own (the
docs say `demo` or `credit`), and `retention` is limited to that model on a shared node.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from predwatch.cli import COMMANDS
from predwatch.config import ESConfig
from tests.helpers.demo_run import DemoRun, connection_args, predwatch_command

# Documented commands whose registration in predwatch.cli may still be pending.
MODULES = {
    "analyze": "predwatch.analyzers.analyze_cli:analyze",
    "spool": "predwatch.shipper.cli:spool",
}


def command(*args: str) -> list[str]:
    """`predwatch <args>`, or the command's click object directly when not registered yet."""
    if args[0] in COMMANDS or args[0] not in MODULES:
        return [*predwatch_command(), *args]
    module, attr = MODULES[args[0]].split(":")
    code = f"from {module} import {attr}; {attr}(prog_name='predwatch {args[0]}')"
    return [sys.executable, "-c", code, *args[1:]]


def run(
    cfg: ESConfig | None, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    conn = connection_args(cfg) if cfg is not None else []
    return subprocess.run(
        [*command(*args), *conn], capture_output=True, text=True, timeout=300, cwd=cwd, check=False
    )


class TestReadmeCommands:
    def test_analyze_the_week_as_html(
        self, demo_run: DemoRun, es_config: ESConfig, tmp_path: Path
    ) -> None:
        """`predwatch analyze --model demo --baseline .../baseline.json --window 7d --format html
        --output week.html`: the week drifted (exit 1), the report has its plots."""
        out = run(es_config, "analyze", "--model", demo_run.model, "--baseline",
                  str(demo_run.output / "baseline.json"), "--window", "7d", "--format", "html",
                  "--output", str(tmp_path / "week.html"))  # fmt: skip
        assert out.returncode == 1, out.stderr
        html = (tmp_path / "week.html").read_text()
        assert "<svg" in html and demo_run.model in html

    def test_alerts_check_with_the_demo_rules(self, demo_run: DemoRun, es_config: ESConfig) -> None:
        """`predwatch alerts check --rules predwatch-demo-output/rules.yaml`: rules fire (1)."""
        out = run(es_config, "alerts", "check", "--rules", str(demo_run.output / "rules.yaml"))
        assert out.returncode == 1, out.stderr
        assert "version_change" in out.stdout and "latency_p95" in out.stdout

    def test_alerts_check_every(self, demo_run: DemoRun, es_config: ESConfig) -> None:
        """`predwatch alerts check --rules credit.rules.yaml --every 1m` (one round here)."""
        rules = str(demo_run.output / "rules.yaml")
        out = run(es_config, "alerts", "check", "--rules", rules, "--every", "1m", "--rounds", "1")
        assert out.returncode == 0, out.stderr
        assert "version_change" in out.stdout

    def test_analyze_for_cron_and_kubernetes(self, demo_run: DemoRun, es_config: ESConfig) -> None:
        """`predwatch analyze --model credit --window 15m --json` (the cron line and the
        CronJob's args): one JSON document, exit 0 or 1."""
        out = run(es_config, "analyze", "--model", demo_run.model, "--window", "15m", "--json")
        assert out.returncode in (0, 1), out.stderr
        assert json.loads(out.stdout)["model"] == demo_run.model

    def test_analyze_every_until_interrupted(self, demo_run: DemoRun, es_config: ESConfig) -> None:
        """`predwatch analyze --model credit --window 15m --every 15m --json` runs until Ctrl-C."""
        proc = subprocess.Popen(
            [*command("analyze", "--model", demo_run.model, "--window", "15m", "--every", "15m",
                      "--json"), *connection_args(es_config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # Ctrl-C as in a terminal: a parent started in the background (`cmd &` without job
            # control) ignores SIGINT, children inherit that, and Python then installs no
            # KeyboardInterrupt handler.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()  # the first run's JSON line
            assert json.loads(first)["model"] == demo_run.model
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err
        # (the count may still read 0 when Ctrl-C lands right after the first run's output)
        assert "stopped after" in err

    def test_setup_with_the_baseline(self, demo_run: DemoRun, es_config: ESConfig) -> None:
        """`predwatch setup elasticsearch --baseline baseline.json` after the demo: unchanged."""
        out = run(es_config, "setup", "elasticsearch", "--baseline",
                  str(demo_run.output / "baseline.json"))  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert "no changes" in out.stdout

    def test_spool_commands(self, demo_run: DemoRun, es_config: ESConfig) -> None:
        """`predwatch spool status --model credit` and `predwatch spool replay --model credit`:
        nothing left behind by the demo's shippers."""
        status = run(None, "spool", "status", "--model", demo_run.model)
        assert status.returncode == 0, status.stderr
        replay = run(es_config, "spool", "replay", "--model", demo_run.model)
        assert replay.returncode == 0, replay.stderr

    def test_retention(self, demo_run: DemoRun, es_config: ESConfig) -> None:
        """`predwatch retention --days 30 --dry-run` then `predwatch retention --days 30`:
        the demo week is younger than 30 days, so nothing goes."""
        dry = run(es_config, "retention", "--days", "30", "--dry-run", "--model", demo_run.model)
        assert dry.returncode == 0 and "nothing older than 30 days" in dry.stdout, dry.stderr
        real = run(es_config, "retention", "--days", "30", "--model", demo_run.model)
        assert real.returncode == 0 and "nothing older than 30 days" in real.stdout, real.stderr
