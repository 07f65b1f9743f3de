"""`ShipperConfig`: every option of a `Shipper`, validated once, frozen.

    config = ShipperConfig(
        model="credit",
        model_version="3.1.0",
        spool=SpoolConfig(dir="/var/spool/predwatch", budget=256 << 20),
        pii=PiiConfig(rules={"email": "drop", "phone": "hash"}, key="secret"),
    )
    shipper = Shipper(config=config)

`Shipper(model=..., spool_dir=..., pii=...)` builds the same object from its keyword
arguments (`ShipperConfig.from_keywords`): one validation path, whichever way the options
come in. Validation here is pure (names, types, ranges); what needs the environment or
the disk (reading the baseline, PREDWATCH_* variables, a writable spool for
durability="disk") happens when the `Shipper` is built. Secrets (`password`, `api_key`,
the PII key) are left out of `repr`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from predwatch import schema
from predwatch.baseline import Baseline
from predwatch.config import ESConfig, total_fields_limit
from predwatch.errors import ConfigError

from ._bulk import Sink
from ._deployment import Packages
from ._pii import ACTIONS as PII_ACTIONS

DURABILITIES = ("memory", "disk")
SPOOL_POLICIES = ("drop_newest", "block")
BaselineSource = str | os.PathLike[str] | Baseline | Mapping[str, Any] | None


def _positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive whole number, not {value!r}")


def _positive_seconds(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(f"{name} must be a positive number of seconds, not {value!r}")


def _optional_text(name: str, value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{name} must be text or None, not {type(value).__name__}")


@dataclass(frozen=True, kw_only=True)
class SpoolConfig:
    """The disk spool: where (`dir`, default $PREDWATCH_SPOOL_DIR/<model> or
    ~/.cache/predwatch/spool/<model>), how many unsent bytes (`budget`), and what happens
    when memory and spool are both full (`policy`: "drop_newest" or "block")."""

    dir: str | os.PathLike[str] | None = None
    budget: int = 1 << 30
    policy: str = "drop_newest"

    def __post_init__(self) -> None:
        if self.dir is not None and not isinstance(self.dir, str | os.PathLike):
            raise ConfigError(f"spool dir must be a path or None, not {self.dir!r}")
        _positive_int("spool_budget", self.budget)
        if self.policy not in SPOOL_POLICIES:
            raise ConfigError(f"spool_policy must be 'drop_newest' or 'block', not {self.policy!r}")


@dataclass(frozen=True, kw_only=True)
class PiiConfig:
    """Per-field PII rules (`{"field": "drop" | "hash"}`) and the HMAC key of "hash"
    (default PREDWATCH_PII_KEY, read when the shipper is built)."""

    rules: Mapping[str, str] = field(default_factory=dict)
    key: str | bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.rules, Mapping):
            raise ConfigError(f"pii must map field names to 'drop' or 'hash', not {self.rules!r}")
        for name, action in self.rules.items():
            if not isinstance(name, str) or action not in PII_ACTIONS:
                raise ConfigError(
                    f"PII action {action!r} for field {name!r} is unknown; use 'drop' or 'hash'"
                )
        if self.key is not None and not isinstance(self.key, str | bytes):
            raise ConfigError("pii_key must be text or bytes")
        object.__setattr__(self, "rules", MappingProxyType(dict(self.rules)))


@dataclass(frozen=True, kw_only=True)
class ShipperConfig:
    """Every option of a `Shipper` (see docs/shipper.md for the table)."""

    model: str
    model_version: str | None = None
    baseline: BaselineSource = None
    # Connection: es_config, or the keywords (PREDWATCH_ES_* fill what is not given).
    es_url: str | Sequence[str] | None = None
    es_config: ESConfig | None = None
    api_key: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_cert: str | None = None
    # Delivery.
    durability: str = "memory"
    durability_timeout: float = 5.0
    batch_size: int = 500
    batch_bytes: int = 5 << 20
    flush_interval: float = 1.0
    max_queue: int = 100_000
    memory_bytes: int = 32 << 20
    spool: SpoolConfig = field(default_factory=SpoolConfig)
    # Document metadata.
    service_name: str | None = None
    service_version: str | None = None
    environment: str | None = None
    model_hash: str | None = None
    trained_at: str | None = None
    pii: PiiConfig | None = None
    max_string: int = 8192
    total_fields_limit: int | None = None
    # Lifecycle and extras.
    exit_timeout: float = 5.0
    handle_sigterm: bool = True
    sink: Callable[[], Sink] | None = None
    deployment: bool | None = None
    deployment_packages: Packages = None
    prometheus_port: int | None = None
    prometheus_addr: str = "127.0.0.1"
    # Prometheus multiprocess mode (pre-fork servers); None: on with PROMETHEUS_MULTIPROC_DIR.
    prometheus_multiprocess: bool | None = None
    # Model statistics: the baseline features with per-feature counts (None: all of them,
    # at most prometheus_max_features), and at most this many versions and labels.
    prometheus_features: Sequence[str] | None = None
    prometheus_max_features: int = 50
    prometheus_max_versions: int = 10
    prometheus_max_labels: int = 50

    def __post_init__(self) -> None:
        try:
            schema.validate_model_name(self.model)
        except schema.SchemaError as exc:
            raise ConfigError(str(exc)) from None
        if self.model_version is not None:
            object.__setattr__(self, "model_version", str(self.model_version))
        if self.durability not in DURABILITIES:
            raise ConfigError(f"durability must be 'memory' or 'disk', not {self.durability!r}")
        for name in ("batch_size", "max_queue", "batch_bytes", "memory_bytes", "max_string"):
            _positive_int(name, getattr(self, name))
        for name in ("flush_interval", "durability_timeout", "exit_timeout"):
            _positive_seconds(name, getattr(self, name))
        if self.total_fields_limit is not None:
            total_fields_limit(self.total_fields_limit)  # its own range check
        for name in ("service_name", "service_version", "environment", "model_hash"):
            _optional_text(name, getattr(self, name))
        if not isinstance(self.spool, SpoolConfig):
            raise ConfigError(f"spool must be a SpoolConfig, not {type(self.spool).__name__}")
        if self.pii is not None and not isinstance(self.pii, PiiConfig):
            raise ConfigError(f"pii must be a PiiConfig or None, not {type(self.pii).__name__}")
        if self.es_config is not None and any(
            v is not None for v in (self.api_key, self.username, self.password, self.ca_cert)
        ):
            raise ConfigError("give either es_config= or connection keywords, not both")
        if self.sink is not None and not callable(self.sink):
            raise ConfigError("sink must be a zero-argument factory of a Sink")
        port = self.prometheus_port
        if port is not None and (isinstance(port, bool) or not isinstance(port, int)):
            raise ConfigError(f"prometheus_port must be a port number or None, not {port!r}")
        if self.prometheus_multiprocess not in (None, True, False):
            raise ConfigError(
                "prometheus_multiprocess must be True, False or None (None: on when "
                f"PROMETHEUS_MULTIPROC_DIR is set), not {self.prometheus_multiprocess!r}"
            )
        for name in ("prometheus_max_features", "prometheus_max_versions", "prometheus_max_labels"):
            _positive_int(name, getattr(self, name))
        features = self.prometheus_features
        if features is not None:
            if isinstance(features, str) or not all(isinstance(f, str) for f in features):
                raise ConfigError(
                    f"prometheus_features must be a list of feature names or None, not {features!r}"
                )
            object.__setattr__(self, "prometheus_features", tuple(features))

    @classmethod
    def from_keywords(cls, **kw: Any) -> ShipperConfig:
        """The config of `Shipper`'s flat keyword arguments (`spool_dir`, `spool_budget`,
        `spool_policy`, `pii`, `pii_key` go into the sub-configs)."""
        spool = {
            short: kw.pop(f"spool_{short}")
            for short in ("dir", "budget", "policy")
            if f"spool_{short}" in kw
        }
        if kw.get("model") is None:
            raise ConfigError("model is required: Shipper(model=...) or config=ShipperConfig(...)")
        rules, key = kw.pop("pii", None), kw.pop("pii_key", None)
        pii = PiiConfig(rules=rules, key=key) if rules else None
        unknown = sorted(set(kw) - KEYWORD_FIELDS)
        if unknown:
            raise ConfigError(f"unknown Shipper option(s): {', '.join(unknown)}")
        return cls(spool=SpoolConfig(**spool), pii=pii, **kw)


KEYWORD_FIELDS = frozenset(f.name for f in fields(ShipperConfig)) - {"spool", "pii"}
