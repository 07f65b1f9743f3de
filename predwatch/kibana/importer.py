"""Import saved objects through Kibana's `POST /api/saved_objects/_import`.

The request is what Kibana documents: multipart form field `file` holding NDJSON and
`overwrite=true` so stable ids update existing objects; `KibanaClient` adds `kbn-xsrf`, the
credentials and the space.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from predwatch.config import KibanaConfig
from predwatch.kibana import ndjson
from predwatch.kibana.client import KibanaClient
from predwatch.kibana.context import KibanaError

Obj = dict[str, Any]


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


IMPORT_PATH = "/api/saved_objects/_import"
IMPORT_PRIVILEGE = "the 'Saved Objects Management' privilege"


def import_objects(
    cfg: KibanaConfig,
    objects: Sequence[Obj],
    *,
    session: requests.Session | None = None,
) -> ImportResult:
    """Import `objects` into Kibana's space of `cfg` (overwriting same ids); KibanaError if
    refused."""
    body = ndjson.dumps(objects).encode("utf-8")
    with KibanaClient(cfg, session) as client:
        resp = client.request(
            "POST",
            IMPORT_PATH,
            params={"overwrite": "true"},
            files={"file": ("predwatch.ndjson", body, "application/ndjson")},
            allow=(413,),
            privilege=IMPORT_PRIVILEGE,
        )
        if resp.status_code == 413:
            raise KibanaError(
                "Kibana refused the file as too large; raise savedObjects.maxImportPayloadBytes "
                "in kibana.yml or lower --max-features"
            )
        return _result(resp, cfg)


def _result(resp: requests.Response, cfg: KibanaConfig) -> ImportResult:
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
