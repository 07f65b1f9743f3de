"""Delete daily predwatch indices older than a retention, for clusters without ILM."""

from __future__ import annotations

import datetime as dt
import re

import click
from elasticsearch import Elasticsearch

from predwatch import es as es_mod
from predwatch import schema
from predwatch.cli_common import connection_options, echo_json
from predwatch.config import ESConfig

_DAY = re.compile(r"-(\d{4})\.(\d{2})\.(\d{2})$")


def expired(indices: list[str], days: int, today: dt.date) -> list[str]:
    """The names among `indices` whose UTC day is more than `days` before `today` (pure)."""
    cutoff = today - dt.timedelta(days=days)
    out = []
    for name in indices:
        m = _DAY.search(name)
        if m and dt.date(int(m[1]), int(m[2]), int(m[3])) < cutoff:
            out.append(name)
    return sorted(out)


def daily_indices(es: Elasticsearch, cfg: ESConfig, model: str | None) -> list[str]:
    patterns = ",".join(schema.index_pattern(k, model) for k in schema.DAILY_KINDS)
    got = es_mod.call(cfg, lambda: es.indices.get(index=patterns, expand_wildcards="open,closed"))
    return list(got.body)


@click.command()
@click.option("--days", type=click.IntRange(min=0), required=True, help="keep this many days")
@click.option("--model", help="only this model's indices")
@click.option("--dry-run", is_flag=True, help="list what would be deleted, delete nothing")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@connection_options
def retention(cfg: ESConfig, days: int, model: str | None, dry_run: bool, as_json: bool) -> None:
    """Delete daily prediction/outcome indices older than --days (ILM does this where present).

    \b
    Example (cron, daily):
      predwatch retention --days 30
    """
    if model:
        schema.validate_model_name(model)
    client = es_mod.client(cfg)
    todo = expired(daily_indices(client, cfg, model), days, dt.datetime.now(dt.UTC).date())
    if todo and not dry_run:
        for name in todo:
            es_mod.call(cfg, lambda n=name: client.indices.delete(index=n))  # type: ignore[misc]
    if as_json:
        echo_json({"deleted": [] if dry_run else todo, "would_delete": todo if dry_run else []})
        return
    verb = "would delete" if dry_run else "deleted"
    for name in todo:
        click.echo(f"{verb} {name}")
    click.echo(f"{len(todo)} index(es) {verb}" if todo else f"nothing older than {days} days")
