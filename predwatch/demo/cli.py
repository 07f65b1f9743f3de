"""`predwatch demo`: train a real model, serve a week of traffic with injected failures
through a real app, and show what predwatch finds."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from predwatch import schema
from predwatch.cli_common import connection_options, echo_json, fail
from predwatch.config import ESConfig
from predwatch.errors import EXIT_FINDING, EXIT_OK, PredwatchError

DEFAULT_OUTPUT = "predwatch-demo-output"


@click.command("demo")
@click.option(
    "--fast",
    is_flag=True,
    envvar="PREDWATCH_DEMO_FAST",
    help="A smaller run: 800 instead of 2,000 predictions a day [env PREDWATCH_DEMO_FAST=1].",
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False),
    default=DEFAULT_OUTPUT,
    show_default=True,
    help="Where the HTML report, baseline, rules, model and logs are written.",
)
@click.option(
    "--kibana-url",
    envvar="PREDWATCH_KIBANA_URL",
    default=None,
    help="Kibana to import the demo's dashboards into [env PREDWATCH_KIBANA_URL].",
)
@click.option(
    "--model",
    default="demo",
    show_default=True,
    help="Model name to ship under; its indices are deleted and recreated on every run.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    envvar="PREDWATCH_DEMO_METRICS_PORT",
    default=None,
    help="Serve the shippers' Prometheus metrics on this port while the demo serves "
    "(0: a free port) [env PREDWATCH_DEMO_METRICS_PORT].",
)
@click.option(
    "--metrics-addr",
    envvar="PREDWATCH_DEMO_METRICS_ADDR",
    default="127.0.0.1",
    show_default=True,
    help="Address of the metrics endpoint (0.0.0.0 in a container) "
    "[env PREDWATCH_DEMO_METRICS_ADDR].",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the story as JSON (progress to stderr)."
)
@connection_options
def demo(
    cfg: ESConfig,
    fast: bool,
    output_dir: str,
    kibana_url: str | None,
    model: str,
    metrics_port: int | None,
    metrics_addr: str,
    as_json: bool,
) -> None:
    """Run predwatch end to end on a real model and a week of traffic with injected failures.

    Trains a scikit-learn model on real FAA bird-strike reports (numeric, categorical and
    free-text inputs), builds its baseline, serves a compressed week of predictions through
    a small WSGI app that logs through both front ends (stdlib logging and structlog), while
    a feature vanishes, a rare category becomes common, new words appear, the wrong model
    version is deployed and latency regresses. Then runs the analyzers and the alert
    runner, prints what caught each failure, and writes an HTML report.

    Uses PREDWATCH_ES_URL (or --es-url) when set, else an Elasticsearch answering on
    localhost:9200, else starts the local node (`predwatch es start`). Safe to run again:
    the model's indices and alerts are deleted and recreated.

    \b
    Example:
      predwatch demo --fast
      predwatch demo --kibana-url http://localhost:5601 --output-dir /tmp/demo
      predwatch demo --metrics-port 9464   # needs pip install 'predwatch[prometheus]'

    Exit codes: 0 every injected failure was caught, 1 one was not, 2 error.
    """
    from predwatch.demo.flow import run_demo
    from predwatch.demo.run import Options

    echo = (lambda m: click.echo(m, err=True)) if as_json else click.echo
    opts = Options(model, fast, Path(output_dir), kibana_url, metrics_port, metrics_addr)
    try:
        schema.validate_model_name(model)  # before anything is started or written
        result = run_demo(cfg, opts, echo, dt.datetime.now(dt.UTC))
    except PredwatchError as exc:
        fail(str(exc), exc.exit_code)
        return
    if as_json:
        echo_json(result)
    sys.exit(EXIT_OK if result["all_caught"] else EXIT_FINDING)
