"""Unit tests of the two front ends: the logging handler and the structlog processor."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd
import pytest
import structlog

from predwatch.shipper import ElasticsearchHandler, Shipper, ShipToElasticsearch
from tests.helpers.shipper_fakes import FakeSink


@pytest.fixture
def shipper(tmp_path: Path, sink: FakeSink) -> Iterator[Shipper]:
    sh = Shipper(
        "credit",
        "3.1.0",
        spool_dir=tmp_path,
        flush_interval=0.05,
        handle_sigterm=False,
        sink=lambda: sink,
    )
    yield sh
    sh.close(timeout=0.1)


@pytest.fixture
def logger(shipper: Shipper) -> Iterator[logging.Logger]:
    log = logging.getLogger("test.predictions")
    log.setLevel(logging.INFO)
    log.propagate = False
    handler = ElasticsearchHandler(shipper)
    log.addHandler(handler)
    yield log
    log.removeHandler(handler)


class TestElasticsearchHandler:
    def test_ships_records_with_inputs(
        self, logger: logging.Logger, shipper: Shipper, sink: FakeSink
    ) -> None:
        """A record with inputs ships with message, logger, level, latency and its id."""
        record_ids: list[str] = []

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if hasattr(record, "prediction_id"):
                    record_ids.append(record.prediction_id)

        logger.addHandler(Keep())
        logger.info(
            "scored %s",
            "alice",
            extra={
                "inputs": {"age": 41},
                "prediction": 0.83,
                "latency_ms": 12.5,
                "model_version": "3.2.0",
                "features": {"f": 1},
            },
        )
        logger.info("plain line, not a prediction")
        assert shipper.flush(5)
        (doc,) = sink.predictions()
        assert doc["message"] == "scored alice"
        assert doc["log"] == {"logger": "test.predictions", "level": "INFO"}
        assert doc["inputs"] == {"age": 41} and doc["prediction"] == {"value": 0.83}
        assert doc["latency_ms"] == 12.5 and doc["model"]["version"] == "3.2.0"
        assert doc["features"] == {"f": 1}
        assert record_ids == [doc["prediction_id"]]

    def test_client_loggers_ignored(self, shipper: Shipper, sink: FakeSink) -> None:
        """Records of the client's and the shipper's own loggers are never shipped."""
        handler = ElasticsearchHandler(shipper)
        for name in (
            "elastic_transport.transport",
            "urllib3",
            "predwatch.shipper",
            "elasticsearch",
        ):
            rec = logging.LogRecord(name, logging.INFO, __file__, 1, "x", None, None)
            rec.inputs = {"a": 1}
            handler.handle(rec)
        rec = logging.LogRecord("elasticsearch_app", logging.INFO, __file__, 1, "x", None, None)
        rec.inputs = {"a": 1}
        handler.handle(rec)
        assert shipper.flush(5)
        assert [d["log"]["logger"] for d in sink.predictions()] == ["elasticsearch_app"]

    def test_filters_respected(self, shipper: Shipper, sink: FakeSink) -> None:
        """Handler filters still apply (handle() skips only the lock)."""
        handler = ElasticsearchHandler(shipper)
        handler.addFilter(lambda r: False)
        rec = logging.LogRecord("x", logging.INFO, __file__, 1, "x", None, None)
        rec.inputs = {}
        assert handler.handle(rec) is False

    def test_emit_never_raises(self, tmp_path: Path) -> None:
        """A broken shipper does not break logging."""
        handler = ElasticsearchHandler(object())  # type: ignore[arg-type]
        rec = logging.LogRecord("x", logging.INFO, __file__, 1, "x", None, None)
        rec.inputs = {}
        handler.handle(rec)

    def test_failing_record_is_counted(
        self, logger: logging.Logger, shipper: Shipper, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A record the handler cannot hand over counts in handler_errors, nothing raises."""

        def broken(*args: Any, **kwargs: Any) -> str:
            raise RuntimeError("broken front end")

        monkeypatch.setattr(shipper, "submit_record", broken)
        logger.info("x", extra={"inputs": {"age": 41}})
        logger.info("no inputs: ignored, not an error")
        assert shipper.stats()["handler_errors"] == 1


class TestShipToElasticsearch:
    def test_processor(self, shipper: Shipper, sink: FakeSink) -> None:
        """Events with inputs ship; the event dict comes back with the prediction id."""
        proc = ShipToElasticsearch(shipper)
        ev: dict[str, Any] = {"event": "prediction", "inputs": {"age": 41}, "prediction": "yes"}
        out = proc(None, "info", ev)
        assert out is ev and "prediction_id" in ev
        assert proc(None, "info", {"event": "hello"}) == {"event": "hello"}
        assert shipper.flush(5)
        (doc,) = sink.predictions()
        assert doc["prediction_id"] == ev["prediction_id"]
        assert doc["message"] == "prediction" and doc["log"]["level"] == "info"
        assert doc["prediction"] == {"label": "yes"}

    def test_with_structlog(self, shipper: Shipper, sink: FakeSink) -> None:
        """Configured in a structlog chain, log.info(..., inputs=...) ships a prediction."""
        rendered: list[str] = []
        structlog.configure(
            processors=[ShipToElasticsearch(shipper), structlog.processors.JSONRenderer()],
            logger_factory=structlog.ReturnLoggerFactory(),
            cache_logger_on_first_use=False,
        )
        try:
            log = structlog.get_logger()
            rendered.append(log.info("prediction", inputs={"a": 1}, prediction=0.5))
        finally:
            structlog.reset_defaults()
        assert shipper.flush(5)
        (doc,) = sink.predictions()
        assert doc["prediction_id"] in rendered[0]

    def test_never_raises(self) -> None:
        """A broken shipper returns the event dict untouched."""
        ev = {"inputs": {}}
        assert ShipToElasticsearch(object())(None, "info", ev) is ev  # type: ignore[arg-type]

    def test_failing_event_is_counted(self, shipper: Shipper, sink: FakeSink) -> None:
        """An event whose inputs cannot be read counts in handler_errors, nothing raises."""

        class Unreadable(dict[str, Any]):
            def __getitem__(self, key: str) -> Any:
                raise KeyError(key)

        ev = Unreadable(event="x", inputs={"age": 41})
        assert ShipToElasticsearch(shipper)(None, "info", ev) is ev
        assert shipper.stats()["handler_errors"] == 1
        assert shipper.flush(5) and sink.predictions() == []


SECRET = {"email": "ann@example.com", "phone": "+1 555 0100", "age": 41}


def pii_shipper(tmp_path: Path, sink: FakeSink) -> Shipper:
    return Shipper(
        "credit",
        "3.1.0",
        spool_dir=tmp_path,
        flush_interval=0.05,
        handle_sigterm=False,
        sink=lambda: sink,
        pii={"email": "drop", "phone": "hash"},
        pii_key="k",
    )


def all_entries(sh: Shipper, inputs: Any, features: Any) -> None:
    """One prediction through each entry: log_prediction, the handler, the processor."""
    sh.log_prediction(inputs, 0.5, features=features, labels=features)
    log = logging.getLogger("test.pii")
    log.propagate = False
    handler = ElasticsearchHandler(sh)
    log.addHandler(handler)
    try:
        log.warning("x", extra={"inputs": inputs, "features": features, "labels": features})
    finally:
        log.removeHandler(handler)
    ev = {"event": "x", "inputs": inputs, "features": features, "labels": features}
    ShipToElasticsearch(sh)(None, "info", ev)


class TestPiiOnEveryPath:
    @pytest.mark.parametrize(
        "make",
        [dict, MappingProxyType, lambda d: pd.Series(d, dtype=object)],
        ids=["dict", "MappingProxyType", "Series"],
    )
    def test_rules_before_the_queue(
        self, tmp_path: Path, sink: FakeSink, monkeypatch: Any, make: Any
    ) -> None:
        """Every entry applies the rules, whatever the container, before the record is queued."""
        sh = pii_shipper(tmp_path, sink)
        queued: list[Any] = []
        real_put = sh._put
        monkeypatch.setattr(sh, "_put", lambda rec: (queued.append(rec), real_put(rec))[1])
        try:
            all_entries(sh, make(SECRET), make(SECRET))
            assert len(queued) == 3
            for rec in queued:
                text = repr(rec)
                assert "ann@example.com" not in text and "555 0100" not in text
            assert sh.flush(5)
            docs = sink.predictions()
            assert len(docs) == 3
            for doc in docs:
                for group in ("inputs", "features", "labels"):
                    assert "email" not in doc[group] and len(doc[group]["phone"]) == 64
        finally:
            sh.close(timeout=0.1)
