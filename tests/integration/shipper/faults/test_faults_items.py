"""Item-level `_bulk` verdicts injected by the proxy: refused items are dead-lettered,
throttled items are retried, conflicts count as duplicates (issue 11, Proof)."""

from __future__ import annotations

from collections.abc import Callable

from fault_proxy import FaultProxy, per_id
from faults_check import assert_accounting, assert_landed
from predwatch.shipper import Shipper

from elasticsearch import Elasticsearch


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
        assert sh.flush(60)
        st = sh.stats()
        assert st["dead_lettered"] == 10 and st["dropped"] == {}
        assert st["duplicates"] >= 10 and st["acked"] + st["duplicates"] == 290
        assert st["retried"] >= 20
        assert_accounting(st)
        assert_landed(es, model, [i for i in ids if i not in refused], dead=refused)
