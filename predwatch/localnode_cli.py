"""`predwatch es start|stop|status|env`: a local Elasticsearch for development (no Docker)."""

from __future__ import annotations

import shlex

import click

from predwatch import localnode
from predwatch.cli_common import PredwatchGroup, echo_json
from predwatch.errors import LocalNodeError

_port = click.option(
    "--port", type=int, default=9200, show_default=True, help="HTTP port on 127.0.0.1"
)
_home = click.option(
    "--home",
    type=click.Path(file_okay=False),
    default=None,
    help="node folder (config, data, logs) [default: <cache>/nodes/<port>]",
)
_json = click.option("--json", "as_json", is_flag=True, help="print JSON")


def _node(port: int, home: str | None, **kw: object) -> localnode.LocalNode:
    return localnode.LocalNode(home=home, port=port, log=lambda m: click.echo(m, err=True), **kw)  # type: ignore[arg-type]


@click.group(cls=PredwatchGroup)
def es() -> None:
    """Run a local single-node Elasticsearch for development and tests.

    It comes from Maven Central (the integ-test-zip: server + security only, no ILM, no
    Watcher) and needs Java >= 21. As root, the node runs as the system user predwatch-es.

    \b
    Example:
      predwatch es start --port 9200
      predwatch es status --json
      predwatch es stop
    """


@es.command()
@_port
@_home
@click.option(
    "--version",
    "version",
    default=localnode.DEFAULT_VERSION,
    show_default=True,
    help="Elasticsearch version to fetch",
)
@click.option(
    "--security", is_flag=True, help="security on: elastic password, TLS with a generated CA"
)
@click.option("--heap", default="2g", show_default=True, help="JVM heap (-Xms/-Xmx)")
@_json
def start(
    port: int, home: str | None, version: str, security: bool, heap: str, as_json: bool
) -> None:
    """Fetch (once), start, and wait until the node answers. Already running: says so.

    \b
    Example:
      predwatch es start --security --port 9201
    """
    node = _node(port, home, version=version, security=security, heap=heap)
    before = node.status()
    info = node.start()
    if as_json:
        echo_json(info.to_dict())
        return
    if before.pid is not None:
        click.echo(f"already running: {info.url} (pid {info.pid}, Elasticsearch {info.version})")
    else:
        click.echo(f"running: {info.url} (pid {info.pid}, Elasticsearch {info.version})")
    if info.security:
        click.echo(f"credentials (elastic password, CA certificate): {info.credentials_file}")
        where = f" --home {shlex.quote(home)}" if home else ""
        click.echo(f'use it with: eval "$(predwatch es env --port {port}{where})"')
    else:
        click.echo(f"use it with: export PREDWATCH_ES_URL={info.url}")


@es.command()
@_port
@_home
@_json
def stop(port: int, home: str | None, as_json: bool) -> None:
    """Stop the node started with the same --port/--home (exactly that process).

    \b
    Example:
      predwatch es stop --port 9200
    """
    node = _node(port, home)
    pid = node.pid()
    stopped = node.stop()
    if as_json:
        echo_json({"stopped": stopped, "pid": pid, "url": node.url})
    else:
        click.echo(f"stopped pid {pid}" if stopped else f"no node running at {node.url}")


@es.command()
@_port
@_home
@_json
def status(port: int, home: str | None, as_json: bool) -> None:
    """Is the local node running? `--json`: {"running", "url", "pid", "version", ...}.

    \b
    Example:
      predwatch es status --json
    """
    info = _node(port, home).status()
    if as_json:
        echo_json(info.to_dict())
    elif info.running:
        click.echo(f"running: {info.url} (pid {info.pid}, Elasticsearch {info.version})")
    else:
        click.echo(f"not running ({info.url})")


@es.command()
@_port
@_home
def env(port: int, home: str | None) -> None:
    """Print `export PREDWATCH_ES_*=...` lines for the node (use with eval).

    \b
    Example:
      eval "$(predwatch es env --port 9201)"
    """
    node = _node(port, home)
    if not node.exists():
        raise LocalNodeError(
            f"no node was created in {node.home}; pass the --home and --port given to "
            "`predwatch es start`"
        )
    lines = {"PREDWATCH_ES_URL": node.url}
    if node.security:
        creds = node.credentials()
        lines.update(
            PREDWATCH_ES_USERNAME=creds["username"],
            PREDWATCH_ES_PASSWORD=creds["password"],
            PREDWATCH_ES_CA_CERT=creds["ca_cert"],
        )
    for name, value in lines.items():
        click.echo(f"export {name}={shlex.quote(str(value))}")
