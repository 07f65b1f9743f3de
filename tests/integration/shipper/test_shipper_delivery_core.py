"""Integration (real node): request-level refusals keep the records, the spool budget
counts unsent bytes, memory holds an outage, and the accounting identity balances."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from predwatch.config import ESConfig
from predwatch.shipper import ElasticsearchSink, check_accounting
from tests.helpers.shipper_es import Shippers, deadletters, landed_ids

# Headers of a client speaking a major version the server does not support: Elasticsearch
# answers every request with 400 "Invalid media-type value on headers [...]", like an
# 8.19 server talking to a 9.x client.
WRONG_HEADERS = {
    "content-type": "application/vnd.elasticsearch+x-ndjson; compatible-with=6",
    "accept": "application/vnd.elasticsearch+json; compatible-with=6",
}


class SwitchableSink(ElasticsearchSink):
    """The real sink, sending the wrong media type while `wrong` is set."""

    wrong = True

    @property
    def headers(self) -> dict[str, str]:
        return WRONG_HEADERS if self.wrong else super().headers


@pytest.fixture
def make(es_config: ESConfig, model: str, spool_root: Path) -> Iterator[Any]:
    shippers = Shippers(model, es_config, spool_root)
    yield shippers
    shippers.close()


def _once(es: Elasticsearch, model: str, pids: list[str]) -> None:
    ids = landed_ids(es, model)
    assert len(ids) == len(set(ids)) and set(ids) == set(pids)


class TestRequestRefused:
    def test_media_type_refusal_keeps_every_record(
        self, es: Elasticsearch, es_config: ESConfig, make: Any, model: str
    ) -> None:
        """The node refusing every request (400 Invalid media-type) dead-letters and drops
        nothing; flush() is False, the state says what to fix; all land once it accepts."""
        sink = SwitchableSink(es_config)
        sh = make(sink=lambda: sink)
        pids = [sh.log_prediction({"i": i}, 0.5) for i in range(100)]
        assert not sh.flush(2)
        st = sh.stats()
        assert st["state"] == "error" and "media-type" in st["last_error"]
        assert "client of the server's major version" in st["last_error"]
        assert st["dropped_total"] == 0 and st["dead_lettered"] == 0 and st["pending"] == 100
        assert check_accounting(st) is None
        assert deadletters(es, pids) == []
        sink.wrong = False
        assert sh.flush(30)
        _once(es, model, pids)
        st = sh.stats()
        assert st["acked"] == 100 and st["state"] == "ok" and check_accounting(st) is None

    def test_memory_holds_the_outage_without_a_spool(
        self, es: Elasticsearch, es_config: ESConfig, make: Any, model: str, tmp_path: Path
    ) -> None:
        """With an unwritable spool, records refused during the outage wait in memory and
        all land afterwards: none dropped."""
        (tmp_path / "file").write_text("")
        sink = SwitchableSink(es_config)
        sh = make(sink=lambda: sink, spool_dir=tmp_path / "file" / "spool")
        pids = [sh.log_prediction({"i": i}, 0.5) for i in range(1000)]
        assert not sh.flush(2)
        st = sh.stats()
        assert st["pending"] == 1000 and st["spooled_records"] == 0 and st["dropped_total"] == 0
        sink.wrong = False
        assert sh.flush(30)
        _once(es, model, pids)
        assert check_accounting(sh.stats()) is None


class TestSpoolBudget:
    @pytest.mark.parametrize("policy", ["drop_newest", "block"])
    def test_healthy_node_small_budget_drops_nothing(
        self, es: Elasticsearch, make: Any, model: str, policy: str
    ) -> None:
        """durability="disk" with a 50 kB budget and a healthy node: every record lands,
        none dropped, no caller held to the durability timeout."""
        sh = make(durability="disk", spool_budget=50_000, spool_policy=policy, batch_size=100)
        out: list[list[str]] = [[] for _ in range(4)]

        def work(k: int) -> None:
            out[k] = [sh.log_prediction({"k": k, "i": i, "pad": "p" * 200}, 1) for i in range(500)]

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sh.flush(60)
        st = sh.stats()
        assert st["dropped_total"] == 0 and st["durability_timeouts"] == 0
        assert st["spooled_bytes"] > 50_000 and check_accounting(st) is None
        _once(es, model, [p for part in out for p in part])
