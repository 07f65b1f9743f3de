"""Integration: `predwatch spool replay` delivers the spool a dead process left behind."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner
from elasticsearch import Elasticsearch

from predwatch import devnode
from predwatch.config import ESConfig
from predwatch.shipper.cli import spool
from tests.helpers.shipper_es import landed_ids

CHILD = textwrap.dedent(
    """
    import os, sys
    from predwatch.shipper import Shipper
    sh = Shipper(sys.argv[1], "1", es_url=sys.argv[2], spool_dir=sys.argv[3], durability="disk")
    for i in range(40):
        print(sh.log_prediction({"i": i}, 0.5), flush=True)
    os._exit(0)  # no flush, no atexit: the records exist only in the spool
    """
)


class TestSpoolReplay:
    def test_replay_delivers_orphans(
        self, es: Elasticsearch, es_config: ESConfig, model: str, spool_root: Path
    ) -> None:
        """replay adopts the orphaned spool, delivers every record and removes it."""
        dead = f"http://127.0.0.1:{devnode.free_port()}"
        out = subprocess.run(
            [sys.executable, "-c", CHILD, model, dead, str(spool_root)],
            capture_output=True,
            text=True,
            check=True,
        )
        pids = out.stdout.split()
        assert len(pids) == 40
        res = CliRunner().invoke(
            spool,
            [
                "replay",
                "--spool-dir",
                str(spool_root),
                "--model",
                model,
                "--es-url",
                es_config.url,
                "--json",
            ],
        )
        assert res.exit_code == 0, res.output
        (row,) = json.loads(res.output)["replayed"]
        assert row["acked"] == 40 and row["remaining_records"] == 0 and row["delivered"]
        assert sorted(landed_ids(es, model)) == sorted(pids)
        assert list(spool_root.iterdir()) == []
