"""Unit tests of process lifecycle (no Elasticsearch: the URL points where nothing listens):
SIGTERM and interpreter exit keep undelivered records on disk; the CLI shows them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner

from predwatch import devnode
from predwatch.shipper.cli import spool
from tests.helpers.spool import spooled

CHILD = textwrap.dedent(
    """
    import sys, time
    from predwatch.shipper import Shipper
    sh = Shipper("credit", "1", es_url=sys.argv[1], spool_dir=sys.argv[2], exit_timeout=0.5)
    for i in range(100):
        sh.log_prediction({"i": i}, 0.5)
    print("logged", flush=True)
    if sys.argv[3] == "wait":
        time.sleep(60)
    """
)


def run_child(tmp_path: Path, mode: str) -> subprocess.Popen[str]:
    dead = f"http://127.0.0.1:{devnode.free_port()}"
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, dead, str(tmp_path), mode],
        stdout=subprocess.PIPE,
        text=True,
    )


class TestExit:
    def test_sigterm_keeps_records_on_disk(self, tmp_path: Path) -> None:
        """SIGTERM with the default action: records go to the spool and the process still
        ends as killed by SIGTERM."""
        proc = run_child(tmp_path, "wait")
        assert proc.stdout is not None and proc.stdout.readline().strip() == "logged"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == -signal.SIGTERM
        assert spooled(tmp_path) == 100

    def test_interpreter_exit_keeps_records_on_disk(self, tmp_path: Path) -> None:
        """A normal exit flushes within exit_timeout, then spools the rest."""
        proc = run_child(tmp_path, "exit")
        assert proc.wait(timeout=30) == 0
        assert spooled(tmp_path) == 100


class TestSpoolStatus:
    def test_status_json(self, tmp_path: Path) -> None:
        """`spool status --json` lists the orphaned directory with its record count."""
        assert run_child(tmp_path, "exit").wait(timeout=30) == 0
        res = CliRunner().invoke(spool, ["status", "--spool-dir", str(tmp_path), "--json"])
        assert res.exit_code == 0, res.output
        data = json.loads(res.output)
        assert data["pending_records"] == 100
        (row,) = data["spools"]
        assert row["owner_alive"] is False and row["disk_bytes"] > 0

    def test_status_text_empty(self, tmp_path: Path) -> None:
        """With nothing spooled the text output says so."""
        res = CliRunner().invoke(spool, ["status", "--spool-dir", str(tmp_path)])
        assert res.exit_code == 0 and "no spooled records" in res.output

    def test_replay_unreachable(self, tmp_path: Path) -> None:
        """Replay against an unreachable node exits 2 with one clear error; records stay."""
        assert run_child(tmp_path, "exit").wait(timeout=30) == 0
        dead = f"http://127.0.0.1:{devnode.free_port()}"
        res = CliRunner().invoke(
            spool, ["replay", "--spool-dir", str(tmp_path), "--es-url", dead, "--timeout", "1"]
        )
        assert res.exit_code == 2, res.output
        assert "could not be reached" in res.output
        assert spooled(tmp_path) == 100

    def test_replay_unreachable_before_first_attempt(self, tmp_path: Path) -> None:
        """A timeout that runs out before the first request still says unreachable (exit 2)."""
        assert run_child(tmp_path, "exit").wait(timeout=30) == 0
        dead = f"http://127.0.0.1:{devnode.free_port()}"
        res = CliRunner().invoke(
            spool, ["replay", "--spool-dir", str(tmp_path), "--es-url", dead, "--timeout", "0"]
        )
        assert res.exit_code == 2, res.output
        assert "could not be reached" in res.output
        assert spooled(tmp_path) == 100
