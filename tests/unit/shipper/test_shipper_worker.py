"""Unit tests of the delivery core (fake sink): the accounting identity, request-level
errors, the live-byte spool budget, one spool directory, memory first, and the
deployment document in flush()."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from predwatch.errors import ConfigError
from predwatch.shipper import (
    BulkFailed,
    ItemResult,
    Shipper,
    _deployment,
    _spool,
    _worker,
    check_accounting,
)
from predwatch.shipper._bulk import is_deadletter
from tests.helpers.shipper_fakes import FakeSink

MEDIA_TYPE = (
    "Elasticsearch at http://127.0.0.1:1 refused the request: 400 media_type_header_exception"
    " (Invalid media-type value on headers [Accept, Content-Type])"
)


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


def process_dirs(root: Path) -> list[Path]:
    return [p for p in root.iterdir() if not p.name.startswith(".")] if root.exists() else []


class RefusingSink(FakeSink):
    """A FakeSink that refuses whole requests with `refuse` (a BulkFailed) while it is set;
    `refuse_deadletters` refuses only requests carrying dead letters."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse: BulkFailed | None = None
        self.refuse_deadletters: BulkFailed | None = None
        self.max_items: int | None = None

    def bulk(self, body: bytes, n_items: int) -> list[ItemResult]:
        if self.refuse is not None:
            raise self.refuse
        if self.refuse_deadletters is not None and any(
            is_deadletter(line + b"\n") for line in body.splitlines()
        ):
            raise self.refuse_deadletters
        if self.max_items is not None and n_items > self.max_items:
            raise BulkFailed("too_large", "413 Request Entity Too Large", 413)
        return super().bulk(body, n_items)


@contextlib.contextmanager
def unwritable_dir(path: Path) -> Iterator[Path]:
    """An existing directory nobody can create files in (chmod, or chattr +i as root)."""
    path.mkdir(parents=True)
    if os.geteuid() != 0:
        path.chmod(0o500)
        undo = ["chmod", "700", str(path)]
    elif shutil.which("chattr") and subprocess.run(["chattr", "+i", str(path)]).returncode == 0:
        undo = ["chattr", "-i", str(path)]
    else:
        pytest.skip("no way to make a directory unwritable for root here")
    try:
        yield path
    finally:
        subprocess.run(undo, check=False)


class TestAccounting:
    def test_balanced_at_every_moment(self, make: Any) -> None:
        """Sampled while records are logged, refused, dead-lettered, spilled and replayed,
        the identity holds every time and pending is 0 once flush() returns True."""
        sink = RefusingSink()
        sink.fail_item = lambda doc: (
            ItemResult(400, "document_parsing_exception", "bad")
            if doc.get("inputs", {}).get("i", 1) % 97 == 0
            else None
        )
        sh = make(sink_obj=sink, batch_size=20, memory_bytes=8000, max_queue=400)
        bad: list[str] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                problem = check_accounting(sh.stats())
                if problem:
                    bad.append(problem)
                time.sleep(0.002)

        watcher = threading.Thread(target=sample)
        watcher.start()
        try:
            for i in range(3000):
                if i % 500 == 0:  # outages come and go
                    sink.down = "connection" if sink.down is None else None
                sh.log_prediction({"i": i}, 1, prediction_id="dup" if i % 250 == 1 else None)
            sink.down = None
            assert sh.flush(20)
        finally:
            stop.set()
            watcher.join()
        st = sh.stats()
        acc = st["accounting"]
        assert bad == []
        assert check_accounting(st) is None and acc["pending"] == 0 and st["pending"] == 0
        assert acc["enqueued"] == 3000
        assert acc["dead_lettered"] > 0 and acc["duplicates"] > 0

    def test_drops_at_the_call_are_enqueued_and_dropped(self, make: Any, sink: FakeSink) -> None:
        """A record refused by a full queue still balances: counted in and dropped."""
        gate = threading.Event()
        real = sink.bulk
        sink.bulk = lambda body, n: (gate.wait(10), real(body, n))[1]  # type: ignore[method-assign]
        sh = make(max_queue=5, batch_size=1000, flush_interval=5)
        for i in range(50):
            sh.log_prediction({"i": i}, 1)
        st = sh.stats()
        assert st["dropped"].get("queue_full", 0) > 0
        assert check_accounting(st) is None and st["enqueued"] == 50
        gate.set()
        assert sh.flush(10)
        assert check_accounting(sh.stats()) is None

    def test_drop_lines_are_rate_limited(self, make: Any, sink: FakeSink, caplog: Any) -> None:
        """Many drops of one reason give one log line per interval, not one per record."""
        caplog.set_level(logging.WARNING, logger="predwatch.shipper")
        gate = threading.Event()
        real = sink.bulk
        sink.bulk = lambda body, n: (gate.wait(10), real(body, n))[1]  # type: ignore[method-assign]
        sh = make(max_queue=2, batch_size=1000, flush_interval=5)
        for i in range(200):
            sh.log_prediction({"i": i}, 1)
        gate.set()
        sh.flush(10)
        sh.close()
        lines = [r.getMessage() for r in caplog.records if "queue_full" in r.getMessage()]
        assert len(lines) == 1 and "dropped" in lines[0]
        assert sh.stats()["dropped"]["queue_full"] > 100


class TestRequestLevelErrors:
    def test_refused_requests_keep_the_records(self, make: Any) -> None:
        """A 400 on the whole request (a client/server version mismatch) is no verdict:
        nothing is dead-lettered or dropped, flush() is False, the state says what to fix,
        and everything lands once the requests are accepted."""
        sink = RefusingSink()
        sink.refuse = BulkFailed("request", MEDIA_TYPE, 400)
        sh = make(sink_obj=sink)
        pids = [sh.log_prediction({"i": i}, 1) for i in range(100)]
        assert not sh.flush(1)
        st = sh.stats()
        assert st["dead_lettered"] == 0 and st["dropped_total"] == 0 and st["pending"] == 100
        assert st["state"] == "error" and "media-type" in st["last_error"]
        assert "\n" not in st["last_error"]
        assert check_accounting(st) is None
        sink.refuse = None
        assert sh.flush(10)
        assert sorted(d["prediction_id"] for d in sink.predictions()) == sorted(pids)
        st = sh.stats()
        assert (
            st["acked"] == 100 and st["state"] == "ok" and sink.index_docs("predwatch-dead") == []
        )

    @pytest.mark.parametrize(
        ("kind", "status"), [("auth", 401), ("forbidden", 403), ("request", 404), ("tls", None)]
    )
    def test_every_request_failure_is_kept(self, make: Any, kind: str, status: int | None) -> None:
        """401, 403, 404 on the endpoint and TLS failures keep the records too."""
        sink = RefusingSink()
        sink.refuse = BulkFailed(kind, f"refused: {kind}", status)
        sh = make(sink_obj=sink)
        for i in range(10):
            sh.log_prediction({"i": i}, 1)
        assert not sh.flush(0.5)
        st = sh.stats()
        assert st["pending"] == 10 and st["dropped_total"] == 0 and st["state"] == "error"
        sink.refuse = None
        assert sh.flush(10) and len(sink.predictions()) == 10

    def test_refused_deadletter_request_keeps_the_record(self, make: Any) -> None:
        """If the dead-letter write is refused at request level the record is kept, and
        dead-lettered once the request is accepted."""
        sink = RefusingSink()
        sink.fail_item = lambda doc: (
            None if "payload" in doc else ItemResult(400, "document_parsing_exception", "bad")
        )
        sink.refuse_deadletters = BulkFailed("request", MEDIA_TYPE, 400)
        sh = make(sink_obj=sink)
        sh.log_prediction({"i": 1}, 1)
        assert not sh.flush(1)
        st = sh.stats()
        assert st["dropped_total"] == 0 and st["pending"] == 1 and st["state"] == "error"
        sink.refuse_deadletters = None
        assert sh.flush(10)
        st = sh.stats()
        assert st["dead_lettered"] == 1 and st["dropped_total"] == 0
        assert check_accounting(st) is None

    def test_too_large_splits(self, make: Any) -> None:
        """413 splits the batch until the requests fit; a record too large alone is kept."""
        sink = RefusingSink()
        sink.max_items = 3
        sh = make(sink_obj=sink, batch_size=50)
        for i in range(40):
            sh.log_prediction({"i": i}, 1)
        assert sh.flush(10)
        assert len(sink.predictions()) == 40 and sh.stats()["dead_lettered"] == 0
        sink.max_items = 0
        sh.log_prediction({"i": 99}, 1)
        assert not sh.flush(0.5)
        st = sh.stats()
        assert st["pending"] == 1 and st["dropped_total"] == 0 and st["state"] == "error"


class TestSpoolBudget:
    def test_healthy_disk_mode_small_budget_drops_nothing(self, make: Any, sink: FakeSink) -> None:
        """Acknowledged bytes free budget at once: with a healthy sink and a budget of a few
        records' worth, every record is delivered and none dropped."""
        sh = make(durability="disk", spool_budget=20_000, batch_size=50)

        def work(k: int) -> None:
            for i in range(300):
                sh.log_prediction({"k": k, "i": i, "pad": "x" * 100}, 1)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sh.flush(20)
        st = sh.stats()
        assert st["dropped_total"] == 0 and st["acked"] == 1200
        assert st["spooled_bytes"] > 20_000  # the budget was reused many times over
        assert check_accounting(st) is None

    def test_block_policy_never_stalls_while_delivering(self, make: Any, sink: FakeSink) -> None:
        """spool_policy="block" with a small budget: callers are not held to the block
        timeout while the sink acknowledges, and nothing is dropped."""
        sh = make(
            durability="disk",
            spool_budget=5_000,
            spool_policy="block",
            batch_size=20,
            durability_timeout=30,
        )
        for i in range(300):
            sh.log_prediction({"i": i, "pad": "y" * 100}, 1)
        assert sh.flush(20)
        st = sh.stats()
        assert st["dropped_total"] == 0 and st["acked"] == 300 and st["durability_timeouts"] == 0

    def test_budget_is_per_record(self, make: Any, sink: FakeSink) -> None:
        """During an outage the spool fills to its budget record by record, not a batch
        at a time: about budget / record size records wait on disk."""
        sink.down = "connection"
        sh = make(spool_budget=40_000, memory_bytes=2_000, batch_size=500)
        for i in range(1000):
            sh.log_prediction({"i": i}, 1)
        sh.flush(0.5)
        st = sh.stats()
        size = st["spooled_bytes"] / st["spooled_records"]
        assert st["spool_pending_records"] >= 0.9 * 40_000 / size
        assert st["spool_live_bytes"] <= 40_000
        assert check_accounting(st) is None
        sink.down = None
        assert sh.flush(10)
        st = sh.stats()
        assert st["acked"] + st["dropped_total"] == 1000 and st["acked"] > 0.9 * 40_000 / size


class TestOneSpoolDirectory:
    def test_encoder_and_sender_share_one(
        self, make: Any, sink: FakeSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """When encoder and sender both need the spool at once, one directory is made,
        and after recovery nothing is left behind in another."""
        real = _spool.SpoolDir.create.__func__  # type: ignore[attr-defined]

        def slow_create(cls: Any, root: Path, segment_bytes: int = 1 << 20) -> Any:
            time.sleep(0.3)  # widen the window in which the other thread may arrive
            return real(cls, root, segment_bytes)

        monkeypatch.setattr(_spool.SpoolDir, "create", classmethod(slow_create))
        sink.down = "connection"
        # The first batch fits in memory; its failed request and the next batches want
        # the spool at about the same moment.
        sh = make(memory_bytes=3000, batch_size=5)
        pids = []
        for _ in range(20):
            pids += [sh.log_prediction({"i": i}, 1) for i in range(5)]
            time.sleep(0.03)
        sh.flush(1)
        assert len(process_dirs(tmp_path / "spool")) == 1
        sink.down = None
        assert sh.flush(10)
        assert sorted(d["prediction_id"] for d in sink.predictions()) == sorted(pids)
        assert sh.close()
        assert process_dirs(tmp_path / "spool") == []


class TestMemoryFirst:
    def test_outage_stays_in_memory(self, make: Any, sink: FakeSink) -> None:
        """During an outage records stay in memory while they fit in memory_bytes."""
        sink.down = "connection"
        sh = make()
        pids = [sh.log_prediction({"i": i}, 1) for i in range(1000)]
        assert not sh.flush(1)
        st = sh.stats()
        assert st["spooled_records"] == 0 and st["pending"] == 1000 and st["spool_dir"] is None
        sink.down = None
        assert sh.flush(10)
        assert sorted(d["prediction_id"] for d in sink.predictions()) == sorted(pids)

    def test_unwritable_spool_falls_back_to_memory(
        self, make: Any, sink: FakeSink, tmp_path: Path, caplog: Any
    ) -> None:
        """A spool that cannot be written keeps records in memory and says so (state,
        last_error, a log line); they are delivered when Elasticsearch is back."""
        caplog.set_level(logging.WARNING, logger="predwatch.shipper")
        (tmp_path / "file").write_text("")
        sink.down = "connection"
        sh = make(spool_dir=tmp_path / "file" / "spool", memory_bytes=20_000)
        pids = [sh.log_prediction({"i": i}, 1) for i in range(40)]
        assert not sh.flush(1)
        st = sh.stats()
        assert st["dropped_total"] == 0 and st["pending"] == 40
        more = [sh.log_prediction({"i": i, "pad": "z" * 500}, 1) for i in range(100)]
        assert not sh.flush(1)
        st = sh.stats()
        assert st["state"] == "error" and "cannot write its spool" in st["spool_error"]
        assert st["dropped"].get("spool_error", 0) > 0  # past memory_bytes: the newest go
        assert any("cannot write its spool" in r.getMessage() for r in caplog.records)
        assert check_accounting(st) is None
        sink.down = None
        assert sh.flush(10)
        landed = {d["prediction_id"] for d in sink.predictions()}
        assert set(pids) <= landed and len(landed) == 140 - st["dropped_total"]
        assert set(more) & landed

    def test_disk_durability_checks_writability(self, tmp_path: Path) -> None:
        """durability="disk" with an existing but unwritable spool directory fails in the
        constructor with an error that says what to do."""
        with (
            unwritable_dir(tmp_path / "ro") as ro,
            pytest.raises(ConfigError, match="writable spool directory"),
        ):
            Shipper("credit", "1", durability="disk", spool_dir=ro, handle_sigterm=False)


class TestDeploymentInFlush:
    def test_flush_waits_for_the_deployment_document(
        self, sink: FakeSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """flush() cannot see "idle" between the first answer of Elasticsearch and the
        routing of the deployment document (the window is held open here on purpose)."""
        real_due = _worker.Worker._deployment_due
        real_idle = _worker.Worker._idle
        real_prepare = _deployment.Deployment.prepare
        held = threading.Event()
        ready = threading.Event()
        main = threading.main_thread()

        def slow_prepare(self: _deployment.Deployment) -> None:
            ready.wait(10)  # the document cannot be routed while the window is open
            real_prepare(self)

        real_bulk = sink.bulk

        def bulk_after_check(body: bytes, n_items: int) -> list[ItemResult]:
            held.wait(5)  # the first answer comes after flush() looked at the document
            return real_bulk(body, n_items)

        def due_then_wait(self: _worker.Worker) -> bool:
            result = real_due(self)
            if threading.current_thread() is main and not result and not held.is_set():
                held.set()
                # Let the sender answer, settle and acknowledge the prediction right now.
                for _ in range(100):
                    if self._own is not None and self._own.drained and self._answered:
                        break
                    time.sleep(0.01)
            return result

        def idle_then_release(self: _worker.Worker) -> bool:
            result = real_idle(self)
            if held.is_set():
                ready.set()
            return result

        monkeypatch.setattr(sink, "bulk", bulk_after_check)
        monkeypatch.setattr(_deployment.Deployment, "prepare", slow_prepare)
        monkeypatch.setattr(_worker.Worker, "_deployment_due", due_then_wait)
        monkeypatch.setattr(_worker.Worker, "_idle", idle_then_release)
        with Shipper(
            "credit",
            "3.1.0",
            sink=lambda: sink,
            spool_dir=tmp_path / "spool",
            handle_sigterm=False,
            flush_interval=0.05,
            durability="disk",
            deployment=True,
            deployment_packages={"numpy": "1.26.4"},
        ) as sh:
            sh.log_prediction({"a": 1}, 0.5)
            assert sh.flush(10)
            assert sh.stats()["deployment"] == "recorded"
            assert check_accounting(sh.stats()) is None
