"""`predwatch spool status|replay`: look at and deliver what shippers left on disk.

Each shipping process keeps its undelivered records under `<root>/<pid>-<start_ms>/`
(`root` = --spool-dir, or `$PREDWATCH_SPOOL_DIR/<model>`, or
`~/.cache/predwatch/spool/<model>`). A live process delivers its own directory; the
directory of a dead one is adopted by the next shipper using the same root, or by
`predwatch spool replay`.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Any

import click

from predwatch.cli_common import PredwatchGroup, connection_options, echo_json, fail
from predwatch.config import ESConfig
from predwatch.errors import EXIT_ERROR, EXIT_FINDING, EXIT_OK, ConfigError, PredwatchError
from predwatch.es import client as es_client
from predwatch.es import ping as es_ping

from ._shipper import Shipper, default_spool_root
from ._spool import describe, orphan_candidates

_json = click.option("--json", "as_json", is_flag=True, help="print JSON")
_dir = click.option(
    "--spool-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="spool root (the directory holding <pid>-<start> folders) [default: by --model]",
)
_model = click.option(
    "--model", default=None, help="model name: its default spool root; all models if omitted"
)


def _roots(spool_dir: Path | None, model: str | None) -> list[tuple[str | None, Path]]:
    if model is not None:
        from predwatch import schema

        # also keeps `--model ../..` from reaching folders outside the spool root
        schema.validate_model_name(model)
    if spool_dir is not None:
        return [(model, spool_dir)]
    if model is not None:
        return [(model, default_spool_root(model))]
    base = default_spool_root("_").parent
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return []
    return [(name, base / name) for name in names if (base / name).is_dir()]


@click.group(cls=PredwatchGroup)
def spool() -> None:
    """Inspect and replay the disk spools of predwatch shippers.

    \b
    Example:
      predwatch spool status --model credit
      predwatch spool replay --model credit --es-url http://localhost:9200
    """


@spool.command()
@_dir
@_model
@_json
def status(spool_dir: Path | None, model: str | None, as_json: bool) -> None:
    """Show every process spool: owner alive or not, records waiting, bytes, oldest record.

    \b
    Example:
      predwatch spool status --model credit --json
    """
    rows: list[dict[str, Any]] = []
    for name, root in _roots(spool_dir, model):
        for path in orphan_candidates(root):
            rows.append({"model": name, **describe(path)})
    if as_json:
        echo_json({"spools": rows, "pending_records": sum(r["pending_records"] for r in rows)})
        return
    if not rows:
        click.echo("no spooled records")
        return
    now = time.time()
    for r in rows:
        state = "live" if r["owner_alive"] else "orphan"
        age = (
            f", oldest {now - r['oldest_enqueued_at']:.0f}s ago" if r["oldest_enqueued_at"] else ""
        )
        click.echo(
            f"{r['path']}  {state}  {r['pending_records']} records, {r['disk_bytes']} bytes{age}"
        )


@spool.command()
@_dir
@_model
@connection_options
@click.option(
    "--timeout", type=float, default=60.0, show_default=True, help="seconds to wait for delivery"
)
@_json
def replay(
    spool_dir: Path | None, model: str | None, cfg: ESConfig, timeout: float, as_json: bool
) -> None:
    """Deliver the spools of dead processes now (live ones deliver their own).

    Exit 0 when everything was delivered, 1 when records remain (timeout), 2 when
    Elasticsearch could not be reached or refused the credentials.

    \b
    Example:
      predwatch spool replay --model credit --es-url http://localhost:9200 --timeout 120
    """
    results = []
    code = EXIT_OK
    for name, root in _roots(spool_dir, model):
        if not orphan_candidates(root):
            continue
        try:
            shipper = Shipper(
                name if name and _valid(name) else "spool_replay",
                "replay",
                es_config=cfg,
                spool_dir=root,
                handle_sigterm=False,
                flush_interval=0.2,
                deployment=False,  # replaying is not a deployment of the model
            )
        except ConfigError as exc:
            fail(str(exc))
            return
        done = shipper.flush(timeout)
        st = shipper.stats()
        shipper.close(timeout=0)
        remaining = sum(
            int(describe(p)["pending_records"])
            for p in orphan_candidates(root)
            if not describe(p)["owner_alive"]
        )
        results.append(
            {
                "root": str(root),
                "delivered": done,
                "adopted_spools": st["adopted_spools"],
                "replayed_records": st["replayed_records"],
                "acked": st["acked"],
                "duplicates": st["duplicates"],
                "dead_lettered": st["dead_lettered"],
                "dropped": st["dropped"],
                "remaining_records": remaining,
                # Under load the timeout can run out before the worker's first request:
                # one probe then tells "unreachable" (2) from "still delivering" (1).
                "error": st["last_error"] or (None if done else _unreachable(cfg)),
            }
        )
        if not done:
            code = max(code, EXIT_ERROR if results[-1]["error"] else EXIT_FINDING)
    if as_json:
        echo_json({"replayed": results, "at": dt.datetime.now(dt.UTC).isoformat()})
    elif not results:
        click.echo("no orphaned spools to replay")
    for r in results if not as_json else []:
        click.echo(
            f"{r['root']}: {r['adopted_spools']} spool(s), {r['acked']} delivered, "
            f"{r['duplicates']} already there, {r['dead_lettered']} dead-lettered, "
            f"{r['remaining_records']} remaining"
        )
        if r["error"]:
            click.echo(f"error: {r['error']}", err=True)
    if code:
        raise SystemExit(code)


def _unreachable(cfg: ESConfig) -> str | None:
    """Why Elasticsearch cannot take the records (unreachable, credentials), or None."""
    try:
        es_ping(es_client(cfg, max_retries=0), cfg)
    except PredwatchError as exc:
        return str(exc)
    return None


def _valid(name: str) -> bool:
    from predwatch import schema

    try:
        schema.validate_model_name(name)
    except schema.SchemaError:
        return False
    return True
