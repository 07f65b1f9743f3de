"""Connection settings shared by every command and the shipper.

Read from keyword arguments first, then the environment (PREDWATCH_ES_*), then defaults.
Secrets are never part of a repr, a log line or an error message: credentials written into
the URL (`https://user:password@host:9200`) move into `username`/`password` when the config
is built, so no URL predwatch holds or shows carries them.

The URL may name several nodes of one cluster: a comma-separated string
("http://es1:9200,http://es2:9200") or a list. `url` always holds the comma-separated form
(what messages show); `hosts` the list the client spreads requests over and fails over to.
"""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from urllib.parse import urlsplit

from predwatch.errors import ConfigError
from predwatch.redact import redact_text, redact_url, split_userinfo

DEFAULT_URL = "http://localhost:9200"
ENV = {
    "url": "PREDWATCH_ES_URL",
    "api_key": "PREDWATCH_ES_API_KEY",
    "username": "PREDWATCH_ES_USERNAME",
    "password": "PREDWATCH_ES_PASSWORD",
    "ca_cert": "PREDWATCH_ES_CA_CERT",
}
_SECRETS = ("api_key", "password")


class _Secrets:
    """What both connection configs share: secrets never shown (repr, str, messages)."""

    def redact(self, text: str) -> str:
        """`text` with URL userinfo and every secret of this config replaced by ***."""
        return redact_text(text, tuple(getattr(self, name) for name in _SECRETS))

    def __repr__(self) -> str:
        def show(name: str) -> str:
            value = getattr(self, name)
            return "'***'" if name in _SECRETS and value else repr(value)

        shown = ", ".join(f"{f.name}={show(f.name)}" for f in fields(self))  # type: ignore[arg-type]
        return f"{type(self).__name__}({shown})"

    __str__ = __repr__


@dataclass(frozen=True, repr=False)
class ESConfig(_Secrets):
    """Where Elasticsearch is and how to authenticate to it."""

    url: str = DEFAULT_URL
    api_key: str | None = None
    username: str | None = None
    password: str | None = None
    ca_cert: str | None = None
    request_timeout: float = 30.0

    def __post_init__(self) -> None:
        # A list of URLs is kept in its comma-separated form: one hashable, printable value.
        hosts = split_hosts(join_hosts(self.url))
        clean: list[str] = []
        found: dict[str, str] = {}
        for host in hosts:
            try:
                url, user, password = split_userinfo(host)
            except ValueError as exc:
                raise ConfigError(
                    f"PREDWATCH_ES_URL {redact_url(host)!r} is not a valid URL ({exc}); "
                    "expected e.g. http://localhost:9200"
                ) from None
            clean.append(url)
            for name, value in (("username", user), ("password", password)):
                if value is None:
                    continue
                if found.setdefault(name, value) != value:
                    raise ConfigError(
                        f"the URLs {','.join(clean)} carry different {name}s; give credentials "
                        "once, in PREDWATCH_ES_USERNAME/PREDWATCH_ES_PASSWORD"
                    )
        for name, value in found.items():
            given = getattr(self, name)
            if given is not None and given != value:
                raise ConfigError(
                    f"the URL {','.join(clean)} carries a {name} that differs from the {name} "
                    "setting; give credentials in one place (preferably PREDWATCH_ES_USERNAME/"
                    "PREDWATCH_ES_PASSWORD, not the URL)"
                )
        # frozen dataclass: the credentials move out of the URL exactly once, here
        object.__setattr__(self, "url", ",".join(clean) if len(clean) != 1 else clean[0])
        object.__setattr__(self, "username", self.username or found.get("username"))
        object.__setattr__(self, "password", self.password or found.get("password"))

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
            where = f" in {self.url!r}" if len(hosts) > 1 else ""
            if not host.startswith(("http://", "https://")):
                raise ConfigError(
                    f"PREDWATCH_ES_URL must start with http:// or https://, got "
                    f"{redact_url(host).rpartition('@')[2]!r}{where}"
                )
            if not urlsplit(host).hostname:
                raise ConfigError(
                    f"PREDWATCH_ES_URL {host!r} names no host{where}; expected e.g. "
                    "http://localhost:9200"
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
        if self.ca_cert and not _is_file(self.ca_cert):
            raise ConfigError(
                f"CA certificate {self.ca_cert} does not exist or is not a file; "
                "set PREDWATCH_ES_CA_CERT (--ca-cert) to the PEM file of the CA"
            )
        if self.ca_cert:
            _check_ca(self.ca_cert)

    @property
    def auth_kind(self) -> str:
        if self.api_key:
            return "API key"
        if self.username:
            return f"user {self.username!r}"
        return "no credentials"

    def with_url(self, url: str | Sequence[str]) -> ESConfig:
        return replace(self, url=join_hosts(url))


DEFAULT_KIBANA_URL = "http://localhost:5601"
KIBANA_ENV = {"url": "PREDWATCH_KIBANA_URL", "space": "PREDWATCH_KIBANA_SPACE"}
_SPACE_ID = re.compile(r"^[a-z0-9_-]+$")


@dataclass(frozen=True, repr=False)
class KibanaConfig(_Secrets):
    """Where Kibana is, which space, and how to authenticate to it.

    Kibana checks the same users and API keys as the Elasticsearch cluster behind it, so
    `from_es` takes the credentials and CA certificate of an `ESConfig`.
    """

    url: str = DEFAULT_KIBANA_URL
    api_key: str | None = None
    username: str | None = None
    password: str | None = None
    ca_cert: str | None = None
    space: str = "default"
    request_timeout: float = 30.0

    def __post_init__(self) -> None:
        try:
            url, user, password = split_userinfo(self.url.strip())
        except ValueError as exc:
            raise ConfigError(
                f"Kibana URL {redact_url(self.url)!r} is not a valid URL ({exc}); expected e.g. "
                f"{DEFAULT_KIBANA_URL}"
            ) from None
        object.__setattr__(self, "url", url.rstrip("/"))
        object.__setattr__(self, "username", self.username or user)
        object.__setattr__(self, "password", self.password or password)
        object.__setattr__(self, "space", self.space or "default")

    @classmethod
    def from_es(
        cls,
        es: ESConfig,
        url: str | None = None,
        space: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> KibanaConfig:
        """Kibana at `url` (else PREDWATCH_KIBANA_URL, else the default) in `space` (else
        PREDWATCH_KIBANA_SPACE, else `default`), with the credentials of `es`."""
        env = os.environ if env is None else env
        cfg = cls(
            url=url or env.get(KIBANA_ENV["url"]) or DEFAULT_KIBANA_URL,
            api_key=es.api_key,
            username=es.username,
            password=es.password,
            ca_cert=es.ca_cert,
            space=space or env.get(KIBANA_ENV["space"]) or "default",
            request_timeout=es.request_timeout,
        )
        cfg.validate()
        return cfg

    def validate(self) -> None:
        if not self.url.startswith(("http://", "https://")) or not urlsplit(self.url).hostname:
            raise ConfigError(
                f"the Kibana URL (--url / --kibana-url / PREDWATCH_KIBANA_URL) must be one "
                f"http:// or https:// URL with a host, got {self.url!r}"
            )
        if not _SPACE_ID.match(self.space):
            raise ConfigError(
                f"Kibana space id {self.space!r} may hold only a-z, 0-9, _ and - (the <id> in "
                "/s/<id>/ of Kibana's URLs, not the space's display name)"
            )
        # The credentials and CA certificate follow Elasticsearch's rules.
        ESConfig(
            api_key=self.api_key,
            username=self.username,
            password=self.password,
            ca_cert=self.ca_cert,
        ).validate()

    def api_url(self, path: str) -> str:
        """`path` (e.g. /api/saved_objects/_import) in this config's space."""
        prefix = "" if self.space == "default" else f"/s/{self.space}"
        return f"{self.url}{prefix}{path}"

    @property
    def auth_kind(self) -> str:
        if self.api_key:
            return "API key"
        if self.username:
            return f"user {self.username!r}"
        return "no credentials"


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


def _is_file(path: str) -> bool:
    """Path.is_file, False instead of raising for a name too long or with a NUL byte."""
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False


def _check_ca(path: str) -> None:
    """ConfigError unless `path` holds at least one PEM certificate Python's TLS can load."""
    try:
        ssl.create_default_context(cafile=path)
    except (ssl.SSLError, ValueError, OSError) as exc:
        raise ConfigError(
            f"CA certificate {path} cannot be used ({getattr(exc, 'reason', None) or exc}); "
            "set PREDWATCH_ES_CA_CERT (--ca-cert) to the PEM file of the CA that signed the "
            "server's certificate"
        ) from None


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
