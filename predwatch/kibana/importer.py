"""Import saved objects through Kibana's `POST /api/saved_objects/_import` (the only I/O here).

The request is what Kibana documents: multipart form field `file` holding NDJSON,
`overwrite=true` so stable ids update existing objects, the `kbn-xsrf` header, and the same
credentials as for Elasticsearch (API key or user/password, CA certificate for https).
A space other than `default` is addressed as `/s/<space>/api/...`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from predwatch.config import ESConfig
from predwatch.kibana import ndjson
from predwatch.kibana.context import KibanaError

Obj = dict[str, Any]
XSRF_VALUE = "predwatch"


@dataclass(frozen=True)
class ImportResult:
    """What Kibana answered: counts, and the objects it had to give a new id."""

    count: int
    created: int
    updated: int
    new_ids: dict[str, str] = field(default_factory=dict)  # "type:id" -> destinationId

    def summary(self, url: str, space: str) -> str:
        return (
            f"imported {self.count} saved objects into Kibana at {url} (space {space}): "
            f"{self.created} new, {self.updated} updated"
        )


def import_url(kibana_url: str, space: str = "default") -> str:
    base = kibana_url.rstrip("/")
    prefix = "" if space == "default" else f"/s/{space}"
    return f"{base}{prefix}/api/saved_objects/_import"


def import_objects(
    cfg: ESConfig,
    objects: Sequence[Obj],
    *,
    space: str = "default",
    session: requests.Session | None = None,
) -> ImportResult:
    """Import `objects` into Kibana at `cfg.url` (overwriting same ids); KibanaError if refused."""
    url = import_url(cfg.url, space)
    headers = {"kbn-xsrf": XSRF_VALUE}
    auth: tuple[str, str] | None = None
    if cfg.api_key:
        headers["Authorization"] = f"ApiKey {cfg.api_key}"
    elif cfg.username and cfg.password:
        auth = (cfg.username, cfg.password)
    body = ndjson.dumps(objects).encode("utf-8")
    http = session or requests.Session()
    try:
        resp = http.post(
            url,
            params={"overwrite": "true"},
            headers=headers,
            auth=auth,
            files={"file": ("predwatch.ndjson", body, "application/ndjson")},
            verify=cfg.ca_cert or True,
            timeout=cfg.request_timeout,
        )
    except requests.exceptions.SSLError as exc:
        raise KibanaError(
            f"TLS to Kibana at {cfg.url} failed ({_short(exc, cfg)}); pass --ca-cert with the "
            "CA certificate that signed Kibana's certificate"
        ) from None
    except requests.exceptions.Timeout:
        raise KibanaError(
            f"Kibana at {cfg.url} did not answer within {cfg.request_timeout:g}s"
        ) from None
    except requests.exceptions.ConnectionError:
        raise KibanaError(
            f"Kibana at {cfg.url} could not be reached (connection refused or host unknown); "
            "check --url (Kibana listens on port 5601 by default)"
        ) from None
    except requests.exceptions.RequestException as exc:
        raise KibanaError(
            f"the request to Kibana at {cfg.url} failed: {_short(exc, cfg)}"
        ) from None
    finally:
        if session is None:
            http.close()
    return _result(resp, cfg, space)


def _result(resp: requests.Response, cfg: ESConfig, space: str) -> ImportResult:
    status = resp.status_code
    message = _message(resp, cfg)
    if status == 401:
        raise KibanaError(
            f"Kibana at {cfg.url} rejected the credentials ({cfg.auth_kind}); pass --api-key "
            "or --username/--password (the same as for Elasticsearch)"
        )
    if status == 403:
        raise KibanaError(
            f"Kibana at {cfg.url} refused the import for {cfg.auth_kind}: the user needs the "
            f"'Saved Objects Management' privilege in space {space!r} ({message})"
        )
    if status == 404:
        raise KibanaError(
            f"no saved-objects import API at {import_url(cfg.url, space)}: is --url Kibana "
            f"(not Elasticsearch), and does space {space!r} exist? ({message})"
        )
    if status == 413:
        raise KibanaError(
            "Kibana refused the file as too large; raise savedObjects.maxImportPayloadBytes "
            "in kibana.yml or lower --max-features"
        )
    if status >= 400:
        raise KibanaError(f"Kibana at {cfg.url} refused the import: {status} {message}")
    try:
        body = resp.json()
    except ValueError:
        raise KibanaError(f"{cfg.url} answered the import with non-JSON; is it Kibana?") from None
    if not isinstance(body, dict):
        raise KibanaError(f"{cfg.url} answered the import with {str(body)[:100]!r}")
    if not body.get("success", False):
        raise KibanaError(_failures(body.get("errors") or [], int(body.get("successCount", 0))))
    results = body.get("successResults") or []
    updated = sum(1 for r in results if r.get("overwrite"))
    new_ids = {
        f"{r.get('type')}:{r.get('id')}": str(r["destinationId"])
        for r in results
        if r.get("destinationId") and r.get("destinationId") != r.get("id")
    }
    count = int(body.get("successCount", len(results)))
    return ImportResult(count, count - updated, updated, new_ids)


def _failures(errors: list[Obj], imported: int) -> str:
    parts = []
    for e in errors[:3]:
        err = e.get("error") or {}
        kind = err.get("type", "error")
        detail = err.get("message") or ", ".join(
            f"{r.get('type')}:{r.get('id')}" for r in err.get("references", [])
        )
        title = (e.get("meta") or {}).get("title") or e.get("title") or ""
        parts.append(f"{e.get('type')}:{e.get('id')} {title!r}: {kind} {detail}".strip())
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return (
        f"Kibana imported {imported} object(s) but refused {len(errors)}: "
        + "; ".join(parts)
        + more
    )


def _message(resp: requests.Response, cfg: ESConfig) -> str:
    try:
        body = resp.json()
        if isinstance(body, dict):
            text = str(body.get("message") or body.get("error") or body)
        else:
            text = str(body)
    except ValueError:
        text = resp.text
    return cfg.redact(" ".join(text.split())[:300])


def _short(exc: BaseException, cfg: ESConfig) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return cfg.redact(text[:200])
