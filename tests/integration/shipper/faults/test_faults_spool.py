"""The spool and durability options against a healthy node: the budget counts what is
unsent, an unwritable spool is refused up front, flush waits for the deployment document
(issue 11, cases 1, 3 and 10)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from predwatch.config import ESConfig
from predwatch.shipper import Shipper
from tests.helpers.faults.faults_check import Producer, assert_accounting, deliver_rest
from tests.helpers.shipper_es import fast_shipper

MakeShipper = Callable[..., Shipper]


def log_from_threads(
    sh: Shipper, threads: int, each: int
) -> tuple[list[str], list[threading.Thread]]:
    ids: list[str] = []
    mu = threading.Lock()

    def run(k: int) -> None:
        mine = [
            sh.log_prediction({"thread": k, "i": i, "pad": "x" * 200}, 0.5) for i in range(each)
        ]
        with mu:
            ids.extend(mine)

    ts = [threading.Thread(target=run, args=(k,), daemon=True) for k in range(threads)]
    for t in ts:
        t.start()
    return ids, ts


class TestSpoolBudget:
    def test_a_healthy_cluster_never_drops_for_the_budget(
        self, es: Elasticsearch, make_shipper: MakeShipper, model: str
    ) -> None:
        """Case 1: durability="disk", spool_budget=1,000,000, healthy node: 5,000 of 5,000
        land (acknowledged bytes do not count against the budget)."""
        sh = make_shipper(durability="disk", spool_budget=1_000_000)
        ids, threads = log_from_threads(sh, 4, 1250)
        for t in threads:
            t.join(300)
        deliver_rest(es, model, sh, ids, records=5000)

    def test_block_policy_with_a_small_budget_does_not_block_forever(
        self, es: Elasticsearch, make_shipper: MakeShipper, model: str
    ) -> None:
        """Case 1: spool_policy="block", a 50 kB budget, healthy node: 200 callers' records
        are all written and delivered within a generous bound (today: 5 s per call)."""
        sh = make_shipper(durability="disk", spool_budget=50_000, spool_policy="block")
        ids, threads = log_from_threads(sh, 4, 50)
        deadline = time.monotonic() + 60
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        stuck = sum(t.is_alive() for t in threads)
        assert stuck == 0, f"{stuck} of 4 logging threads still blocked after 60 s"
        deliver_rest(es, model, sh, ids)


def unprivileged() -> list[str]:
    """A command prefix under which a 0555 directory is really unwritable (root: without
    the capabilities that bypass file permissions)."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv (util-linux): cannot make a dir unwritable")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


def unwritable_dir(parent: Path) -> Path:
    """A new directory of mode 0555 under `parent`."""
    ro = parent / "ro"
    ro.mkdir(mode=0o555)
    ro.chmod(0o555)  # whatever the umask
    return ro


def unprivileged_producer(model: str, es_config: ESConfig, spool: Path, **kwargs: Any) -> Producer:
    """A `Producer` on `spool` that cannot write where permissions forbid it (see
    `unprivileged`)."""
    return Producer(
        model, wrapper=unprivileged(), es_url=es_config.url, spool_dir=str(spool), **kwargs
    )


class TestUnwritableSpool:
    def test_disk_durability_refuses_an_unwritable_spool_up_front(
        self, es_config: ESConfig, model: str, shared_tmp: Path
    ) -> None:
        """Case 3: durability="disk" with an existing, unwritable spool directory: the
        constructor raises a ConfigError naming the directory."""
        ro = unwritable_dir(shared_tmp)
        with unprivileged_producer(model, es_config, ro, durability="disk") as p:
            assert "error" in p.hello, p.hello
            assert str(ro) in p.hello["error"]

    def test_memory_durability_delivers_with_an_unwritable_spool(
        self, es: Elasticsearch, es_config: ESConfig, model: str, shared_tmp: Path
    ) -> None:
        """Case 3: durability="memory", unwritable spool, healthy node: 200 of 200 land."""
        ro = unwritable_dir(shared_tmp)
        with unprivileged_producer(model, es_config, ro, flush_interval=0.05) as p:
            deliver_rest(es, model, p, p.log(200), records=200)


class TestDeploymentRace:
    @pytest.mark.parametrize("durability", ["memory", "disk"])
    def test_flush_includes_the_deployment_document(
        self, es_config: ESConfig, model: str, spool_root: Path, durability: str
    ) -> None:
        """Case 10: ten shippers in a row: once flush() returns True, the deployment
        document is settled (never "pending")."""
        states = []
        for _ in range(10):
            sh = fast_shipper(model, es_config, spool_root, durability=durability)
            try:
                for i in range(3):
                    sh.log_prediction({"i": i}, 0.5)
                assert sh.flush(30)
                states.append(sh.stats()["deployment"])
                assert_accounting(sh.stats())
            finally:
                sh.close(5)
        assert "pending" not in states, states
