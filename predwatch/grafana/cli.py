"""`predwatch grafana export`: a model's Grafana dashboard as JSON (Grafana's dashboard model)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from predwatch.cli_common import PredwatchGroup, baseline_option, echo_json, model_option
from predwatch.errors import ConfigError


@click.group("grafana", cls=PredwatchGroup)
def grafana() -> None:
    """Grafana dashboards of the shipper's Prometheus metrics.

    \b
    Example:
      predwatch grafana export --model credit --baseline credit.baseline.json -o credit.json
    """


@grafana.command("export")
@model_option(required=True)
@baseline_option(
    "baseline JSON of the model: training quantiles of the score and one panel per "
    "feature with its training rates (without it: the generic panels only)"
)
@click.option(
    "-o",
    "--output",
    default="-",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="JSON file to write ('-', the default: standard output)",
)
@click.option(
    "--max-features",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="features that get their own panel (all of them are on the per-feature rate panels)",
)
@click.option(
    "--api",
    "for_api",
    is_flag=True,
    help='wrap it for Grafana\'s HTTP API: {"dashboard": ..., "overwrite": true}',
)
@click.option("--json", "as_json", is_flag=True, help="print a summary as JSON")
def export(
    model: str,
    baseline_path: str | None,
    output: str,
    max_features: int,
    for_api: bool,
    as_json: bool,
) -> None:
    """Write a model's Grafana dashboard: traffic and latency per version, the score
    distribution against the training quantiles, missing/unseen/out-of-range rates per
    feature, delivery lag, drops, spool use and shipper state. The data source is a template
    variable: pick the Prometheus that scrapes the shipper when importing.

    \b
    Example:
      predwatch grafana export --model credit --baseline credit.baseline.json -o credit.json
      curl -X POST -H 'Content-Type: application/json' -u admin:admin \\
          http://localhost:3000/api/dashboards/db \\
          -d "$(predwatch grafana export --model credit --api)"
    """
    from predwatch import schema
    from predwatch.grafana.contract import check
    from predwatch.grafana.dashboard import dashboard

    try:
        model = schema.validate_model_name(model)
    except schema.SchemaError as exc:
        raise ConfigError(str(exc)) from None
    baseline = None
    if baseline_path:
        from predwatch.baseline import load_baseline

        baseline = load_baseline(baseline_path)
        if baseline.model != model:
            raise ConfigError(
                f"{baseline_path} is the baseline of model {baseline.model!r}, not {model!r}; "
                "pass that model's baseline (or --model " + baseline.model + ")"
            )
    dash = dashboard(model, baseline, max_features=max_features)
    problems = check(dash)
    if problems:  # a bug in the generator, never the user's fault: stop before Grafana sees it
        raise ConfigError(f"the generated dashboard breaks the contract: {problems[0]}")
    doc = {"dashboard": dash, "overwrite": True} if for_api else dash
    text = json.dumps(doc, indent=2) + "\n"
    if output == "-":
        sys.stdout.write(text)
        return
    path = Path(output)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    n = sum(1 for p in dash["panels"] if p["type"] != "row")
    if as_json:
        echo_json({"file": str(path), "uid": dash["uid"], "panels": n})
        return
    click.echo(f"wrote the dashboard {dash['uid']} ({n} panels) to {path}")
