"""What every predwatch command shares: connection options, JSON output, error handling.

Exit codes (every command): 0 ok, 1 a finding (drift, alert, skew), 2 usage/connection error.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from predwatch.config import ESConfig
from predwatch.errors import EXIT_ERROR, PredwatchError

F = TypeVar("F", bound=Callable[..., Any])


def connection_options(fn: F) -> F:
    """Add --es-url/--api-key/--username/--password/--ca-cert; pass `cfg: ESConfig` instead."""

    @click.option(
        "--es-url",
        envvar="PREDWATCH_ES_URL",
        help="Elasticsearch URL [env PREDWATCH_ES_URL; default http://localhost:9200]",
        show_envvar=False,
    )
    @click.option(
        "--api-key",
        envvar="PREDWATCH_ES_API_KEY",
        help="API key (base64 'id:key' as Elasticsearch returns it) [env PREDWATCH_ES_API_KEY]",
    )
    @click.option(
        "--username",
        envvar="PREDWATCH_ES_USERNAME",
        help="basic-auth user [env PREDWATCH_ES_USERNAME]",
    )
    @click.option(
        "--password",
        envvar="PREDWATCH_ES_PASSWORD",
        help="basic-auth password [env PREDWATCH_ES_PASSWORD]",
    )
    @click.option(
        "--ca-cert",
        envvar="PREDWATCH_ES_CA_CERT",
        type=click.Path(dir_okay=False),
        help="CA certificate (PEM) for https [env PREDWATCH_ES_CA_CERT]",
    )
    @functools.wraps(fn)
    def wrapper(
        *args: Any,
        es_url: str | None,
        api_key: str | None,
        username: str | None,
        password: str | None,
        ca_cert: str | None,
        **kwargs: Any,
    ) -> Any:
        cfg = ESConfig.from_env(
            env={},
            url=es_url,
            api_key=api_key,
            username=username,
            password=password,
            ca_cert=ca_cert,
        )
        return fn(*args, cfg=cfg, **kwargs)

    return wrapper  # type: ignore[return-value]


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def fail(message: str, code: int = EXIT_ERROR) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


class PredwatchGroup(click.Group):
    """A click group that reports PredwatchError as one line and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PredwatchError as exc:
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        return None
