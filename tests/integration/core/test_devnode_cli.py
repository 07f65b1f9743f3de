"""Integration test of `predwatch es start|status|stop` on a fresh node."""

from __future__ import annotations

import json
import shutil

from click.testing import CliRunner

from predwatch import devnode
from predwatch.cli import main


class TestLocalNodeCli:
    def test_cycle(self) -> None:
        """start -> status --json -> start again (says so) -> stop -> not running."""
        home = devnode.temporary_home("cli")
        port = str(devnode.free_port())
        common = ["--home", str(home), "--port", port]
        r = CliRunner()
        started = r.invoke(main, ["es", "start", *common, "--heap", "512m"])
        try:
            assert started.exit_code == 0, started.output
            status = json.loads(r.invoke(main, ["es", "status", *common, "--json"]).output)
            assert status["running"] is True
            assert status["url"] == f"http://127.0.0.1:{port}"
            assert isinstance(status["pid"], int)
            assert status["version"] == devnode.DEFAULT_VERSION
            again = r.invoke(main, ["es", "start", *common])
            assert again.exit_code == 0
            assert "already running" in again.output
        finally:
            stopped = r.invoke(main, ["es", "stop", *common])
        assert stopped.exit_code == 0
        assert "stopped pid" in stopped.output
        after = json.loads(r.invoke(main, ["es", "status", *common, "--json"]).output)
        shutil.rmtree(home, ignore_errors=True)
        assert after == {**after, "running": False, "pid": None}
