"""Processes dying around the shipper: the node SIGKILLed and restarted mid-stream, the
producer SIGKILLed with records in its spool, a fork after start, exit without close()."""

from __future__ import annotations

import signal
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from predwatch import es as es_mod
from predwatch.config import ESConfig
from predwatch.shipper import Shipper
from tests.helpers.faults.fault_proxy import FaultProxy
from tests.helpers.faults.faults_check import (
    KillableNode,
    Producer,
    assert_accounting,
    assert_landed,
    deliver_rest,
    spool_dirs,
    wait_until,
)
from tests.helpers.shipper_es import delete_deadletters, delete_model_indices, fast_shipper


def next_process_delivers(
    es: Elasticsearch, via_proxy: ESConfig, model: str, root: Path, ids: list[str]
) -> dict[str, Any]:
    """A new process on the spool `root` delivers what is left there (`deliver_rest`)."""
    with Producer(model, es_url=via_proxy.url, spool_dir=str(root), flush_interval=0.05) as nxt:
        return deliver_rest(es, model, nxt, ids, spool=root)


@pytest.fixture
def node_es(killable_node: KillableNode) -> Iterator[Elasticsearch]:
    client = es_mod.client(ESConfig(url=killable_node.url))
    yield client
    client.close()


class Stream:
    """Logs predictions from a thread until stopped; keeps every returned id."""

    def __init__(self, sh: Shipper, pause: float) -> None:
        self.sh, self.pause = sh, pause
        self.ids: list[str] = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            self.ids.append(self.sh.log_prediction({"i": i}, 0.5))
            i += 1
            self._stop.wait(self.pause)

    def stop(self) -> list[str]:
        self._stop.set()
        self._t.join(60)
        return self.ids


class TestNodeKilled:
    def test_node_sigkilled_and_restarted_mid_stream(
        self,
        killable_node: KillableNode,
        node_es: Elasticsearch,
        spool_root: Path,
    ) -> None:
        """The node is SIGKILLed while a memory and a disk shipper stream, and restarted:
        every id of both lands exactly once, and both accountings hold."""
        models = {d: f"t_ship_kill_{d}_{uuid.uuid4().hex[:6]}" for d in ("memory", "disk")}
        cfg = ESConfig(url=killable_node.url, request_timeout=5)
        shippers = {
            d: fast_shipper(m, cfg, spool_root / d, durability=d) for d, m in models.items()
        }
        try:
            streams = {d: Stream(sh, 0.004) for d, sh in shippers.items()}
            assert wait_until(
                lambda: all(sh.stats()["acked"] > 100 for sh in shippers.values()), 60
            )
            killable_node.kill()
            assert wait_until(
                lambda: all(sh.stats()["failed_requests"] for sh in shippers.values()), 30
            )
            before = {d: sh.stats()["acked"] for d, sh in shippers.items()}
            killable_node.start()
            # Delivery resumes while the streams go on (then they stop).
            assert wait_until(
                lambda: all(sh.stats()["acked"] > before[d] for d, sh in shippers.items()), 120
            )
            ids = {d: st.stop() for d, st in streams.items()}
            for d, sh in shippers.items():
                assert sh.flush(120), d
                st = sh.stats()
                assert st["dropped"] == {} and st["dead_lettered"] == 0, (d, st)
                assert_accounting(st)
            for d, m in models.items():
                assert_landed(node_es, m, ids[d])
        finally:
            for sh in shippers.values():
                sh.close(1)
            for m in models.values():
                delete_model_indices(node_es, m)


class TestProducerKilled:
    def test_sigkilled_producer_spool_is_adopted_by_a_new_process(
        self,
        es: Elasticsearch,
        proxy: FaultProxy,
        via_proxy: ESConfig,
        model: str,
        shared_tmp: Path,
    ) -> None:
        """durability="disk", node unreachable, the producer SIGKILLed after 300 returned
        calls: a new process adopts its spool and every returned id lands exactly once."""
        root = shared_tmp / "spool"
        proxy.refuse()
        with Producer(
            model, es_url=via_proxy.url, spool_dir=str(root), durability="disk", flush_interval=0.05
        ) as dead:
            ids = dead.log(300)
        assert dead.proc.returncode == -9
        assert spool_dirs(root), "nothing was spooled"
        proxy.pass_through()
        st = next_process_delivers(es, via_proxy, model, root, ids)
        assert st["adopted_spools"] == 1


class TestFork:
    def test_fork_after_start(
        self,
        es: Elasticsearch,
        proxy: FaultProxy,
        via_proxy: ESConfig,
        model: str,
        shared_tmp: Path,
    ) -> None:
        """A parent spools 200 records during an outage and forks; the child ships its own
        50 records (its own accounting) and exits; the parent's spool is not lost: all 250
        land once."""
        root = shared_tmp / "spool"
        proxy.refuse()
        parent = Producer(
            model,
            es_url=via_proxy.url,
            spool_dir=str(root),
            memory_bytes=20_000,
            flush_interval=0.05,
            exit_timeout=20,
        )
        with parent:
            ids = parent.log(200)
            assert wait_until(lambda: parent.stats()["spool_pending_records"] > 0, 30)
            proxy.pass_through()
            out = parent.call("fork", n=50, out=str(shared_tmp / "child.json"))
            assert out["status"] == 0
            child = out["child"]
            assert child["flushed"] and child["stats"]["acked"] == 50
            assert_accounting(child["stats"])
            ids += child["ids"]
            deliver_rest(es, model, parent, ids, spool=root)


class TestExitWithoutClose:
    def test_atexit_delivers_when_the_node_answers(
        self, es: Elasticsearch, via_proxy: ESConfig, model: str, shared_tmp: Path
    ) -> None:
        """A process that logs 300 records and exits without close(): atexit delivers all."""
        with Producer(
            model, es_url=via_proxy.url, spool_dir=str(shared_tmp / "spool"), exit_timeout=30
        ) as p:
            ids = p.log(300)
            st = p.exit_without_close()
        assert st["pending"] == 0 and st["dropped"] == {}
        assert_accounting(st)
        assert_landed(es, model, ids)

    def test_the_rest_stays_on_disk_for_the_next_process(
        self,
        es: Elasticsearch,
        proxy: FaultProxy,
        via_proxy: ESConfig,
        model: str,
        shared_tmp: Path,
    ) -> None:
        """Node unreachable at exit: atexit puts the 300 records on disk; the next process
        replays them, each exactly once."""
        root = shared_tmp / "spool"
        proxy.refuse()
        with Producer(model, es_url=via_proxy.url, spool_dir=str(root), exit_timeout=1) as p:
            ids = p.log(300)
            st = p.exit_without_close()
        assert st["dropped"] == {} and st["spool_pending_records"] == 300
        assert_accounting(st)
        assert spool_dirs(root), "the exit left nothing on disk"
        proxy.pass_through()
        next_process_delivers(es, via_proxy, model, root, ids)


@pytest.fixture(autouse=True)
def _no_dead_letters_left(es: Elasticsearch, model: str) -> Iterator[None]:
    yield
    delete_deadletters(es, model)


class TestExitDuringFaults:
    def test_exit_while_a_request_hangs(
        self,
        es: Elasticsearch,
        proxy: FaultProxy,
        via_proxy: ESConfig,
        model: str,
        shared_tmp: Path,
    ) -> None:
        """Exit without close() while a `_bulk` request is blackholed: the process still
        ends, what was not acknowledged is on disk, and the next process delivers each
        record exactly once."""
        root = shared_tmp / "spool"
        proxy.blackhole(paths=["/_bulk"])
        with Producer(model, es_url=via_proxy.url, spool_dir=str(root), exit_timeout=1) as p:
            ids = p.log(300)
            assert proxy.wait_hits("blackhole", 1, 30)
            st = p.exit_without_close()
        assert st["dropped"] == {}
        assert_accounting(st)
        proxy.pass_through()
        next_process_delivers(es, via_proxy, model, root, ids)

    def test_sigterm_during_an_outage(
        self,
        es: Elasticsearch,
        proxy: FaultProxy,
        via_proxy: ESConfig,
        model: str,
        shared_tmp: Path,
    ) -> None:
        """SIGTERM (default action) while the node is unreachable: the process ends as
        killed by SIGTERM with its records on disk; the next process delivers them once."""
        root = shared_tmp / "spool"
        proxy.refuse()
        with Producer(
            model, es_url=via_proxy.url, spool_dir=str(root), exit_timeout=1, handle_sigterm=True
        ) as p:
            ids = p.log(300)
            p.proc.send_signal(signal.SIGTERM)
            assert p.wait(60) == -signal.SIGTERM
        assert spool_dirs(root), "SIGTERM left nothing on disk"
        proxy.pass_through()
        next_process_delivers(es, via_proxy, model, root, ids)
