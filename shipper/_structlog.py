"""`ShipToElasticsearch`: the structlog front end of a `Shipper` (a processor).

    structlog.configure(processors=[..., ShipToElasticsearch(shipper), ..., JSONRenderer()])
    log.info("prediction", inputs={...}, prediction=0.83, latency_ms=12.5)

An event is shipped when its event dict has `inputs` (the key is configurable). Read:
`inputs`, `prediction`, and when present `prediction_id`, `latency_ms`, `model_version`,
`features`, `labels`; the event text goes to `message`, the method name (info, warning,
...) to `log.level`, the `logger` key (or the logger's name) to `log.logger`. The event
time is when the processor runs, or with `timestamp_key` the value under that key when
present and not None: a datetime, ISO 8601 text (naive = UTC) or epoch seconds/ms (for apps
that replay or batch; structlog's `TimeStamper(fmt="iso", utc=True)` output qualifies, a
local-time or custom format does not). The event dict is returned unchanged, except that
`prediction_id` is added when `add_prediction_id` is true (the default), so renderers
after this processor print the id. Never raises. `inputs`, `features` and `labels` may be
any mapping type: they go through the same snapshot and PII rules as
`Shipper.log_prediction` (`Shipper.submit_record`) before anything is queued. An event
that fails here is counted in `stats()["handler_errors"]`.
"""

from __future__ import annotations

import contextlib
from collections.abc import MutableMapping
from typing import Any

from ._shipper import Shipper

EventDict = MutableMapping[str, Any]


class ShipToElasticsearch:
    """A structlog processor that ships prediction events through `shipper`."""

    def __init__(
        self,
        shipper: Shipper,
        *,
        inputs_key: str = "inputs",
        prediction_key: str = "prediction",
        add_prediction_id: bool = True,
        timestamp_key: str | None = None,
    ) -> None:
        self.shipper = shipper
        self.inputs_key = inputs_key
        self.prediction_key = prediction_key
        self.add_prediction_id = add_prediction_id
        self.timestamp_key = timestamp_key

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        try:
            if self.inputs_key not in event_dict:
                return event_dict
            get = event_dict.get
            extra: dict[str, Any] = {
                "msg": get("event"),
                "logger": get("logger") or getattr(logger, "name", None),
                "level": method_name,
            }
            for key in ("features", "labels", "model_version"):
                if key in event_dict:
                    extra[key] = event_dict[key]
            pid = self.shipper.submit_record(
                event_dict[self.inputs_key],
                get(self.prediction_key),
                get("prediction_id"),
                get("latency_ms"),
                get(self.timestamp_key) if self.timestamp_key is not None else None,
                extra,
            )
            if self.add_prediction_id:
                event_dict["prediction_id"] = pid
        except Exception:  # never into the app: counted in stats()["handler_errors"]
            with contextlib.suppress(Exception):
                self.shipper.count_handler_error()
        return event_dict
