"""Item-level `_bulk` verdicts injected by the proxy: refused items are dead-lettered,
throttled items are retried, conflicts count as duplicates (issue 11, Proof)."""

from __future__ import annotations

from collections.abc import Callable

from elasticsearch import Elasticsearch

from predwatch import schema as s
from predwatch.shipper import Shipper
from tests.helpers.faults.fault_proxy import FaultProxy, per_id
from tests.helpers.faults.faults_check import assert_accounting, deliver_rest, wait_until

DEADLETTER = s.index_name("deadletter")


class TestItemVerdicts:
    def test_refused_throttled_and_conflicting_items(
        self,
        es: Elasticsearch,
        proxy: FaultProxy,
        make_shipper: Callable[..., Shipper],
        model: str,
    ) -> None:
        """Of 300 records: 10 refused (400 mapper_parsing) go to the dead-letter index, 10
        throttled twice (429) land later, 10 answered 409 are stored once; the rest land."""
        ids = [f"{model}-{i:04d}" for i in range(300)]
        refused, throttled, conflict = ids[5:15], ids[100:110], ids[200:210]
        plan = {i: [400] for i in refused}
        plan |= {i: [429, 429] for i in throttled}
        plan |= {i: [409] for i in conflict}
        proxy.items(per_id(plan))
        sh = make_shipper(batch_size=50)
        for n, pid in enumerate(ids):
            sh.log_prediction({"i": n}, 0.5, prediction_id=pid)
        rest = [i for i in ids if i not in refused]
        st = deliver_rest(es, model, sh, rest, records=290, dead=refused)
        assert st["duplicates"] >= 10
        assert st["retried"] >= 20

    def test_a_refused_dead_letter_request_keeps_the_dead_letters(
        self,
        es: Elasticsearch,
        proxy: FaultProxy,
        make_shipper: Callable[..., Shipper],
        model: str,
    ) -> None:
        """Case 5: 5 of 50 items refused (400), and every request carrying their dead
        letters refused as a whole (400): nothing is dropped or counted dead-lettered, flush
        says not done; once accepted, the 5 are in the dead-letter index, the rest land."""
        ids = [f"{model}-{i:03d}" for i in range(50)]
        refused = ids[10:15]
        proxy.items(per_id({i: [400] for i in refused}), refuse_index=DEADLETTER, status=400)
        sh = make_shipper()
        for n, pid in enumerate(ids):
            sh.log_prediction({"i": n}, 0.5, prediction_id=pid)
        assert wait_until(lambda: sh.stats()["failed_requests"] >= 2, 60)
        done = sh.flush(1)
        st = sh.stats()
        assert st["dropped"] == {} and st["dead_lettered"] == 0
        a = st["accounting"]
        internal_pending = a["internal"] - a["internal_done"]  # the deployment document
        assert st["pending"] - internal_pending == 5 and not done
        assert_accounting(st)
        proxy.pass_through()
        deliver_rest(es, model, sh, [i for i in ids if i not in refused], dead=refused)
