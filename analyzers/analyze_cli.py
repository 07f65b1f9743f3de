"""`predwatch analyze`: skew and drift of one model's serving data, from aggregations."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from predwatch.analyzers import segments as seg
from predwatch.cli_common import baseline_option, connection_options, fail
from predwatch.config import ESConfig
from predwatch.errors import EXIT_OK, ConfigError, ConnectionFailed, PredwatchError

# The analysis (numpy, scipy, the client, rich) is imported when the command runs, so that
# `predwatch analyze --help` starts fast (benchmarks/bench_cli_startup.py).
if TYPE_CHECKING:
    import elasticsearch
    from rich.console import Console

    from predwatch.analyzers import job
    from predwatch.analyzers.report import Report
    from predwatch.baseline import Baseline

# predwatch.analyzers.compare.MIN_COUNT, written out so that --help does not import the
# analysis (tests/unit/core/test_cli_startup.py checks they agree)
MIN_COUNT = 100


def _time(value: str | None) -> dt.datetime | None:
    from predwatch.analyzers.aggregates import parse_time

    return parse_time(value) if value else None


def _config(opts: dict[str, Any], now: dt.datetime) -> job.AnalyzeConfig:
    from predwatch.analyzers import job
    from predwatch.analyzers.aggregates import parse_duration

    window = job.resolve_window(opts["window"], _time(opts["start"]), _time(opts["end"]), now)
    return job.AnalyzeConfig(
        model=opts["model"],
        window=window,
        reference=opts["reference"],
        baseline_path=opts["baseline_path"],
        alpha=opts["alpha"],
        min_count=opts["min_count"],
        max_age=parse_duration(opts["max_age"]) if opts["max_age"] else None,
        latency_tolerance=opts["latency_tolerance"],
        store=not opts["no_store"],
        quality=opts["quality"],
        segment_by=seg.parse_fields(opts["segment_by"]),
        segments=opts["segments"],
    )


# Rich wraps at 80 columns when stdout is not a terminal; a pipe or a file has no width, so
# give tables all the room they need (each is only as wide as its content).
PIPE_WIDTH = 10_000


def _console() -> Console:
    """The terminal's width on a terminal, PIPE_WIDTH when piped (`| cat`, `| grep`)."""
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=PIPE_WIDTH)


def _emit(report: Report, fmt: str, output: str | None, *, one_line: bool = False) -> None:
    from rich.console import Console

    from predwatch.analyzers.report import render_table
    from predwatch.analyzers.report_html import render_html

    if fmt == "json":
        text = json.dumps(report.to_dict(), sort_keys=True, indent=None if one_line else 2) + "\n"
    elif fmt == "html":
        text = render_html(report)
    else:
        if output is None:
            render_table(report, _console())
            return
        console = Console(record=True, width=PIPE_WIDTH, file=io.StringIO())
        render_table(report, console)
        text = console.export_text()
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot write the report to {output} ({exc.strerror or exc}); pass an --output "
            "in a folder that exists and is writable"
        ) from None
    click.echo(f"report written to {output}", err=True)


def _check_output(output: str | None) -> None:
    """Refuse an --output that cannot be written before any work is done."""
    if output is None:
        return
    folder = Path(output).resolve().parent
    if not folder.is_dir():
        raise ConfigError(
            f"cannot write the report to {output}: the folder {folder} does not exist"
        )
    if not os.access(folder, os.W_OK):
        raise ConfigError(
            f"cannot write the report to {output}: the folder {folder} is not writable"
        )


def _run_once(
    es: elasticsearch.Elasticsearch, cfg: ESConfig, opts: dict[str, Any], baseline: Baseline | None
) -> Report:
    import elastic_transport
    import elasticsearch

    from predwatch import es as es_mod
    from predwatch.analyzers import job

    config = _config(opts, dt.datetime.now(dt.UTC))
    try:
        return job.run(es, cfg, config, baseline=baseline)
    except (elasticsearch.ApiError, elastic_transport.TransportError) as exc:
        raise es_mod.explain(exc, cfg) from None


@click.command("analyze")
@click.option("--model", required=True, help="Model name (a-z, 0-9, _).")
@click.option(
    "--window",
    default=None,
    help="Length of the window ending now, e.g. 15m, 1h, "
    "7d [default 1h]; with --start or --end, the length from/to that time.",
)
@click.option("--start", default=None, help="Window start, ISO 8601 (UTC when no offset).")
@click.option("--end", default=None, help="Window end (exclusive), ISO 8601.")
@click.option(
    "--reference",
    default="baseline",
    show_default=True,
    help="baseline (skew), previous (the window of the same length before), or "
    "START..END (drift against that range).",
)
@baseline_option("Baseline JSON file [default: the newest stored in predwatch-baselines].")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "html"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option(
    "--output",
    default=None,
    type=click.Path(dir_okay=False),
    help="Write the report to this file instead of stdout.",
)
@click.option(
    "--no-store", is_flag=True, help="Do not write the results to predwatch-drift-<model>."
)
@click.option(
    "--every",
    default=None,
    help="Run again every DURATION (e.g. 15m) until Ctrl-C; JSON is one line per run.",
)
@click.option(
    "--alpha",
    type=float,
    default=0.05,
    show_default=True,
    help="Significance level of the Holm-adjusted p-values: the chance that a run flags "
    "a feature that did not change.",
)
@click.option(
    "--min-count",
    type=int,
    default=MIN_COUNT,
    show_default=True,
    help="Values needed on both sides before distribution tests run.",
)
@click.option(
    "--max-age", default=None, help="Flag a served model trained longer ago than this (e.g. 30d)."
)
@click.option(
    "--latency-tolerance",
    type=float,
    default=0.25,
    show_default=True,
    help="Flag p95 latency above (1 + this) x the previous window's, when more latencies "
    "than chance lie above the previous p95.",
)
@click.option(
    "--quality",
    is_flag=True,
    help="Also judge prediction quality (outcomes joined to predictions) against the "
    "previous window; a regressed metric is a finding.",
)
@click.option(
    "--segment-by",
    default=None,
    metavar="FIELD[,FIELD]",
    help="Also judge each top segment of FIELD (an input feature or a labels.* field) "
    "and the segment mix; each field is segmented on its own.",
)
@click.option(
    "--segments",
    type=int,
    default=seg.DEFAULT_SEGMENTS,
    show_default=True,
    help="Top segments by volume per --segment-by field (the rest pooled as (other)); "
    "skew mode compares the segments the baseline stores.",
)
@connection_options
def analyze(cfg: ESConfig, **opts: Any) -> None:
    """Compare a model's recent predictions with its baseline or an earlier window.

    Everything is computed by Elasticsearch aggregations (bin counts, summaries, category
    counts); no prediction document is downloaded. Results are printed and stored in
    predwatch-drift-<model> (one document per feature and test, plus a run summary).

    \b
    Examples:
      predwatch analyze --model credit --window 1h
      predwatch analyze --model credit --window 1d --reference previous --format html \\
          --output drift.html
      predwatch analyze --model credit --start 2026-03-01 --end 2026-03-02 \\
          --reference 2026-02-01..2026-02-02 --json
      predwatch analyze --model credit --window 15m --every 15m
      predwatch analyze --model credit --window 1d --quality
      predwatch analyze --model credit --window 1d --reference previous \\
          --segment-by region --segments 20

    Exit codes: 0 no drift and no finding, 1 drift or another finding (non-finite
    predictions, stale model with --max-age, latency regression, a quality metric regressed
    with --quality), 2 error (connection,
    unknown model, malformed or mismatched baseline). An empty window or an all-missing
    feature is reported as "insufficient data", not as an error.
    """
    if opts.pop("as_json"):
        opts["fmt"] = "json"
    try:
        code = _main(cfg, opts)
    except PredwatchError as exc:
        fail(str(exc), exc.exit_code)
        return
    sys.exit(code)


def _main(cfg: ESConfig, opts: dict[str, Any]) -> int:
    from predwatch import es as es_mod
    from predwatch.analyzers.aggregates import parse_duration

    every = parse_duration(opts["every"]) if opts["every"] else None
    if every is not None and opts["start"] and opts["end"]:
        raise PredwatchError("--every needs a window that moves: use --window, not --start/--end")
    _config(opts, dt.datetime.now(dt.UTC))  # validate options before connecting
    _check_output(opts["output"])
    es = es_mod.client(cfg)
    try:
        if every is None:
            report = _run_once(es, cfg, opts, None)
            _emit(report, opts["fmt"], opts["output"])
            return report.exit_code
        return _loop(es, cfg, opts, every)
    finally:
        es.close()


def _loop(
    es: elasticsearch.Elasticsearch, cfg: ESConfig, opts: dict[str, Any], every: dt.timedelta
) -> int:
    """Run every `every` until Ctrl-C; a failed run is reported and the loop goes on."""
    from predwatch.analyzers import job

    baseline = None
    if opts["baseline_path"]:
        baseline = job.load_file(_config(opts, dt.datetime.now(dt.UTC)))
    runs = 0
    try:
        while True:
            started = time.monotonic()
            try:
                report = _run_once(es, cfg, opts, baseline)
                _emit(report, opts["fmt"], opts["output"], one_line=True)
            except PredwatchError as exc:
                if runs == 0 and not isinstance(exc, ConnectionFailed):
                    raise  # a configuration problem: repeating would not fix it
                click.echo(f"error: {exc} (next run in {opts['every']})", err=True)
            runs += 1
            time.sleep(max(0.0, every.total_seconds() - (time.monotonic() - started)))
    except KeyboardInterrupt:
        click.echo(f"stopped after {runs} run(s)", err=True)
    return EXIT_OK
