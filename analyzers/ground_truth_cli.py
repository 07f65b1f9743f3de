"""`predwatch outcomes load`, `predwatch quality` and `predwatch skew check`.

Exit codes: 0 ok, 1 a finding (quality regressed, feature skew above tolerance),
2 error (connection, bad file or option, missing column, pipeline not importable).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from predwatch import schema
from predwatch.analyzers.aggregates import Window, iso, parse_duration, parse_time
from predwatch.cli_common import PredwatchGroup, connection_options, echo_json, fail
from predwatch.config import ESConfig
from predwatch.errors import EXIT_ERROR, ConfigError, PredwatchError


def _window(
    window: str | None, start: str | None, end: str | None, default: str | None
) -> Window | None:
    """`--window D` ending now (or at --end / from --start), or --start/--end."""
    if window and start and end:
        raise ConfigError("give --window or --start/--end, not all three")
    s = parse_time(start) if start else None
    e = parse_time(end) if end else None
    if s and e:
        return Window(s, e)
    if not (window or default or s or e):
        return None
    length = parse_duration(window or default or "1d")
    if s:
        return Window(s, s + length)
    return Window.ending(e or dt.datetime.now(dt.UTC), length)


def _model(name: str) -> str:
    try:
        return schema.validate_model_name(name)
    except schema.SchemaError as exc:
        raise ConfigError(str(exc)) from None


@contextmanager
def _client(cfg: ESConfig) -> Iterator[Any]:
    from predwatch import es as es_mod

    es = es_mod.client(cfg)
    try:
        yield es
    finally:
        es.close()


def _guard(fn: Callable[[], int]) -> None:
    """Run a command body: PredwatchError -> one line and its exit code."""
    try:
        code = fn()
    except PredwatchError as exc:
        fail(str(exc), exc.exit_code)
        return
    sys.exit(code)


# --- outcomes load ------------------------------------------------------------------------
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
        model = _model(opts["model"])
        columns = oc.Columns(opts["id_column"], opts["actual_column"], opts["timestamp_column"])
        with _client(cfg) as es, _progress(not opts["as_json"]) as progress:
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

    _guard(body)


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


# --- quality ------------------------------------------------------------------------------
@click.command("quality")
@click.option("--model", required=True, help="Model name (a-z, 0-9, _).")
@click.option("--window", default=None, help="Window length ending now, e.g. 1h, 1d [1d].")
@click.option("--start", default=None, help="Window start, ISO 8601 (UTC when no offset).")
@click.option("--end", default=None, help="Window end (exclusive), ISO 8601.")
@click.option(
    "--reference",
    default="previous",
    show_default=True,
    help="previous (the window of the same length before), baseline (its held-out "
    'metrics), or a JSON file of metric values, e.g. {"accuracy": 0.91, "roc_auc": 0.95}.',
)
@click.option("--baseline", "baseline_path", default=None, type=click.Path(dir_okay=False),
              help="Baseline file for --reference baseline [default: the stored one].")  # fmt: skip
@click.option(
    "--kind", type=click.Choice(["auto", "classification", "regression"]), default="auto",
    show_default=True, help="How predictions are scored (auto: from the logged fields).",
)  # fmt: skip
@click.option("--positive-class", default=None, help='Binary positive class [default "1"].')
@click.option("--threshold", type=float, default=0.5, show_default=True,
              help="Decision threshold of models that log only a probability.")  # fmt: skip
@click.option(
    "--tolerance", type=float, default=0.02, show_default=True,
    help="Allowed loss: absolute for rates (accuracy, AUC, ...), relative for errors "
    "(MAE, RMSE, log loss).",
)  # fmt: skip
@click.option("--confidence", type=float, default=0.95, show_default=True,
              help="Confidence level of the intervals.")  # fmt: skip
@click.option("--min-count", type=int, default=30, show_default=True,
              help="Labelled predictions needed before a metric is judged.")  # fmt: skip
@click.option("--page-size", type=int, default=5000, show_default=True,
              help="Rows per join page (memory bound).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--no-store", is_flag=True, help="Do not write to predwatch-drift-<model>.")
@connection_options
def quality(cfg: ESConfig, **opts: Any) -> None:
    """Prediction quality once ground truth has arrived (outcomes joined by prediction_id).

    Per model version: accuracy, precision, recall, F1, ROC AUC and log loss for
    classifiers; MAE, RMSE and R2 for regressors; labelled share and label delay. A metric
    regressed when its confidence interval lies entirely beyond the reference minus the
    tolerance. Results are stored in predwatch-drift-<model> (record_type "metric").

    \b
    Examples:
      predwatch quality --model credit --window 1d
      predwatch quality --model credit --start 2026-03-01 --end 2026-03-08 \\
          --reference heldout_metrics.json --json

    Exit codes: 0 no regression, 1 quality regressed, 2 error.
    """
    from predwatch.analyzers import quality_job as qj

    def body() -> int:
        window = _window(opts["window"], opts["start"], opts["end"], "1d")
        assert window is not None
        reference = opts["reference"]
        ref_metrics = None
        if reference not in ("previous", "baseline"):
            ref_metrics = qj.read_reference_file(reference)
        config = qj.QualityConfig(
            model=_model(opts["model"]),
            window=window,
            reference=reference,
            kind=opts["kind"],
            positive=opts["positive_class"],
            threshold=opts["threshold"],
            tolerance=opts["tolerance"],
            confidence=opts["confidence"],
            min_count=opts["min_count"],
            page_size=opts["page_size"],
            store=not opts["no_store"],
            reference_metrics=ref_metrics,
        )
        with _client(cfg) as es:
            if reference == "baseline":
                config = _with_baseline_metrics(es, cfg, config, opts["baseline_path"])
            report = qj.run(es, cfg, config)
        if opts["as_json"]:
            echo_json(report.to_dict())
        else:
            _print_quality(report)
        return report.exit_code

    _guard(body)


def _with_baseline_metrics(es: Any, cfg: ESConfig, config: Any, path: str | None) -> Any:
    import dataclasses

    from predwatch.analyzers import quality_job as qj
    from predwatch.baseline import load_baseline
    from predwatch.baseline_store import baseline_from_es

    b = load_baseline(path) if path else baseline_from_es(es, cfg, config.model)
    if b.model != config.model:
        raise ConfigError(f"baseline {b.id} belongs to model {b.model!r}, not {config.model!r}")
    metrics = getattr(b, "metrics", None) or getattr(b.prediction, "metrics", None)
    if not metrics:
        raise ConfigError(
            f"baseline {b.id} has no held-out metrics (build it with --metrics FILE.json); "
            "give --reference previous or --reference FILE.json"
        )
    parsed = qj.parse_reference(dict(metrics), f"baseline {b.id}")
    return dataclasses.replace(config, reference_metrics=parsed)


def _fmt(x: float | None, digits: int = 4) -> str:
    return "-" if x is None else f"{x:.{digits}g}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if abs(seconds) >= size:
            return f"{seconds / size:.3g}{unit}"
    return f"{seconds:.3g}s"


def _cell(name: str, x: float | None) -> str:
    return _duration(x) if name.startswith("label_delay") else _fmt(x)


def _print_quality(report: Any) -> None:
    console = Console()
    d = report.to_dict()
    ref = d["reference"]
    where = f" {ref['start']} .. {ref['end']}" if ref.get("start") else ""
    console.print(
        f"[bold]{report.model}[/] quality ({report.task.kind}), window "
        f"{iso(report.window.start)} .. {iso(report.window.end)}"
    )
    console.print(f"reference: {ref['kind']}{where}")
    versions = d["versions"]
    single = len(versions) == 2  # one version and "*" (the same rows)
    ci_title = f"{report.confidence:.0%} CI"
    for version, metrics in versions.items():
        if single and version == "*":
            continue
        title = "all versions" if version == "*" else f"model version {version}"
        table = Table(title=title, title_justify="left")
        table.add_column("metric", no_wrap=True)
        for col in ("value", ci_title, "n", "reference", "verdict"):
            table.add_column(col, no_wrap=True)
        table.add_column("note")
        for name, m in metrics.items():
            ci_text = ""
            if m["ci_low"] is not None:
                ci_text = f"{_fmt(m['ci_low'])} .. {_fmt(m['ci_high'])}"
            verdict = {True: "[red]REGRESSED[/]", False: "ok", None: ""}[m["regressed"]]
            table.add_row(
                name,
                _cell(name, m["value"]),
                ci_text,
                str(m["n"]),
                _cell(name, m["reference"]),
                verdict,
                m["note"],
            )
        console.print(table)
    for note in d["notes"]:
        console.print(f"note: {note}")
    regressed = [r for r in report.regressed if not (single and r.endswith("@*"))]
    if regressed:
        console.print("[red]quality regressed:[/] " + ", ".join(regressed))
    else:
        console.print("no quality regression")


# --- skew check ---------------------------------------------------------------------------
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
        model = _model(opts["model"])
        for name in ("tolerance", "rel_tolerance", "max_mismatch"):
            if not opts[name] >= 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 0")
        pipeline = sk.load_pipeline(opts["pipeline"])  # before connecting: a typo fails fast
        window = _window(opts["window"], opts["start"], opts["end"], None)
        time_filter = None
        if window is not None:
            time_filter = {
                "range": {schema.TIMESTAMP: {"gte": iso(window.start), "lt": iso(window.end)}}
            }
        with _client(cfg) as es:
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

    _guard(body)


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
        table.add_row(f.name, f"{f.mismatched}/{f.compared}", share, _fmt(f.max_abs_diff), examples)
    console.print(table)
    if report.not_recomputed:
        console.print(
            "served but not produced by the pipeline: " + ", ".join(report.not_recomputed)
        )
    if report.skewed:
        console.print("[red]feature skew:[/] " + ", ".join(report.skewed))
    else:
        console.print("no feature skew")
