"""The deployment document: what serves a model (ML Test Score, Monitor 1 and 4).

One document in `predwatch-deployments` names the model (name, version, hash, trained_at),
the service, the host, the Python version and the installed distributions
(`packages.<name>` = version), plus `fingerprint`: the sha256 of the sorted
`name==version` lines of every distribution and a `python==<version>` line. The alert
rules `dependency_change` and `model_hash_change` compare these documents.

When: once a worker of the shipper has had its first `_bulk` answer (a process that never
reaches Elasticsearch spools only its predictions), and again on the first encoder pass
of each new UTC day while the shipper lives, through the ordinary delivery path (outbox,
spool while Elasticsearch is down, retries, dead letters). `_id` = hash of everything but
the time (model, service, host, Python, fingerprint) + the UTC day, with op_type create:
restarts and forked workers of one deployment on one host get 409 on the same day
("known", nothing new is written). So the index holds one document per deployment, host
and day it was alive, and a one-day rule window sees every deployment alive in it.

Cost: listing installed distributions reads each one's METADATA file (measured on the
dev VM: 60 ms for 59 distributions). It runs once per shipper on a short-lived background
thread, never on the caller's; forked children reuse the parent's list.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata as md
import json
import platform
import re
import socket
from collections.abc import Iterable, Mapping
from typing import Any

from predwatch import schema as s

from ._hashing import sha256_hex
from ._serialize import IsoClock, dumps

INDEX = s.index_name("deployments")
# Fields of deployments_mapping (python.version is schema.PYTHON_VERSION).
PYTHON_VERSION = s.PYTHON_VERSION
PACKAGES = "packages"
FINGERPRINT = "fingerprint"
MAX_PACKAGES = 500  # recorded as fields; the fingerprint covers every distribution
_PREFIX = b'{"create":{"_index":"' + INDEX.encode() + b'"'
_NORMALIZE = re.compile(r"[-_.]+")

Packages = Mapping[str, str] | Iterable[str] | None


def canonical_name(name: str) -> str:
    """PEP 503 normalised distribution name (`Zope.Interface` -> `zope-interface`)."""
    return _NORMALIZE.sub("-", name).lower()


def installed_packages(names: Packages = None) -> dict[str, str]:
    """name -> version: every installed distribution (None), the installed ones among
    `names`, or a mapping taken as given (a lock file, tests)."""
    if isinstance(names, Mapping):
        return {canonical_name(str(k)): str(v) for k, v in names.items()}
    if names is not None:
        out = {}
        for name in names:
            try:
                out[canonical_name(name)] = md.version(name)
            except md.PackageNotFoundError:
                continue  # absent: no line, so installing it later changes the fingerprint
        return out
    found: dict[str, str] = {}
    for dist in md.distributions():
        try:
            name, version = dist.metadata["Name"], dist.version
        except Exception:  # a broken METADATA must not stop shipping
            continue
        if name and version:
            found.setdefault(canonical_name(name), str(version))  # first on sys.path wins
    return found


def fingerprint(packages: Mapping[str, str], python: str) -> str:
    """sha256 over the sorted `name==version` lines (Python included)."""
    lines = sorted([f"{k}=={v}" for k, v in packages.items()] + [f"python=={python}"])
    return sha256_hex("\n".join(lines).encode())


def is_deployment(payload: bytes) -> bool:
    return payload.startswith(_PREFIX)


def utc_day(t: float) -> int:
    return int(t // 86400)


class Deployment:
    """The deployment document of one shipper; `prepare()` (slow) once, then `payload()`.

    `state`: pending (not acknowledged yet), recorded (written), known (Elasticsearch had
    it: the same deployment on this host today), refused (dead-lettered), failed (the
    environment could not be read; nothing is written).
    """

    def __init__(
        self,
        *,
        model: str,
        model_version: str,
        model_hash: str | None,
        trained_at: str | None,
        service: Mapping[str, str | None],
        packages: Packages = None,
    ) -> None:
        fields = {
            s.MODEL_NAME: model,
            s.MODEL_VERSION: model_version,
            s.MODEL_HASH: model_hash,
            s.MODEL_TRAINED_AT: trained_at,
            s.SERVICE_NAME: service.get("name"),
            s.SERVICE_VERSION: service.get("version"),
            s.SERVICE_ENVIRONMENT: service.get("environment"),
            s.HOST_NAME: socket.gethostname(),
            PYTHON_VERSION: platform.python_version(),
        }
        self._static: dict[str, Any] = {}
        for name, value in fields.items():
            if value is not None:
                s.set_path(self._static, name, value)
        if isinstance(packages, str):  # one name, not its letters
            packages = [packages]
        self._spec = packages if isinstance(packages, Mapping) or packages is None else [*packages]
        self.packages: dict[str, str] | None = None
        self.fingerprint: str | None = None
        self.state = "pending"
        self.recorded_day = -1  # the UTC day whose document Elasticsearch holds
        self._sent: dict[bytes, int] = {}  # recent payloads -> their day (to recognise acks)
        self._iso = IsoClock()

    @property
    def ready(self) -> bool:
        return self.packages is not None

    def prepare(self) -> None:
        """Read the environment (slow: run it off the caller's thread); idempotent."""
        if self.packages is not None:
            return
        packages = installed_packages(self._spec)
        self.fingerprint = fingerprint(packages, str(self._static["python"]["version"]))
        self.packages = packages

    def document(self, now: float) -> tuple[str, dict[str, Any]]:
        """(`_id`, source) of the document for the UTC day of `now` (after `prepare`)."""
        if self.packages is None or self.fingerprint is None:
            raise RuntimeError("Deployment.prepare() has not run")
        identity = json.dumps([self._static, self.fingerprint], sort_keys=True)
        day = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y%m%d")
        doc_id = sha256_hex(identity.encode())[:40] + "-" + day
        kept = dict(sorted(self.packages.items())[:MAX_PACKAGES])
        doc = {s.TIMESTAMP: self._iso(now), **self._static}
        doc[PACKAGES] = kept
        doc[FINGERPRINT] = self.fingerprint
        return doc_id, doc

    def payload(self, now: float) -> bytes:
        """The two `_bulk` lines (create) of today's document."""
        doc_id, doc = self.document(now)
        action = {"create": {"_index": INDEX, "_id": doc_id}}
        out = dumps(action) + b"\n" + dumps(doc) + b"\n"
        if len(self._sent) >= 4:
            self._sent.pop(next(iter(self._sent)))
        self._sent[out] = utc_day(now)
        return out

    def settled(self, payload: bytes, outcome: str) -> None:
        """Elasticsearch's answer for a deployment payload: ok | duplicate | dead."""
        day = self._sent.get(payload)
        if day is None:  # another process's document (an adopted spool)
            return
        if outcome == "dead":
            self.state = "refused"
            return
        self.state = "recorded" if outcome == "ok" else "known"
        self.recorded_day = max(self.recorded_day, day)
