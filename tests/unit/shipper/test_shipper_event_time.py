"""Unit tests of the front ends' event-time options (`timestamp_attr` of the logging handler,
`timestamp_key` of the structlog processor): apps that replay or batch set @timestamp."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from predwatch.shipper import ElasticsearchHandler, Shipper, ShipToElasticsearch
from tests.helpers.shipper_fakes import FakeSink

WHEN = dt.datetime(2026, 3, 2, 14, 30, 5, 250000, tzinfo=dt.UTC)
STAMP = "2026-03-02T14:30:05.250Z"
# The same instant in every accepted form.
FORMS: list[Any] = [
    WHEN,
    WHEN.replace(tzinfo=None),  # naive = UTC
    "2026-03-02T14:30:05.250Z",
    "2026-03-02T15:30:05.250+01:00",
    WHEN.timestamp(),
    WHEN.timestamp() * 1000,
]


@pytest.fixture
def shipper(tmp_path: Path, sink: FakeSink) -> Iterator[Shipper]:
    sh = Shipper(
        "credit", "3.1.0", spool_dir=tmp_path, flush_interval=0.05, handle_sigterm=False,
        sink=lambda: sink,
    )  # fmt: skip
    yield sh
    sh.close(timeout=0.1)


def _stamps(shipper: Shipper, sink: FakeSink) -> list[str]:
    assert shipper.flush(10)
    return [d["@timestamp"] for d in sink.predictions()]


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("test.event_time")
    log.setLevel(logging.INFO)
    log.propagate = False
    yield log
    for h in list(log.handlers):
        log.removeHandler(h)


class TestHandler:
    @pytest.mark.parametrize("given", FORMS)
    def test_attribute_sets_the_event_time(
        self, logger: logging.Logger, shipper: Shipper, sink: FakeSink, given: Any
    ) -> None:
        """With timestamp_attr a datetime, ISO text or epoch s/ms on the record is @timestamp."""
        logger.addHandler(ElasticsearchHandler(shipper, timestamp_attr="event_time"))
        logger.info("scored", extra={"inputs": {"a": 1}, "prediction": 1.0, "event_time": given})
        assert _stamps(shipper, sink) == [STAMP]

    def test_absent_or_none_is_record_created(
        self, logger: logging.Logger, shipper: Shipper, sink: FakeSink
    ) -> None:
        """Without the attribute (or None) the record's creation time is used."""
        logger.addHandler(ElasticsearchHandler(shipper, timestamp_attr="event_time"))
        logger.info("scored", extra={"inputs": {"a": 1}, "event_time": None})
        logger.info("scored", extra={"inputs": {"a": 2}})
        today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
        assert [t[:10] for t in _stamps(shipper, sink)] == [today, today]

    def test_off_by_default(self, logger: logging.Logger, shipper: Shipper, sink: FakeSink) -> None:
        """By default an attribute named like the option is an ordinary extra (not read)."""
        logger.addHandler(ElasticsearchHandler(shipper))
        logger.info("scored", extra={"inputs": {"a": 1}, "timestamp": WHEN})
        assert _stamps(shipper, sink) != [STAMP]


class TestProcessor:
    @pytest.mark.parametrize("given", FORMS)
    def test_key_sets_the_event_time(self, shipper: Shipper, sink: FakeSink, given: Any) -> None:
        """With timestamp_key the event dict's value is @timestamp; the dict is unchanged."""
        proc = ShipToElasticsearch(shipper, timestamp_key="timestamp")
        event = {"event": "scored", "inputs": {"a": 1}, "prediction": 1.0, "timestamp": given}
        out = proc(None, "info", event)
        assert out["timestamp"] is given and "prediction_id" in out
        assert _stamps(shipper, sink) == [STAMP]

    def test_unreadable_is_now(self, shipper: Shipper, sink: FakeSink) -> None:
        """A value that is no time (or None) ships at the time of the call, never fails."""
        proc = ShipToElasticsearch(shipper, timestamp_key="timestamp")
        proc(None, "info", {"event": "x", "inputs": {"a": 1}, "timestamp": "yesterday-ish"})
        proc(None, "info", {"event": "x", "inputs": {"a": 2}, "timestamp": None})
        today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
        assert [t[:10] for t in _stamps(shipper, sink)] == [today, today]

    def test_off_by_default(self, shipper: Shipper, sink: FakeSink) -> None:
        """By default structlog's own `timestamp` key is not read."""
        ShipToElasticsearch(shipper)(None, "info", {"inputs": {"a": 1}, "timestamp": WHEN})
        assert _stamps(shipper, sink) != [STAMP]
