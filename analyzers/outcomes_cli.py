"""`predwatch outcomes load`: bulk-load ground truth that arrives after the predictions.

Exit codes: 0 loaded, 2 error (connection, bad file or option, missing column, documents
refused).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console

from predwatch.analyzers.ground_truth_common import client, guard, model_name
from predwatch.cli_common import PredwatchGroup, connection_options, echo_json
from predwatch.config import ESConfig
from predwatch.errors import EXIT_ERROR


@click.group("outcomes", cls=PredwatchGroup)
def outcomes() -> None:
    """Ground truth: load outcomes that arrive after the predictions.

    \b
    Example:
      predwatch outcomes load labels.csv --model credit
    """


@outcomes.command("load")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--model", required=True, help="Model name (a-z, 0-9, _).")
@click.option("--id-column", default="prediction_id", show_default=True)
@click.option("--actual-column", default="actual", show_default=True)
@click.option(
    "--timestamp-column",
    default=None,
    help="Column with the time of each outcome (ISO 8601 or epoch s/ms) [default: now].",
)
@click.option("--model-version", default=None, help="Stored as model.version of the outcomes.")
@click.option(
    "--format", "fmt", type=click.Choice(["auto", "csv", "parquet"]), default="auto",
    show_default=True, help="File format (auto: from the file name).",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@connection_options
def load_command(cfg: ESConfig, **opts: Any) -> None:
    """Bulk-load outcomes (prediction_id, actual) from a CSV or Parquet file.

    Each row becomes a document of predwatch-outcomes-<model>-YYYY.MM.DD with
    _id = prediction_id: loading a corrected outcome again replaces the earlier one
    (`predwatch quality` always uses the newest outcome of a prediction).

    \b
    Examples:
      predwatch outcomes load labels.csv --model credit
      predwatch outcomes load labels.parquet --model credit --id-column request_id \\
          --actual-column defaulted --timestamp-column labelled_at --json

    Exit codes: 0 loaded, 2 error (missing column, unreadable file, documents refused).
    """
    from predwatch.analyzers import outcomes as oc

    def body() -> int:
        model = model_name(opts["model"])
        columns = oc.Columns(opts["id_column"], opts["actual_column"], opts["timestamp_column"])
        with client(cfg) as es, _progress(not opts["as_json"]) as progress:
            result = oc.load(
                es,
                cfg,
                opts["file"],
                model,
                columns=columns,
                fmt=opts["fmt"],
                model_version=opts["model_version"],
                progress=progress,
            )
        if opts["as_json"]:
            echo_json(result.to_dict())
        else:
            _print_load(result)
        if result.failed:
            click.echo(
                f"error: Elasticsearch refused {result.failed} outcome(s); first: "
                f"{result.errors[0] if result.errors else '?'}",
                err=True,
            )
            return EXIT_ERROR
        return 0

    guard(body)


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int], None] | None]:
    """A row counter on stderr when it is a terminal; nothing when piped."""
    if not (enabled and sys.stderr.isatty()):
        yield None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), console=Console(stderr=True)
    ) as bar:
        task = bar.add_task("reading outcomes", total=None)

        def update(rows: int) -> None:
            bar.update(task, description=f"{rows:,} rows read")

        yield update


def _print_load(result: Any) -> None:
    click.echo(
        f"{result.rows:,} rows read: {result.indexed:,} outcomes indexed "
        f"({result.created:,} new, {result.updated:,} replaced), {result.failed:,} refused"
    )
    skipped = {
        "no prediction id": result.skipped_no_id,
        "no actual value": result.skipped_no_actual,
        "unreadable timestamp": result.bad_timestamp,
    }
    for why, n in skipped.items():
        if n:
            click.echo(f"skipped {n:,} row(s): {why}")
    if result.indices:
        click.echo("indices: " + ", ".join(sorted(result.indices)))
