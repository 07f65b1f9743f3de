"""`predwatch quality`: prediction quality once ground truth has arrived.

Exit codes: 0 no regression, 1 quality regressed, 2 error (connection, bad option or
reference file).
"""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console
from rich.table import Table

from predwatch.analyzers.aggregates import iso
from predwatch.analyzers.ground_truth_common import (
    client,
    fmt_number,
    guard,
    model_name,
    window_option,
)
from predwatch.cli_common import connection_options, echo_json
from predwatch.config import ESConfig
from predwatch.errors import ConfigError


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
              help="Confidence level of the intervals; 1 - this is the run's "
              "false-alarm level.")  # fmt: skip
@click.option("--min-count", type=int, default=30, show_default=True,
              help="Labelled predictions needed before a metric is judged.")  # fmt: skip
@click.option("--page-size", type=int, default=5000, show_default=True,
              help="Rows per join page (memory bound).")  # fmt: skip
@click.option(
    "--estimate",
    is_flag=True,
    help="Also estimate the metrics from the scores alone (CBPE; no labels needed), with the "
    "baseline's calibration (baseline build --target-column).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--no-store", is_flag=True, help="Do not write to predwatch-drift-<model>.")
@connection_options
def quality(cfg: ESConfig, **opts: Any) -> None:
    """Prediction quality once ground truth has arrived (outcomes joined by prediction_id).

    Per model version: accuracy, precision, recall, F1, ROC AUC and log loss for
    classifiers; MAE, RMSE and R2 for regressors; labelled share and label delay. A metric
    regressed when it is worse than the reference by more than the tolerance and the loss
    is beyond chance (the reference's own noise counted, Holm over every metric and
    version at 1 - confidence). Results are stored in predwatch-drift-<model>
    (record_type "metric").

    \b
    Examples:
      predwatch quality --model credit --window 1d
      predwatch quality --model credit --start 2026-03-01 --end 2026-03-08 \\
          --reference heldout_metrics.json --json
      predwatch quality --model credit --window 1d --estimate --baseline baseline.json

    With --estimate, accuracy, precision, recall, F1 and ROC AUC of a binary classifier
    (multiclass: one-vs-rest, macro) are also estimated from the window's scores (labels not
    needed) and judged against the baseline's reference metrics; JSON key "estimated".

    Exit codes: 0 no regression, 1 quality regressed, 2 error.
    """
    from predwatch.analyzers import quality_job as qj

    def body() -> int:
        window = window_option(opts["window"], opts["start"], opts["end"], "1d")
        assert window is not None
        reference = opts["reference"]
        ref_metrics = None
        if reference not in ("previous", "baseline"):
            ref_metrics = qj.read_reference_file(reference)
        config = qj.QualityConfig(
            model=model_name(opts["model"]),
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
        with client(cfg) as es:
            if reference == "baseline":
                config = _with_baseline_metrics(es, cfg, config, opts["baseline_path"])
            if opts["estimate"]:
                config = _with_estimation(es, cfg, config, opts["baseline_path"])
            report = qj.run(es, cfg, config)
        if opts["as_json"]:
            echo_json(report.to_dict())
        else:
            _print_quality(report)
        return report.exit_code

    guard(body)


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
    rows = getattr(b, "metrics_rows", None)
    return dataclasses.replace(config, reference_metrics=parsed, reference_rows=rows)


def _with_estimation(es: Any, cfg: ESConfig, config: Any, path: str | None) -> Any:
    import dataclasses

    from predwatch.analyzers.quality_estimate import Estimation
    from predwatch.baseline import load_baseline
    from predwatch.baseline_store import baseline_from_es

    b = load_baseline(path) if path else baseline_from_es(es, cfg, config.model)
    if b.model != config.model:
        raise ConfigError(f"baseline {b.id} belongs to model {b.model!r}, not {config.model!r}")
    return dataclasses.replace(config, estimation=Estimation.from_block(b.estimation, b.id))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if abs(seconds) >= size:
            return f"{seconds / size:.3g}{unit}"
    return f"{seconds:.3g}s"


def _cell(name: str, x: float | None) -> str:
    return _duration(x) if name.startswith("label_delay") else fmt_number(x)


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
                ci_text = f"{fmt_number(m['ci_low'])} .. {fmt_number(m['ci_high'])}"
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
    if "estimated" in d:
        _print_estimated(console, d["estimated"], ci_title, single)
    for note in d["notes"]:
        console.print(f"note: {note}")
    regressed = [r for r in report.regressed if not (single and r.endswith("@*"))]
    if regressed:
        console.print("[red]quality regressed:[/] " + ", ".join(regressed))
    else:
        console.print("no quality regression")


def _print_estimated(console: Console, e: dict[str, Any], ci_title: str, single: bool) -> None:
    for version, metrics in e["versions"].items():
        if single and version == "*":
            continue
        title = "all versions" if version == "*" else f"model version {version}"
        table = Table(title=f"estimated before labels (CBPE), {title}", title_justify="left")
        for col in ("metric", "estimate", ci_title, "n", "reference", "verdict", "realized"):
            table.add_column(col, no_wrap=True)
        table.add_column("note")
        for name, m in metrics.items():
            ci_text = ""
            if m["ci_low"] is not None:
                ci_text = f"{fmt_number(m['ci_low'])} .. {fmt_number(m['ci_high'])}"
            verdict = {True: "[red]DROPPED[/]", False: "ok", None: ""}[m["regressed"]]
            real = (
                "" if m["realized"] is None else f"{fmt_number(m['realized'])} ({m['realized_n']})"
            )
            table.add_row(
                name, fmt_number(m["value"]), ci_text, str(m["n"]), fmt_number(m["reference"]),
                verdict, real, m["note"],
            )  # fmt: skip
        console.print(table)
    for note in e["notes"]:
        console.print(f"note: {note}")
