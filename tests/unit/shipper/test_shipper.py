"""Unit tests of the Shipper with a fake sink: delivery, outages, dead letters, durability."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from predwatch.baseline import BaselineError
from predwatch.errors import ConfigError
from predwatch.shipper import ItemResult, Shipper, check_accounting
from predwatch.shipper._documents import DocBuilder
from tests.helpers.shipper_fakes import FakeSink


@pytest.fixture
def make(tmp_path: Path, sink: FakeSink) -> Iterator[Any]:
    made: list[Shipper] = []

    def factory(**kw: Any) -> Shipper:
        kw.setdefault("spool_dir", tmp_path / "spool")
        kw.setdefault("flush_interval", 0.05)
        kw.setdefault("handle_sigterm", False)
        kw.setdefault("es_url", "http://127.0.0.1:1")
        target = kw.pop("sink_obj", sink)
        s = Shipper("credit", "3.1.0", sink=lambda: target, **kw)
        made.append(s)
        return s

    yield factory
    for s in made:
        s.close(timeout=0.1)


def ids_of(docs: list[dict[str, Any]]) -> list[str]:
    return sorted(d["prediction_id"] for d in docs)


class TestDelivery:
    def test_all_delivered(self, make: Any, sink: FakeSink) -> None:
        """Every logged prediction is delivered once and counted."""
        sh = make(batch_size=7)
        pids = [sh.log_prediction({"age": i}, prediction=0.5) for i in range(50)]
        assert sh.flush(5)
        assert ids_of(sink.predictions()) == sorted(pids)
        st = sh.stats()
        assert st["enqueued"] == 50 and st["acked"] == 50 and st["dropped_total"] == 0
        assert st["queue_depth"] == 0 and st["state"] == "ok"

    def test_caller_id_and_outcome(self, make: Any, sink: FakeSink) -> None:
        """A caller's id is the document id; an outcome joins it by that id."""
        sh = make()
        assert sh.log_prediction({"a": 1}, 1, prediction_id="req-42") == "req-42"
        assert sh.log_prediction({"a": 1}, 1, prediction_id=7) == "7"
        assert sh.log_outcome("req-42", actual=1)
        assert not sh.log_outcome("", actual=1)
        assert sh.flush(5)
        outcomes = sink.index_docs("predwatch-outcomes-credit-")
        assert [o["prediction_id"] for o in outcomes] == ["req-42"]

    def test_duplicates_are_ok(self, make: Any, sink: FakeSink) -> None:
        """Logging the same id twice yields one document and one counted duplicate."""
        sh = make()
        sh.log_prediction({}, 1, prediction_id="same")
        sh.log_prediction({}, 1, prediction_id="same")
        assert sh.flush(5)
        assert len(sink.predictions()) == 1
        assert sh.stats()["duplicates"] == 1

    def test_snapshot_is_shallow_copy(self, make: Any, sink: FakeSink) -> None:
        """Changing the caller's dict after logging does not change the document."""
        sh = make()
        inputs = {"age": 1}
        sh.log_prediction(inputs, 1)
        inputs["age"] = 2
        assert sh.flush(5)
        assert sink.predictions()[0]["inputs"] == {"age": 1}


class TestNeverRaises:
    def test_broken_inputs(self, make: Any, sink: FakeSink) -> None:
        """Inputs that fail to copy or serialise still give an id and a flagged document."""

        class Broken(Mapping[str, Any]):
            def __getitem__(self, k: str) -> Any:
                raise RuntimeError("boom")

            def __iter__(self) -> Iterator[str]:
                raise RuntimeError("boom")

            def __len__(self) -> int:
                return 1

        sh = make()
        pid = sh.log_prediction(Broken(), prediction=object())  # type: ignore[arg-type]
        pid2 = sh.log_prediction(42, prediction=float("nan"))  # type: ignore[arg-type]
        assert pid and pid2
        assert sh.flush(5)
        docs = {d["prediction_id"]: d for d in sink.predictions()}
        assert docs[pid]["monitor"]["truncated"] == 1
        assert docs[pid2]["monitor"]["nonfinite"] == 1

    def test_encoder_bug_salvaged(self, make: Any, sink: FakeSink, monkeypatch: Any) -> None:
        """If building a document fails, the record ships in salvaged form."""
        real = DocBuilder.encode
        calls = {"n": 0}

        def flaky(self: DocBuilder, rec: Any) -> bytes:
            calls["n"] += 1
            if calls["n"] == 1:
                raise RuntimeError("bug")
            return real(self, rec)

        monkeypatch.setattr(DocBuilder, "encode", flaky)
        sh = make()
        sh.log_prediction({"a": 1}, 1)
        assert sh.flush(5)
        assert sink.predictions()[0]["inputs"] == {"_value": "{'a': 1}"}


class TestOutage:
    def test_spill_and_replay(self, make: Any, sink: FakeSink, caplog: Any) -> None:
        """While the sink is down what memory cannot hold goes to disk; the error is logged
        once; all land later."""
        caplog.set_level(logging.WARNING, logger="predwatch.shipper")
        sink.down = "connection"
        sh = make(batch_size=10, memory_bytes=5000)
        pids = [sh.log_prediction({"i": i}, 1) for i in range(100)]
        assert not sh.flush(0.5)
        st = sh.stats()
        assert st["spooled_records"] > 0 and st["last_error"]
        assert st["spool_pending_records"] + st["queue_depth"] > 0
        pids += [sh.log_prediction({"i": i}, 1) for i in range(100, 150)]
        sink.down = None
        assert sh.flush(10)
        assert ids_of(sink.predictions()) == sorted(pids)
        assert sh.stats()["acked"] == 150
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1

    def test_item_retry(self, make: Any, sink: FakeSink) -> None:
        """Items answered 429 are retried and delivered; the rest of the batch is not resent."""
        seen: set[str] = set()

        def once_429(doc: dict[str, Any]) -> ItemResult | None:
            if doc["inputs"].get("i", 0) % 3 == 0 and doc["prediction_id"] not in seen:
                seen.add(doc["prediction_id"])
                return ItemResult(429, "es_rejected_execution_exception", "busy")
            return None

        sink.fail_item = once_429
        sh = make()
        pids = [sh.log_prediction({"i": i}, 1) for i in range(30)]
        assert sh.flush(10)
        assert ids_of(sink.predictions()) == sorted(pids)
        st = sh.stats()
        assert st["retried"] == 10 and st["acked"] == 30 and st["duplicates"] == 0

    def test_close_keeps_rest_on_disk(self, make: Any, sink: FakeSink, tmp_path: Path) -> None:
        """close() with the sink down leaves records on disk; a new shipper adopts them."""
        sink.down = "connection"
        sh = make()
        pids = [sh.log_prediction({"i": i}, 1) for i in range(20)]
        assert not sh.close(timeout=0.2)
        assert list((tmp_path / "spool").iterdir())
        fresh = FakeSink()
        sh2 = make(sink_obj=fresh)
        assert sh2.flush(10)
        assert ids_of(fresh.predictions()) == sorted(pids)
        assert sh2.stats()["adopted_spools"] == 1
        assert sh.log_prediction({}, 1) and sh.stats()["dropped"] == {"closed": 1}

    def test_spool_budget_drops_newest(self, make: Any, sink: FakeSink) -> None:
        """With memory and the disk budget both full the newest records are dropped and
        counted, never silently lost."""
        sink.down = "connection"
        sh = make(spool_budget=3000, memory_bytes=3000, batch_size=5)
        for i in range(100):
            sh.log_prediction({"i": i}, 1)
        sh.flush(0.5)
        st = sh.stats()
        assert st["dropped"].get("spool_full", 0) > 0
        sink.down = None
        assert sh.flush(10)
        st = sh.stats()
        assert st["acked"] + st["dropped_total"] == 100
        assert check_accounting(st) is None


class TestDeadLetter:
    def test_mapping_conflict(self, make: Any, sink: FakeSink) -> None:
        """A refused document goes to the dead-letter index with its payload; others land."""

        def refuse_bad(doc: dict[str, Any]) -> ItemResult | None:
            if doc.get("inputs", {}).get("bad"):
                return ItemResult(400, "document_parsing_exception", "failed to parse [bad]")
            return None

        sink.fail_item = refuse_bad
        sh = make()
        good = [sh.log_prediction({"i": i}, 1) for i in range(5)]
        bad = sh.log_prediction({"bad": "x"}, 1)
        assert sh.flush(5)
        assert ids_of(sink.predictions()) == sorted(good)
        (dl,) = sink.index_docs("predwatch-deadletter")
        assert dl["prediction_id"] == bad and dl["payload"]["inputs"] == {"bad": "x"}
        assert dl["error"]["type"] == "document_parsing_exception"
        assert sink.ensured == ["predwatch-deadletter"]
        assert sh.stats()["dead_lettered"] == 1

    def test_rejected_deadletter_counted(self, make: Any, sink: FakeSink) -> None:
        """If the dead-letter index refuses too, the record is counted as dropped."""
        sink.fail_item = lambda doc: ItemResult(400, "mapper_parsing_exception", "no")
        sh = make()
        sh.log_prediction({}, 1)
        assert sh.flush(5)
        assert sh.stats()["dropped"] == {"deadletter_rejected": 1}


class TestDiskDurability:
    def test_on_disk_before_return(self, make: Any, sink: FakeSink, tmp_path: Path) -> None:
        """With durability='disk' a record is in the spool when log_prediction returns."""
        sink.down = "connection"
        sh = make(durability="disk")
        for i in range(5):
            sh.log_prediction({"i": i}, 1)
            assert sh.stats()["spooled_records"] == i + 1
        sink.down = None
        assert sh.flush(10)
        assert len(sink.predictions()) == 5

    def test_concurrent_callers(self, make: Any, sink: FakeSink) -> None:
        """Many threads logging durably all return and all land."""
        sh = make(durability="disk")
        out: list[str] = []

        def work(k: int) -> None:
            out.extend(sh.log_prediction({"k": k, "i": i}, 1) for i in range(50))

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sh.flush(10)
        assert ids_of(sink.predictions()) == sorted(out)


class TestPii:
    def test_rules_applied(self, make: Any, sink: FakeSink) -> None:
        """PII rules drop and hash before the record is queued."""
        sh = make(pii={"email": "drop", "phone": "hash"}, pii_key="secret")
        sh.log_prediction({"email": "a@b.c", "phone": "555", "age": 3}, 1, features={"email": "x"})
        queued = list(sh._queue)
        if queued:
            assert "email" not in queued[0][4]
        assert sh.flush(5)
        doc = sink.predictions()[0]
        assert set(doc["inputs"]) == {"phone", "age"} and len(doc["inputs"]["phone"]) == 64
        assert doc["features"] == {}


class TestConfig:
    def test_errors(self, tmp_path: Path) -> None:
        """Bad arguments fail up front with clear errors."""
        with pytest.raises(ConfigError, match="may only contain"):
            Shipper("Credit-Risk", "1")
        with pytest.raises(ConfigError, match="durability"):
            Shipper("credit", "1", durability="fast")
        with pytest.raises(ConfigError, match="model_version"):
            Shipper("credit")
        with pytest.raises(BaselineError, match="does not exist"):
            Shipper("credit", "1", baseline=tmp_path / "nope.json")
        with pytest.raises(ConfigError, match="http"):
            Shipper("credit", "1", es_url="localhost:9200")

    def test_baseline_model_must_match(self, baseline: Any) -> None:
        """A baseline of another model is refused; its version is the default."""
        with pytest.raises(BaselineError, match="credit"):
            Shipper("other", "1", baseline=baseline, handle_sigterm=False)
        sh = Shipper("credit", baseline=baseline, handle_sigterm=False)
        assert sh.model_version == "3.1.0"
        sh.close()


class GatedSink(FakeSink):
    """A FakeSink whose requests wait until `gate` is set (a stalled Elasticsearch)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def bulk(self, body: bytes, n_items: int) -> list[ItemResult]:
        self.gate.wait(10)
        return super().bulk(body, n_items)


def _encoded(sh: Shipper) -> None:
    """Waits (bounded) until the encoder has taken every queued record."""
    for _ in range(400):
        if not sh._queue and not sh._worker._held:  # type: ignore[union-attr]
            return
        threading.Event().wait(0.01)


class TestMemoryAfterOverflow:
    def test_back_to_memory_with_spool_pending(self, make: Any) -> None:
        """After memory overflows to disk, later records go to memory while the spool still
        holds older ones (only the oldest of memory spill), and delivery keeps the order."""
        gated = GatedSink()
        sh = make(sink_obj=gated, batch_size=10, memory_bytes=20_000)
        pids = [sh.log_prediction({"i": i}, 1) for i in range(300)]
        _encoded(sh)
        before = sh.stats()
        assert before["spooled_records"] > 0 and before["spool_pending_records"] > 0
        pids += [sh.log_prediction({"i": i}, 1) for i in range(300, 305)]
        _encoded(sh)
        assert pids[-1].encode() in sh._worker._outbox[-1][1]  # type: ignore[union-attr]
        gated.gate.set()
        assert sh.flush(10)
        assert [d["prediction_id"] for d in gated.predictions()] == pids
