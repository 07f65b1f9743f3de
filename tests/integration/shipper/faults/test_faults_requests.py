"""Whole-request faults between the shipper and a real node: refused requests, throttling,
outages, blackholes, slow answers and cut responses (issue 11, cases 2, 4 and 5)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from predwatch.shipper import Shipper
from tests.helpers.faults.fault_proxy import FaultProxy
from tests.helpers.faults.faults_check import (
    assert_accounting,
    deliver_rest,
    pending,
    spool_dirs,
    wait_until,
)

MakeShipper = Callable[..., Shipper]


def log(sh: Shipper, n: int, tag: str = "") -> list[str]:
    return [sh.log_prediction({"i": i, "tag": tag}, 0.5) for i in range(n)]


def memory_holds_an_outage(
    es: Elasticsearch, proxy: FaultProxy, model: str, sh: Shipper, n: int
) -> None:
    """`sh` logs `n` records while connections are refused: after 3 s none is dropped and
    flush says not done; once the node is back, `deliver_rest`."""
    proxy.refuse()
    ids = log(sh, n)
    done = sh.flush(3)
    assert sh.stats()["dropped"] == {}
    assert not done
    proxy.pass_through()
    deliver_rest(es, model, sh, ids, records=n)


class TestRequestRefused:
    @pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
    def test_a_refused_request_keeps_its_records(
        self,
        es: Elasticsearch,
        proxy: FaultProxy,
        make_shipper: MakeShipper,
        model: str,
        status: int,
    ) -> None:
        """Every request answered `status`: nothing is dead-lettered or dropped, flush says
        not done, state is "error"; once the server accepts, every record lands once."""
        proxy.status(status)
        sh = make_shipper()
        ids = log(sh, 100)
        assert proxy.wait_hits("status", 3, 60)
        done = sh.flush(1)
        st = sh.stats()
        assert st["dead_lettered"] == 0 and st["dropped"] == {}
        assert pending(st) >= 100 and not done
        assert st["state"] == "error" and st["last_error"]
        assert "\n" not in st["last_error"]  # one line that says what to fix
        assert_accounting(st)
        proxy.pass_through()
        deliver_rest(es, model, sh, ids, records=100)


class TestThrottled:
    @pytest.mark.parametrize("status", [429, 503])
    def test_retry_after_is_honoured_and_nothing_is_lost(
        self,
        es: Elasticsearch,
        proxy: FaultProxy,
        make_shipper: MakeShipper,
        model: str,
        status: int,
    ) -> None:
        """Three `_bulk` requests answered `status` with Retry-After: 1, then accepted."""
        proxy.status(status, retry_after=1, times=3, paths=["/_bulk"])
        sh = make_shipper()
        ids = log(sh, 300)
        deliver_rest(es, model, sh, ids, records=300)
        assert proxy.hits("status") == 3


class TestOutage:
    def test_refused_connections_then_recovery(
        self,
        es: Elasticsearch,
        proxy: FaultProxy,
        make_shipper: MakeShipper,
        model: str,
        spool_root: Path,
    ) -> None:
        """Case 2: Elasticsearch down (connections refused) from the start, 3,000 records
        spilling past memory_bytes, three fresh shippers in turn: one spool directory per
        process, and after recovery every record lands once and no spool is left behind."""
        ids: list[str] = []
        for trial in range(3):
            proxy.refuse()
            # Memory comes first: a small memory_bytes makes the outage reach the spool.
            sh = make_shipper(spool_dir=spool_root / str(trial), memory_bytes=50_000)
            ids += log(sh, 3000, tag=f"t{trial}")
            assert wait_until(lambda sh=sh: sh.stats()["spool_pending_records"] > 0, 30)
            assert not sh.flush(1)
            assert len(spool_dirs(spool_root / str(trial))) == 1, spool_dirs(
                spool_root / str(trial)
            )
            assert_accounting(sh.stats())
            proxy.pass_through()
            # Every trial: this shipper's 3,000 and all earlier trials' records, once each.
            deliver_rest(es, model, sh, ids, records=3000, spool=spool_root / str(trial))

    def test_memory_holds_an_outage_when_the_spool_is_unusable(
        self,
        es: Elasticsearch,
        proxy: FaultProxy,
        make_shipper: MakeShipper,
        model: str,
        shared_tmp: Path,
    ) -> None:
        """Case 4: a 3 s outage with an unusable spool (a file where the directory should
        be): the records wait in memory (within memory_bytes) and all land afterwards."""
        blocker = shared_tmp / "not-a-dir"
        blocker.write_text("")
        memory_holds_an_outage(es, proxy, model, make_shipper(spool_dir=blocker / "spool"), 1000)

    def test_memory_first_with_a_small_spool_budget(
        self, es: Elasticsearch, proxy: FaultProxy, make_shipper: MakeShipper, model: str
    ) -> None:
        """Case 4: an outage with a 200 kB spool budget: 5,000 records fit in memory_bytes
        (32 MiB), so none is dropped for the budget."""
        memory_holds_an_outage(es, proxy, model, make_shipper(spool_budget=200_000), 5000)

    def test_blackhole_then_recovery(
        self, es: Elasticsearch, proxy: FaultProxy, make_shipper: MakeShipper, model: str
    ) -> None:
        """Requests that are never answered time out and are retried; nothing is lost."""
        sh = make_shipper()
        ids = log(sh, 200)
        proxy.blackhole(paths=["/_bulk"])
        ids += log(sh, 200, tag="b")
        assert proxy.wait_hits("blackhole", 1, 30)
        assert not sh.flush(1)
        proxy.pass_through()
        deliver_rest(es, model, sh, ids, records=400)

    def test_slow_answers(
        self, es: Elasticsearch, proxy: FaultProxy, make_shipper: MakeShipper, model: str
    ) -> None:
        """Every `_bulk` answered after 0.5 s: delivery is slower, nothing is lost."""
        proxy.delay(0.5, paths=["/_bulk"])
        sh = make_shipper()
        ids = log(sh, 2000)
        deliver_rest(es, model, sh, ids, records=2000)


class TestCutResponse:
    @pytest.mark.parametrize("durability", ["memory", "disk"])
    def test_cut_responses_are_retried_without_duplicates(
        self,
        es: Elasticsearch,
        proxy: FaultProxy,
        make_shipper: MakeShipper,
        model: str,
        durability: str,
    ) -> None:
        """Two `_bulk` answers cut mid-body (the node did index them): the records are
        sent again, counted as duplicates (op_type=create), and stored once."""
        proxy.cut(times=2)
        sh = make_shipper(batch_size=100, durability=durability)
        ids = log(sh, 500)
        st = deliver_rest(es, model, sh, ids, records=500)
        assert proxy.hits("cut") == 2
        assert st["duplicates"] > 0
