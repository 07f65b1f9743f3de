"""`ElasticsearchHandler`: the stdlib `logging` front end of a `Shipper`.

    log = logging.getLogger("predictions")
    log.addHandler(ElasticsearchHandler(shipper))
    log.info("scored", extra={"inputs": {...}, "prediction": 0.83, "latency_ms": 12.5})

A record is shipped when it carries `inputs` (the attribute name is configurable); other
records are ignored, so the handler can sit on a busy logger. Read from the record:
`inputs`, `prediction`, and when present `prediction_id`, `latency_ms`, `model_version`,
`features`, `labels`. The event time is `record.created`, or with `timestamp_attr` the
record's attribute of that name when present and not None (a datetime, ISO 8601 text,
naive = UTC, or epoch seconds/ms: for apps that replay or batch). The message (formatted on the
worker thread, not here) goes to `message`, the logger name to `log.logger`, the level
name to `log.level`. The shipped id is set on the record as `record.prediction_id`, so
handlers after this one can print it.

`inputs`, `features` and `labels` may be any mapping type (dict, MappingProxyType, pandas
Series, ...): they go through the same snapshot and PII rules as `Shipper.log_prediction`
(`Shipper.submit_record`) before anything is queued.

Records of the Elasticsearch client's loggers (`predwatch.es.CLIENT_LOGGERS`) and of
`predwatch.shipper` itself are never shipped: shipping them would log again (a feedback
loop). `handle` takes no lock (the shipper is thread-safe) and `emit` never raises: a
record it cannot hand over is counted in `stats()["handler_errors"]`.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from predwatch.es import CLIENT_LOGGERS

from ._shipper import Shipper

IGNORED_LOGGERS = (*CLIENT_LOGGERS, "predwatch.shipper")


class ElasticsearchHandler(logging.Handler):
    """Ships log records that carry prediction inputs through `shipper`."""

    def __init__(
        self,
        shipper: Shipper,
        level: int | str = logging.NOTSET,
        *,
        inputs_attr: str = "inputs",
        prediction_attr: str = "prediction",
        timestamp_attr: str | None = None,
    ) -> None:
        super().__init__(level)
        self.shipper = shipper
        self.inputs_attr = inputs_attr
        self.prediction_attr = prediction_attr
        self.timestamp_attr = timestamp_attr
        self._exact = frozenset(IGNORED_LOGGERS)
        self._prefixes = tuple(f"{name}." for name in IGNORED_LOGGERS)

    def handle(self, record: logging.LogRecord) -> bool:
        # No handler lock: emit only appends to the shipper's thread-safe queue.
        if self.filters and not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        try:
            d = record.__dict__
            inputs = d.get(self.inputs_attr, _MISSING)
            if inputs is _MISSING:
                return
            name = record.name
            if name in self._exact or name.startswith(self._prefixes):
                return
            extra: dict[str, Any] = {
                "msg": record.msg,
                "args": record.args,
                "logger": name,
                "level": record.levelname,
            }
            if "features" in d:
                extra["features"] = d["features"]
            if "labels" in d:
                extra["labels"] = d["labels"]
            if "model_version" in d:
                extra["model_version"] = d["model_version"]
            when: Any = record.created
            if self.timestamp_attr is not None:
                given = d.get(self.timestamp_attr)
                if given is not None:
                    when = given  # read on the worker thread, like every other value
            record.prediction_id = self.shipper.submit_record(
                inputs,
                d.get(self.prediction_attr),
                d.get("prediction_id"),
                d.get("latency_ms"),
                when,
                extra,
            )
        except Exception:  # never into the app, never through handleError's stderr spam
            with contextlib.suppress(Exception):  # but counted: stats()["handler_errors"]
                self.shipper.count_handler_error()

    def flush(self) -> None:
        """Does not wait for Elasticsearch (logging.shutdown calls this); see Shipper.flush."""

    def close(self) -> None:
        super().close()


_MISSING = object()
