"""What every predwatch command shares: connection options, the options several commands
take alike, JSON output, error handling.

Exit codes (every command): 0 ok, 1 a finding (drift, alert, skew), 2 usage/connection error.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from predwatch.config import ESConfig
from predwatch.errors import EXIT_ERROR, PredwatchError
from predwatch.extras import missing_extra

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

F = TypeVar("F", bound=Callable[..., Any])
_CFG_KEY = "predwatch.es_config"
EXTRA_KEY = "predwatch.extra"  # the extra the running command needs (predwatch.cli.COMMANDS)


def options(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Several click options as one decorator; they show in `--help` in the order given."""

    def apply(fn: F) -> F:
        for decorator in reversed(decorators):
            fn = decorator(fn)
        return fn

    return apply


def credential_options(
    api_key_help: str = "API key (base64 'id:key' as Elasticsearch returns it)",
) -> Callable[[F], F]:
    """--api-key/--username/--password/--ca-cert, each defaulting to its PREDWATCH_ES_*
    variable: the Elasticsearch credentials (`predwatch setup kibana` gives them to Kibana)."""
    return options(
        click.option(
            "--api-key",
            envvar="PREDWATCH_ES_API_KEY",
            help=f"{api_key_help} [env PREDWATCH_ES_API_KEY]",
        ),
        click.option(
            "--username",
            envvar="PREDWATCH_ES_USERNAME",
            help="basic-auth user [env PREDWATCH_ES_USERNAME]",
        ),
        click.option(
            "--password",
            envvar="PREDWATCH_ES_PASSWORD",
            help="basic-auth password [env PREDWATCH_ES_PASSWORD]",
        ),
        click.option(
            "--ca-cert",
            envvar="PREDWATCH_ES_CA_CERT",
            type=click.Path(dir_okay=False),
            help="CA certificate (PEM) for https [env PREDWATCH_ES_CA_CERT]",
        ),
    )


def connection_options(fn: F) -> F:
    """Add --es-url/--api-key/--username/--password/--ca-cert; pass `cfg: ESConfig` instead."""

    @click.option(
        "--es-url",
        envvar="PREDWATCH_ES_URL",
        help="Elasticsearch URL [env PREDWATCH_ES_URL; default http://localhost:9200]",
        show_envvar=False,
    )
    @credential_options()
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
        # so the entry point can explain a client error that escaped the command
        ctx = click.get_current_context(silent=True)
        if ctx is not None:
            ctx.meta[_CFG_KEY] = cfg
        return fn(*args, cfg=cfg, **kwargs)

    return wrapper  # type: ignore[return-value]


def model_option(*, required: bool = False) -> Callable[[F], F]:
    """--model/-m: the model name, as the shipper logs it."""
    return click.option(
        "--model", "-m", required=required, help="model name (a-z, 0-9, _), as the shipper logs it"
    )


def baseline_option(
    help: str, *, required: bool = False, multiple: bool = False
) -> Callable[[F], F]:
    """--baseline FILE, a baseline JSON: the parameter `baseline_path` (`baseline_paths`, a
    tuple, when repeatable)."""
    return click.option(
        "--baseline",
        "baseline_paths" if multiple else "baseline_path",
        required=required,
        multiple=multiple,
        type=click.Path(dir_okay=False),
        help=help,
    )


def connect(cfg: ESConfig) -> Elasticsearch:
    """A client of `cfg` whose cluster has answered: a command that needs Elasticsearch
    stops here, with what to do, before it writes anything."""
    from predwatch import es as es_mod

    client = es_mod.client(cfg)
    es_mod.ping(client, cfg)
    return client


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def fail(message: str, code: int = EXIT_ERROR) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


class PredwatchGroup(click.Group):
    """A click group that turns every failure into one line on stderr and its exit code.

    PredwatchError: its message and code. A module an extra brings is missing: which install
    it needs (exit 2). A client error that escaped a command: explained
    like any connection error (exit 2). Anything else is a bug, and still one line and exit
    2, never 1: to schedulers and CI, exit 1 means "a finding" (drift), not "crashed".
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise  # click's own: --help, usage errors (exit 2), Ctrl-C at a prompt
        except PredwatchError as exc:
            fail(_one_line(str(exc), ctx), exc.exit_code)
        except ModuleNotFoundError as exc:
            sub = f" {ctx.invoked_subcommand}" if ctx.invoked_subcommand else ""
            hint = missing_extra(exc, f"`{ctx.command_path}{sub}`", ctx.meta.get(EXTRA_KEY))
            fail(_one_line(hint or _unexpected(exc, ctx), ctx), EXIT_ERROR)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except Exception as exc:
            fail(_one_line(_unexpected(exc, ctx), ctx), EXIT_ERROR)
        return None


def _config_of(ctx: click.Context) -> ESConfig | None:
    cfg = ctx.meta.get(_CFG_KEY)
    return cfg if isinstance(cfg, ESConfig) else None


def _unexpected(exc: Exception, ctx: click.Context) -> str:
    import elastic_transport
    import elasticsearch

    from predwatch import es as es_mod

    cfg = _config_of(ctx)
    if cfg is not None and isinstance(
        exc, elasticsearch.ApiError | elastic_transport.TransportError
    ):
        return str(es_mod.explain(exc, cfg))
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.strerror or exc} ({exc.filename}); check the path and its permissions"
    detail = str(exc) or "no detail"
    return (
        f"unexpected {type(exc).__name__}: {detail} (this is a bug in predwatch; please report "
        "it with the command line)"
    )


def _one_line(message: str, ctx: click.Context) -> str:
    """`message` on one line, without URL userinfo or the configured secrets."""
    from predwatch.redact import redact_text

    cfg = _config_of(ctx)
    text = cfg.redact(message) if cfg is not None else redact_text(message)
    return " ".join(text.split())
