"""The one place that builds Elasticsearch clients and turns their failures into one clear line."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from typing import Any, TypeVar

import elastic_transport
import elasticsearch
from elasticsearch import Elasticsearch

from predwatch.config import ESConfig
from predwatch.errors import ConnectionFailed, PredwatchError
from predwatch.es_compat import CompatTransport
from predwatch.scheme_probe import speaks

T = TypeVar("T")

# The client's own loggers must never reach a predwatch shipping handler (feedback loop);
# predwatch.shipper checks record names against these prefixes.
CLIENT_LOGGERS = ("elasticsearch", "elastic_transport", "urllib3")


def client(cfg: ESConfig, **kwargs: Any) -> Elasticsearch:
    """An Elasticsearch client for `cfg` (no request is made here).

    Every client of predwatch (commands, analyzers, the shipper's sink) is built here, so all
    of them speak to 8.19 and 9.x servers through the same `CompatTransport`."""
    opts: dict[str, Any] = {"request_timeout": cfg.request_timeout}
    if cfg.api_key:
        opts["api_key"] = cfg.api_key
    elif cfg.username and cfg.password:
        opts["basic_auth"] = (cfg.username, cfg.password)
    if cfg.ca_cert:
        opts["ca_certs"] = cfg.ca_cert
    opts.update(kwargs)
    # Several hosts: the client spreads requests over them and, on a connection failure,
    # marks that node dead for a while and retries on the next one (max_retries allowing).
    # CompatTransport asks each server for its major and sends the headers it accepts.
    return Elasticsearch(cfg.hosts, transport_class=CompatTransport, **opts)


def explain(exc: BaseException, cfg: ESConfig) -> PredwatchError:
    """Turn a client exception into a PredwatchError whose message says what to do; no
    credential of `cfg` (nor any URL userinfo) appears in it."""
    if isinstance(exc, PredwatchError):
        return exc
    err = _explain(exc, cfg)
    return type(err)(cfg.redact(str(err)))


def _scheme_mismatch(cfg: ESConfig) -> ConnectionFailed | None:
    """The error to give when the URL's scheme is not what the server speaks, else None."""
    actual = speaks(cfg.url)
    https = cfg.url.startswith("https://")
    if actual == "tls" and not https:
        fixed = "https://" + cfg.url.removeprefix("http://")
        return ConnectionFailed(
            f"Elasticsearch at {cfg.url} speaks TLS (https), not plain http: scheme mismatch; "
            f"use {fixed} (and PREDWATCH_ES_CA_CERT for its CA)"
        )
    if actual == "plain" and https:
        fixed = "http://" + cfg.url.removeprefix("https://")
        return ConnectionFailed(
            f"Elasticsearch at {cfg.url} answers plain http, not TLS: scheme mismatch; use {fixed}"
        )
    return None


def _explain(exc: BaseException, cfg: ESConfig) -> PredwatchError:
    url = cfg.url
    if isinstance(exc, elasticsearch.AuthenticationException):
        return ConnectionFailed(
            f"Elasticsearch at {url} rejected the credentials ({cfg.auth_kind}); check "
            "PREDWATCH_ES_API_KEY or PREDWATCH_ES_USERNAME/PREDWATCH_ES_PASSWORD"
        )
    if isinstance(exc, elasticsearch.AuthorizationException):
        return ConnectionFailed(
            f"Elasticsearch at {url} refused the request for {cfg.auth_kind}: missing privileges "
            f"({_reason(exc)})"
        )
    tls = isinstance(exc, elastic_transport.TlsError) or _is_tls(exc)
    if tls or isinstance(exc, elastic_transport.ConnectionError):
        mismatch = _scheme_mismatch(cfg)
        if mismatch is not None:
            return mismatch
    if tls:
        return ConnectionFailed(
            f"TLS to Elasticsearch at {url} failed ({_short(exc)}); set PREDWATCH_ES_CA_CERT to "
            "the CA certificate that signed the server's certificate"
        )
    if isinstance(exc, elastic_transport.ConnectionTimeout):
        return ConnectionFailed(
            f"Elasticsearch at {url} did not answer within {cfg.request_timeout:g}s; is it "
            "overloaded, or is PREDWATCH_ES_URL pointing at the wrong host?"
        )
    if isinstance(exc, elastic_transport.ConnectionError):
        return ConnectionFailed(
            f"Elasticsearch at {url} could not be reached (connection refused or host unknown); "
            "start one with `predwatch es start` or set PREDWATCH_ES_URL"
        )
    if isinstance(exc, elasticsearch.UnsupportedProductError):
        return ConnectionFailed(
            f"{url} does not answer like Elasticsearch (8.19 or 9.x): {_short(exc)}"
        )
    if isinstance(exc, elasticsearch.ApiError):
        return PredwatchError(
            f"Elasticsearch at {url} refused the request: {exc.meta.status} {_reason(exc)}"
        )
    return PredwatchError(f"talking to Elasticsearch at {url} failed: {_short(exc)}")


def call(cfg: ESConfig, fn: Callable[[], T]) -> T:
    """Run `fn` and translate any client failure with `explain`."""
    try:
        return fn()
    except (elasticsearch.ApiError, elastic_transport.TransportError) as exc:
        raise explain(exc, cfg) from None


def ping(es: Elasticsearch, cfg: ESConfig) -> dict[str, Any]:
    """Check the cluster answers (and accepts the credentials); returns its health."""
    health = call(cfg, lambda: es.cluster.health())
    return dict(health.body)


def cluster_version(es: Elasticsearch, cfg: ESConfig) -> str:
    """Version of the node answering (GET / is missing on minimal distributions)."""
    info = call(cfg, lambda: es.nodes.info(node_id="_local", metric="_none"))
    nodes = info.body.get("nodes", {})
    for node in nodes.values():
        return str(node.get("version", "unknown"))
    return "unknown"


def resolve_index(es: Elasticsearch, pattern: str) -> list[str]:
    """Names of the open indices `pattern` matches (empty list when none)."""
    # A plain GET: the 9.x client's `indices.resolve_index` POSTs (a 9.x form, for project
    # routing), which an 8.19 server refuses with 405; both majors serve GET.
    resp = es.perform_request(
        "GET", f"/_resolve/index/{pattern}", headers={"accept": "application/json"}
    )
    return [str(i["name"]) for i in resp.body.get("indices", [])]


def has_api(es: Elasticsearch, cfg: ESConfig, path: str) -> bool:
    """True when the cluster serves GET `path` (feature detection: ILM, Watcher, ...).

    `path` must be a GET endpoint of the feature."""
    try:
        es.perform_request("GET", path, headers={"accept": "application/json"})
        return True
    except elasticsearch.ApiError as exc:
        # The module is absent when 9.x says 400 "no handler found", or when 8.19 says 405
        # (the path only matched a route of another module that has no GET); 403/404 would
        # mean present.
        if exc.meta.status == 405 or (exc.meta.status == 400 and "no handler" in str(exc.body)):
            return False
        if exc.meta.status in (401,):
            raise explain(exc, cfg) from None
        return exc.meta.status != 400
    except elastic_transport.TransportError as exc:
        raise explain(exc, cfg) from None


def quiet_client_loggers(level: int = logging.WARNING) -> None:
    for name in CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(level)


def _reason(exc: elasticsearch.ApiError) -> str:
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            return str(err.get("reason") or err.get("type") or err)
        if err:
            return str(err)
    return str(exc.message)


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


def _is_tls(exc: BaseException) -> bool:
    cur: BaseException | None = exc
    while cur is not None:
        if isinstance(cur, ssl.SSLError):
            return True
        cur = cur.__cause__ or cur.__context__
    errors = getattr(exc, "errors", ())
    return any(isinstance(e, ssl.SSLError) for e in errors)
