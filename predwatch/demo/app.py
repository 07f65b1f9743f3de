"""The demo's serving app: a small WSGI app on 127.0.0.1 (wsgiref, one thread per request)
that scores bird-strike reports and logs every prediction through predwatch.

    POST /predict/logging    {"inputs": [{...}, ...]} -> logs through the stdlib front end
    POST /predict/structlog  the same, logged through the structlog front end
    POST /admin/state        {"version": "1.4.0", "delay_ms": 0}  (what the demo "deploys")
    GET  /healthz

Each deployed model version has its own `Shipper` (as two deployments would), and each
shipper feeds both front ends: an `ElasticsearchHandler` on a stdlib logger and a
`ShipToElasticsearch` processor in a structlog chain. The log lines also go to a file.

Simulated time: the demo compresses a week into minutes, so the client sends each request's
event time in the `X-Event-Time` header (epoch seconds). A logging filter sets it as the
record's `created` (the time the handler ships); in the structlog chain a processor adds it
as `event_time`, which `ShipToElasticsearch(timestamp_key="event_time")` ships as the
event time. A real app leaves both alone: the event time is then simply "now".
"""

from __future__ import annotations

import contextvars
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from socketserver import ThreadingMixIn
from typing import Any, TextIO
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import structlog

from predwatch.demo import model as mdl
from predwatch.shipper import ElasticsearchHandler, Shipper, ShipToElasticsearch

EVENT_TIME_HEADER = "X-Event-Time"
_event_time: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "predwatch_demo_event_time", default=None
)
StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class _EventTimeFilter(logging.Filter):
    """Stamps a record with the request's simulated event time (demo only)."""

    def filter(self, record: logging.LogRecord) -> bool:
        t = _event_time.get()
        if t is not None:
            record.created = t
        return True


def _add_event_time(_logger: Any, _method: str, event: Any) -> Any:
    """structlog processor: the request's simulated event time as `event_time` (demo only)."""
    t = _event_time.get()
    if t is not None:
        event["event_time"] = t
    return event


class _Deployment:
    """One model version with its shipper and its two loggers."""

    def __init__(self, model: mdl.Model, shipper: Shipper, log_file: TextIO) -> None:
        self.model = model
        self.shipper = shipper
        self.logger = logging.getLogger(f"birdstrike.{model.version}")
        self.logger.setLevel(logging.INFO)
        self.logger.propagate = False
        shipping = ElasticsearchHandler(shipper)
        shipping.addFilter(_EventTimeFilter())
        to_file = logging.StreamHandler(log_file)
        to_file.setFormatter(
            logging.Formatter("%(asctime)s %(name)s %(message)s prediction_id=%(prediction_id)s")
        )
        self.handlers: list[logging.Handler] = [shipping, to_file]
        for h in self.handlers:
            self.logger.addHandler(h)
        self.structlog = structlog.wrap_logger(
            structlog.PrintLogger(log_file),
            processors=[
                structlog.processors.add_log_level,
                _add_event_time,
                ShipToElasticsearch(shipper, timestamp_key="event_time"),
                structlog.processors.JSONRenderer(),
            ],
        ).bind(logger="birdstrike", model_version=model.version)

    def close(self) -> None:
        for h in self.handlers:
            self.logger.removeHandler(h)


class ServingApp:
    """The WSGI application; `deploy` switches the served version and the slow dependency."""

    def __init__(self, deployments: Mapping[str, tuple[mdl.Model, Shipper]], log_file: TextIO):
        self._deployments = {v: _Deployment(m, s, log_file) for v, (m, s) in deployments.items()}
        self._lock = threading.Lock()
        self.version = next(iter(self._deployments))
        self.delay_ms = 0.0
        self._rng = random.Random(5)
        self.served = 0

    def deploy(self, version: str, delay_ms: float = 0.0) -> None:
        if version not in self._deployments:
            raise KeyError(version)
        with self._lock:
            self.version = version
            self.delay_ms = max(0.0, float(delay_ms))

    def close(self) -> None:
        for d in self._deployments.values():
            d.close()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        try:
            if method == "GET" and path == "/healthz":
                return _json(start_response, "200 OK", {"status": "ok", "version": self.version})
            if method == "POST" and path in ("/predict/logging", "/predict/structlog"):
                body = _body(environ)
                when = environ.get("HTTP_X_EVENT_TIME")
                out = self.predict(body.get("inputs") or [], path.rsplit("/", 1)[1], when)
                return _json(start_response, "200 OK", out)
            if method == "POST" and path == "/admin/state":
                body = _body(environ)
                self.deploy(str(body.get("version", self.version)), body.get("delay_ms", 0.0))
                return _json(start_response, "200 OK", {"version": self.version})
            return _json(start_response, "404 Not Found", {"error": f"no route {method} {path}"})
        except (ValueError, KeyError, TypeError) as exc:
            return _json(start_response, "400 Bad Request", {"error": str(exc)})

    def predict(
        self, rows: list[dict[str, Any]], front_end: str, when: str | None
    ) -> dict[str, Any]:
        """Score `rows`, log each prediction through `front_end`, return the scores."""
        started = time.perf_counter()
        with self._lock:
            dep = self._deployments[self.version]
            delay = self.delay_ms * self._rng.uniform(0.8, 1.2) if self.delay_ms else 0.0
        if delay:
            time.sleep(delay / 1000.0)  # the slow dependency (a feature lookup)
        scores = dep.model.score(rows)
        latency = (time.perf_counter() - started) * 1000.0
        token = _event_time.set(float(when) if when else None)
        try:
            for row, p in zip(rows, scores, strict=True):
                self._log(dep, front_end, row, p, latency)
        finally:
            _event_time.reset(token)
        self.served += len(rows)
        return {
            "version": dep.model.version,
            "latency_ms": latency,
            "predictions": [{"score": p, "label": mdl.label(p)} for p in scores],
        }

    @staticmethod
    def _log(dep: _Deployment, front_end: str, row: dict[str, Any], p: float, ms: float) -> None:
        # What a serving app writes: one log call per prediction, nothing else.
        label = mdl.label(p)
        prediction = {"value": p, "label": label}
        if front_end == "structlog":
            dep.structlog.info("scored", inputs=row, prediction=prediction, latency_ms=ms)
        else:
            dep.logger.info(
                "scored %s",
                label,
                extra={"inputs": row, "prediction": prediction, "latency_ms": ms},
            )


def _body(environ: dict[str, Any]) -> dict[str, Any]:
    size = int(environ.get("CONTENT_LENGTH") or 0)
    data = json.loads(environ["wsgi.input"].read(size) or b"{}")
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def _json(start_response: StartResponse, status: str, payload: Any) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 64


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Running:
    """The app served on 127.0.0.1:<free port> in a background thread."""

    def __init__(self, app: ServingApp) -> None:
        self.app = app
        self.server = make_server(
            "127.0.0.1", 0, app, server_class=_Server, handler_class=_QuietHandler
        )
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="demo-app", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
        self.app.close()
