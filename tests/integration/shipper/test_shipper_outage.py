"""Integration: an Elasticsearch outage mid-stream, SIGKILL with durability="disk", pre-fork."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

from elasticsearch import Elasticsearch

from predwatch import devnode
from predwatch import es as es_mod
from predwatch.config import ESConfig
from predwatch.setup_es import setup_elasticsearch
from predwatch.shipper import Shipper, check_accounting
from tests.helpers.shipper_es import fast_shipper, landed_ids

OUTAGE_S = 30.0


class TestOutage:
    def test_node_down_30s_every_prediction_lands_once(self, tmp_path: Path) -> None:
        """A steady stream survives a 30 s stop/restart of the node: every id lands exactly once."""
        # Not under tmp_path: pytest keeps its temp root at mode 0700 (re-applied by every
        # pytest run), which the node's unprivileged user cannot traverse.
        home = Path(tempfile.mkdtemp(prefix="predwatch-shipper-outage-"))
        node = devnode.LocalNode(home=home, port=devnode.free_port())
        node.start()
        cfg = ESConfig(url=node.url)
        es = es_mod.client(cfg)
        setup_elasticsearch(es, cfg)  # the templates, as `predwatch setup` installs them
        model = "t_ship_outage"
        sh = fast_shipper(model, cfg, tmp_path / "spool", flush_interval=0.2)
        pids: list[str] = []
        slowest = [0.0]
        stop = threading.Event()

        def stream() -> None:  # ~200 predictions per second, like a busy endpoint
            i = 0
            while not stop.is_set():
                t0 = time.perf_counter()
                pids.append(sh.log_prediction({"i": i, "segment": "a"}, 0.5, latency_ms=1.0))
                slowest[0] = max(slowest[0], time.perf_counter() - t0)
                i += 1
                time.sleep(0.005)

        try:
            writer = threading.Thread(target=stream)
            writer.start()
            time.sleep(3)
            node.stop()
            time.sleep(OUTAGE_S)
            during = sh.stats()
            node.start()
            time.sleep(3)
            stop.set()
            writer.join()
            t0 = time.monotonic()
            assert sh.flush(120)
            print(f"flush after restart took {time.monotonic() - t0:.1f}s, {len(pids)} logged")
            ids = landed_ids(es, model)
            assert len(ids) == len(set(ids)) == len(pids)
            assert set(ids) == set(pids)
            assert during["pending"] > 0 and during["last_error"] and during["state"] == "error"
            st = sh.stats()
            assert st["acked"] + st["duplicates"] == len(pids)
            assert st["dropped_total"] == 0
            assert check_accounting(st) is None
            # The caller never waited for the outage (generous bound: one call, not 30 s).
            assert slowest[0] < 1.0
        finally:
            stop.set()
            sh.close(timeout=1)
            es.close()
            node.stop()
            shutil.rmtree(home, ignore_errors=True)


CHILD = textwrap.dedent(
    """
    import sys
    from predwatch.shipper import Shipper
    sh = Shipper(sys.argv[1], "1.0", es_url=sys.argv[2], spool_dir=sys.argv[3],
                 durability="disk", handle_sigterm=False)
    i = 0
    while True:
        pid = sh.log_prediction({"i": i}, 0.5)
        print(pid, flush=True)
        i += 1
    """
)


class TestSigkill:
    def test_disk_durability_survives_sigkill(
        self, es: Elasticsearch, es_config: ESConfig, model: str, spool_root: Path
    ) -> None:
        """SIGKILL mid-stream: a new process adopts the spool; every returned-for id lands."""
        dead_url = f"http://127.0.0.1:{devnode.free_port()}"
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, model, dead_url, str(spool_root)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        returned = [proc.stdout.readline().strip() for _ in range(300)]
        os.kill(proc.pid, signal.SIGKILL)
        rest = proc.stdout.read().split()  # lines printed before the kill landed
        proc.wait()
        returned += rest
        assert proc.returncode == -signal.SIGKILL
        sh = fast_shipper(model, es_config, spool_root)
        try:
            assert sh.flush(60)
            assert sh.stats()["adopted_spools"] == 1
            landed = set(landed_ids(es, model))
            assert set(returned) <= landed
        finally:
            sh.close()
        assert list(spool_root.iterdir()) == []  # adopted, delivered, removed


def _fork_worker(sh: Shipper, k: int, n: int, out: multiprocessing.Queue[list[str]]) -> None:
    out.put([sh.log_prediction({"worker": k, "i": i}, 0.5) for i in range(n)])


class TestPreFork:
    def test_forked_workers_deliver(
        self, es: Elasticsearch, es_config: ESConfig, model: str, spool_root: Path
    ) -> None:
        """A parent's shipper used by forked workers: all their predictions land once."""
        sh = fast_shipper(model, es_config, spool_root)
        try:
            pids = [sh.log_prediction({"parent": 1}, 0.5) for _ in range(10)]  # threads running
            ctx = multiprocessing.get_context("fork")
            q: multiprocessing.Queue[list[str]] = ctx.Queue()
            procs = [ctx.Process(target=_fork_worker, args=(sh, k, 50, q)) for k in range(3)]
            for p in procs:
                p.start()
            for _ in procs:
                pids += q.get(timeout=60)
            for p in procs:
                p.join(60)
                assert p.exitcode == 0
            pids += [sh.log_prediction({"parent": 2}, 0.5) for _ in range(10)]
            assert sh.flush(30)
            ids = landed_ids(es, model)
            assert len(ids) == len(set(ids)) == len(pids) == 170
            assert set(ids) == set(pids)
        finally:
            sh.close()
        assert not spool_root.exists() or list(spool_root.iterdir()) == []


RAW_FORK = textwrap.dedent(
    """
    import os, sys
    from predwatch.shipper import Shipper
    def out(pid):  # one write per line: print() writes the id and the newline separately,
        os.write(1, (pid + "\\n").encode())  # and three workers share the pipe
    sh = Shipper(sys.argv[1], "1.0", es_url=sys.argv[2], spool_dir=sys.argv[3], exit_timeout=30)
    out(sh.log_prediction({"parent": 1}, 0.5))
    children = []
    for k in range(3):  # like a pre-fork server: workers exit through sys.exit (atexit runs)
        pid = os.fork()
        if pid == 0:
            for i in range(30):
                out(sh.log_prediction({"worker": k, "i": i}, 0.5))
            sys.exit(0)
        children.append(pid)
    for pid in children:
        assert os.waitpid(pid, 0)[1] == 0
    out(sh.log_prediction({"parent": 2}, 0.5))
    """
)


class TestRawFork:
    def test_gunicorn_style_workers_deliver(
        self, es: Elasticsearch, es_config: ESConfig, model: str, spool_root: Path
    ) -> None:
        """Workers forked with os.fork that exit normally deliver everything they logged."""
        out = subprocess.run(
            [sys.executable, "-c", RAW_FORK, model, es_config.url, str(spool_root)],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        pids = out.stdout.split()
        assert len(pids) == 92
        ids = landed_ids(es, model)
        assert len(ids) == len(set(ids)) == 92
        assert set(ids) == set(pids)
