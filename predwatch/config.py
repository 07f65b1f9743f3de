"""Connection settings shared by every command and the shipper.

Read from keyword arguments first, then the environment (PREDWATCH_ES_*), then defaults.
Secrets are never part of a repr, a log line or an error message.

The URL may name several nodes of one cluster: a comma-separated string
("http://es1:9200,http://es2:9200") or a list. `url` always holds the comma-separated form
(what messages show); `hosts` the list the client spreads requests over and fails over to.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
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

    def __post_init__(self) -> None:
        # A list of URLs is kept in its comma-separated form: one hashable, printable value.
        object.__setattr__(self, "url", join_hosts(self.url))

    @property
    def hosts(self) -> list[str]:
        """The node URLs, in the order given."""
        return split_hosts(self.url)

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        **overrides: str | Sequence[str] | float | None,
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
        hosts = self.hosts
        if not hosts:
            raise ConfigError(
                "PREDWATCH_ES_URL names no host; give one URL or several separated by commas"
            )
        for host in hosts:
            if not host.startswith(("http://", "https://")):
                raise ConfigError(
                    f"PREDWATCH_ES_URL must start with http:// or https://, got {host!r}"
                    + (f" in {self.url!r}" if len(hosts) > 1 else "")
                )
        if len({h.split("://", 1)[0] for h in hosts}) > 1:
            raise ConfigError(
                f"PREDWATCH_ES_URL mixes http:// and https:// nodes ({self.url}); the nodes "
                "of one cluster all speak the same protocol"
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

    def with_url(self, url: str | Sequence[str]) -> ESConfig:
        return replace(self, url=join_hosts(url))

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


def split_hosts(url: str) -> list[str]:
    """The URLs of a comma-separated list, stripped, empty items dropped."""
    return [part.strip() for part in url.split(",") if part.strip()]


def join_hosts(url: str | Sequence[str]) -> str:
    """One URL, a comma-separated string or a list of URLs -> the comma-separated form."""
    if isinstance(url, str):
        return ",".join(split_hosts(url)) if "," in url else url.strip()
    if not isinstance(url, Sequence) or not all(isinstance(u, str) for u in url):
        raise ConfigError(
            f"the Elasticsearch URL must be a string or a list of strings, not {url!r}"
        )
    return ",".join(h for u in url for h in split_hosts(u))
