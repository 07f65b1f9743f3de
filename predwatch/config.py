"""Connection settings shared by every command and the shipper.

Read from keyword arguments first, then the environment (PREDWATCH_ES_*), then defaults.
Secrets are never part of a repr, a log line or an error message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

from predwatch.errors import ConfigError

DEFAULT_URL = "http://localhost:9200"
ENV = {
    "url": "PREDWATCH_ES_URL",
    "api_key": "PREDWATCH_ES_API_KEY",
    "username": "PREDWATCH_ES_USERNAME",
    "password": "PREDWATCH_ES_PASSWORD",
    "ca_cert": "PREDWATCH_ES_CA_CERT",
}
_SECRETS = ("api_key", "password")


@dataclass(frozen=True, repr=False)
class ESConfig:
    """Where Elasticsearch is and how to authenticate to it."""

    url: str = DEFAULT_URL
    api_key: str | None = None
    username: str | None = None
    password: str | None = None
    ca_cert: str | None = None
    request_timeout: float = 30.0

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, **overrides: str | float | None
    ) -> ESConfig:
        """Options given (not None) win over PREDWATCH_ES_* variables, which win over defaults."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for name, var in ENV.items():
            if env.get(var):
                values[name] = env[var]
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"unknown connection setting(s): {', '.join(sorted(unknown))}")
        cfg = cls(**values)  # type: ignore[arg-type]
        cfg.validate()
        return cfg

    def validate(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ConfigError(
                f"PREDWATCH_ES_URL must start with http:// or https://, got {self.url!r}"
            )
        if self.api_key and (self.username or self.password):
            raise ConfigError("give either an API key or a username/password, not both")
        if bool(self.username) != bool(self.password):
            raise ConfigError("PREDWATCH_ES_USERNAME and PREDWATCH_ES_PASSWORD go together")
        if self.ca_cert and not Path(self.ca_cert).is_file():
            raise ConfigError(f"CA certificate {self.ca_cert} does not exist")

    @property
    def auth_kind(self) -> str:
        if self.api_key:
            return "API key"
        if self.username:
            return f"user {self.username!r}"
        return "no credentials"

    def with_url(self, url: str) -> ESConfig:
        return replace(self, url=url)

    def redact(self, text: str) -> str:
        """`text` with every secret of this config replaced by ***."""
        for name in _SECRETS:
            secret = getattr(self, name)
            if secret:
                text = text.replace(secret, "***")
        return text

    def __repr__(self) -> str:
        def show(name: str) -> str:
            value = getattr(self, name)
            return "'***'" if name in _SECRETS and value else repr(value)

        shown = ", ".join(f"{f.name}={show(f.name)}" for f in fields(self))
        return f"ESConfig({shown})"

    __str__ = __repr__


TOTAL_FIELDS_LIMIT_ENV = "PREDWATCH_TOTAL_FIELDS_LIMIT"
MIN_TOTAL_FIELDS_LIMIT = 100


def total_fields_limit(value: int | str | None = None, env: Mapping[str, str] | None = None) -> int:
    """`index.mapping.total_fields.limit` of the prediction templates: `value`, else
    PREDWATCH_TOTAL_FIELDS_LIMIT, else the default. The shipper sizes its per-document field
    cap from the same value, so setup and shippers must agree on it."""
    from predwatch.schema import DEFAULT_TOTAL_FIELDS_LIMIT

    env = os.environ if env is None else env
    raw: object = value if value is not None else env.get(TOTAL_FIELDS_LIMIT_ENV)
    if raw is None or raw == "":
        return DEFAULT_TOTAL_FIELDS_LIMIT
    try:
        limit = int(str(raw).strip()) if not isinstance(raw, bool) else -1
    except ValueError:
        limit = -1
    if limit < MIN_TOTAL_FIELDS_LIMIT:
        raise ConfigError(
            f"the total fields limit ({TOTAL_FIELDS_LIMIT_ENV} / --total-fields-limit / "
            f"total_fields_limit=) must be a whole number of at least "
            f"{MIN_TOTAL_FIELDS_LIMIT}, not {raw!r}"
        )
    return limit
