"""`predwatch skew check`: served features against the training pipeline.

Exit codes: 0 no skew, 1 feature skew above tolerance, 2 error (connection, bad option,
pipeline not importable or failing).
"""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console
from rich.table import Table

from predwatch import schema
from predwatch.analyzers.aggregates import iso
from predwatch.analyzers.ground_truth_common import (
    client,
    fmt_number,
    guard,
    model_name,
    window_option,
)
from predwatch.cli_common import PredwatchGroup, connection_options, echo_json
from predwatch.config import ESConfig
from predwatch.errors import ConfigError


@click.group("skew", cls=PredwatchGroup)
def skew() -> None:
    """Feature-computation skew: served features against the training pipeline.

    \b
    Example:
      predwatch skew check --model credit --pipeline features:build --sample 1000
    """


@skew.command("check")
@click.option("--model", required=True, help="Model name (a-z, 0-9, _).")
@click.option("--pipeline", required=True, help="module:callable of the training features.")
@click.option("--sample", "size", type=int, default=1000, show_default=True,
              help="Predictions to sample (at most 10,000).")  # fmt: skip
@click.option("--seed", type=int, default=42, show_default=True, help="Sampling seed.")
@click.option("--tolerance", type=float, default=1e-6, show_default=True,
              help="Absolute tolerance of numeric features.")  # fmt: skip
@click.option("--rel-tolerance", type=float, default=1e-9, show_default=True,
              help="Relative tolerance of numeric features.")  # fmt: skip
@click.option("--max-mismatch", type=float, default=0.0, show_default=True,
              help="Share of mismatched rows a feature may have.")  # fmt: skip
@click.option("--features-field", default=schema.FEATURES, show_default=True,
              help="Where the app logs served feature values.")  # fmt: skip
@click.option("--window", default=None, help="Only predictions of this last period, e.g. 1d.")
@click.option("--start", default=None, help="Only predictions from this time (ISO 8601).")
@click.option("--end", default=None, help="Only predictions before this time (ISO 8601).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@connection_options
def check(cfg: ESConfig, **opts: Any) -> None:
    """Recompute served features offline with the training pipeline and compare.

    Samples logged predictions that carry served feature values (log them with
    `Shipper.log_prediction(inputs, prediction, features={...})`), runs the pipeline on
    their raw inputs (a DataFrame, one column per input) and compares value by value.

    \b
    Examples:
      predwatch skew check --model credit --pipeline credit_features:build --sample 1000
      predwatch skew check --model credit --pipeline train:preprocessor --tolerance 1e-4 --json

    Exit codes: 0 no skew, 1 a feature's mismatch share above --max-mismatch, 2 error
    (pipeline not importable or failing, no served features logged).
    """
    from predwatch.analyzers import skew as sk

    def body() -> int:
        model = model_name(opts["model"])
        for name in ("tolerance", "rel_tolerance", "max_mismatch"):
            if not opts[name] >= 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 0")
        pipeline = sk.load_pipeline(opts["pipeline"])  # before connecting: a typo fails fast
        window = window_option(opts["window"], opts["start"], opts["end"], None)
        time_filter = None
        if window is not None:
            time_filter = {
                "range": {schema.TIMESTAMP: {"gte": iso(window.start), "lt": iso(window.end)}}
            }
        with client(cfg) as es:
            smp = sk.sample(
                es,
                cfg,
                model,
                opts["size"],
                seed=opts["seed"],
                features_field=opts["features_field"],
                time_filter=time_filter,
            )
        report = sk.compare(
            model,
            pipeline,
            smp,
            tolerance=opts["tolerance"],
            rel_tolerance=opts["rel_tolerance"],
            max_mismatch=opts["max_mismatch"],
        )
        if opts["as_json"]:
            echo_json(report.to_dict())
        else:
            _print_skew(report)
        return report.exit_code

    guard(body)


def _value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return repr(v)


def _print_skew(report: Any) -> None:
    console = Console()
    console.print(
        f"[bold]{report.model}[/]: {report.sampled} sampled predictions recomputed with "
        f"{report.pipeline}"
    )
    table = Table()
    for col in (
        "feature",
        "mismatched",
        "share",
        "max |diff|",
        "examples (id: served -> recomputed)",
    ):
        table.add_column(col)
    for f in sorted(report.features, key=lambda f: (-f.share, f.name)):
        examples = "; ".join(
            f"{e.prediction_id}: {_value(e.served)} -> {_value(e.recomputed)}" for e in f.examples
        )
        share = f"{f.share:.1%}"
        if f.share > report.max_mismatch:
            share = f"[red]{share}[/]"
        table.add_row(
            f.name, f"{f.mismatched}/{f.compared}", share, fmt_number(f.max_abs_diff), examples
        )
    console.print(table)
    if report.not_recomputed:
        console.print(
            "served but not produced by the pipeline: " + ", ".join(report.not_recomputed)
        )
    if report.skewed:
        console.print("[red]feature skew:[/] " + ", ".join(report.skewed))
    else:
        console.print("no feature skew")
