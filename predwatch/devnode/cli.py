"""`predwatch es start|stop|status|env`: a local Elasticsearch for development (no Docker):
one node, or with `--nodes N` a cluster of N nodes on 127.0.0.1."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from predwatch.cli_common import PredwatchGroup, echo_json
from predwatch.devnode import cluster as localcluster
from predwatch.devnode.download import DEFAULT_VERSION
from predwatch.devnode.node import LocalNode
from predwatch.devnode.process import default_home
from predwatch.errors import ConfigError, LocalNodeError

_port = click.option(
    "--port", type=int, default=9200, show_default=True, help="HTTP port on 127.0.0.1"
)
_home = click.option(
    "--home",
    type=click.Path(file_okay=False),
    default=None,
    help="node folder (config, data, logs; a cluster's nodes in node-1, node-2, ...) "
    "[default: <cache>/nodes/<port>]",
)
_json = click.option("--json", "as_json", is_flag=True, help="print JSON")


def _log(message: str) -> None:
    click.echo(message, err=True)


def _node(port: int, home: str | None, **kw: object) -> LocalNode:
    return LocalNode(home=home, port=port, log=_log, **kw)  # type: ignore[arg-type]


def _existing(port: int, home: str | None) -> localcluster.LocalCluster | LocalNode:
    return localcluster.cluster_or_node(Path(home) if home else None, port, _log)


@click.group(cls=PredwatchGroup)
def es() -> None:
    """Run a local Elasticsearch for development and tests: one node, or a cluster.

    It comes from Maven Central (the integ-test-zip: server + security only, no ILM, no
    Watcher) and needs Java >= 21. As root, the nodes run as the system user predwatch-es.
    `--nodes 3` starts three nodes forming one cluster (HTTP ports PORT..PORT+2, transport
    ports PORT+100..PORT+102); stop/status/env then act on all of them.

    \b
    Example:
      predwatch es start --port 9200
      predwatch es status --json
      predwatch es stop
      predwatch es start --nodes 3 --port 9200
    """


@es.command()
@_port
@_home
@click.option(
    "--version",
    "version",
    default=DEFAULT_VERSION,
    show_default=True,
    help="Elasticsearch version to fetch",
)
@click.option(
    "--security", is_flag=True, help="security on: elastic password, TLS with a generated CA"
)
@click.option(
    "--heap",
    default=None,
    help="JVM heap (-Xms/-Xmx) of each node [default: 2g, or 512m with --nodes]",
)
@click.option(
    "--nodes",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="number of nodes; 2 or more form one cluster",
)
@click.option(
    "--transport-port",
    type=int,
    default=None,
    help="first transport port of a cluster's nodes [default: PORT+100]",
)
@_json
def start(
    port: int,
    home: str | None,
    version: str,
    security: bool,
    heap: str | None,
    nodes: int,
    transport_port: int | None,
    as_json: bool,
) -> None:
    """Fetch (once), start, and wait until the node answers. Already running: says so.

    With --nodes N (N >= 2) the N nodes start together and the command waits until all
    have joined one cluster and it is green.

    \b
    Example:
      predwatch es start --security --port 9201
      predwatch es start --nodes 3 --port 9200 --home /tmp/es-cluster
    """
    where = Path(home) if home else default_home(port)
    if nodes > 1 or localcluster.is_cluster(where):
        if security:
            raise ConfigError(
                "--security with --nodes is not supported yet (the nodes would need transport "
                "TLS); start a secured single node, or a cluster without --security"
            )
        cluster = localcluster.LocalCluster(
            home=Path(home) if home else None,
            port=port,
            nodes=nodes,
            transport_port=transport_port,
            version=version,
            heap=heap or localcluster.DEFAULT_HEAP,
            log=_log,
        )
        _start_cluster(cluster, as_json)
        return
    node = _node(port, home, version=version, security=security, heap=heap or "2g")
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
        home_opt = f" --home {shlex.quote(home)}" if home else ""
        click.echo(f'use it with: eval "$(predwatch es env --port {port}{home_opt})"')
    else:
        click.echo(f"use it with: export PREDWATCH_ES_URL={info.url}")


def _start_cluster(cluster: localcluster.LocalCluster, as_json: bool) -> None:
    before = cluster.status()
    info = cluster.start()
    if as_json:
        echo_json(info.to_dict())
        return
    state = "already running" if before.running else "running"
    click.echo(
        f"{state}: {len(info.nodes)} nodes, cluster {info.health} (Elasticsearch {info.version})"
    )
    for n in info.nodes:
        click.echo(f"  {n.url} (pid {n.pid}, home {n.home})")
    click.echo(f"use it with: export PREDWATCH_ES_URL={info.url}")


@es.command()
@_port
@_home
@_json
def stop(port: int, home: str | None, as_json: bool) -> None:
    """Stop the node (or every node of the cluster) started with the same --port/--home
    (exactly those processes, by their pidfiles).

    \b
    Example:
      predwatch es stop --port 9200
    """
    found = _existing(port, home)
    if isinstance(found, localcluster.LocalCluster):
        pids = found.stop()
        if as_json:
            echo_json({"stopped": bool(pids), "pids": pids, "url": found.url})
        elif pids:
            click.echo(f"stopped pid(s) {', '.join(str(p) for p in pids)}")
        else:
            click.echo(f"no node running at {found.url}")
        return
    node = found
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
    found = _existing(port, home)
    if isinstance(found, localcluster.LocalCluster):
        cinfo = found.status()
        if as_json:
            echo_json(cinfo.to_dict())
            return
        up = sum(1 for n in cinfo.nodes if n.running)
        click.echo(
            f"{up} of {len(cinfo.nodes)} nodes running, cluster {cinfo.health or 'unreachable'}"
        )
        for n in cinfo.nodes:
            click.echo(f"  {n.url}: {'running, pid ' + str(n.pid) if n.running else 'not running'}")
        return
    info = found.status()
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
    node = _existing(port, home)
    if isinstance(node, localcluster.LocalCluster):
        click.echo(f"export PREDWATCH_ES_URL={shlex.quote(node.url)}")
        return
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
