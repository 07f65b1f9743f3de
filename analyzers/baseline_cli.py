"""`predwatch baseline build|show`: profile training data into a baseline file (and store it)."""

from __future__ import annotations

import math
from typing import Any

import click

from predwatch.baseline import (
    Baseline,
    BaselineError,
    FeatureProfile,
    Tokenizer,
    check_metrics,
    load_baseline,
    save_baseline,
)
from predwatch.cli_common import PredwatchGroup, connection_options, echo_json
from predwatch.config import ESConfig


def _names(values: tuple[str, ...]) -> list[str]:
    """Repeatable options that also accept comma-separated lists: --numeric a,b --numeric c."""
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


def read_metrics_file(path: str) -> tuple[dict[str, float], int | None]:
    """Held-out metrics for --metrics: {"roc_auc": 0.93, ...} or {"metrics": {...}, "rows": N}.

    Names may carry the "quality." prefix of the stored metric documents; it is dropped.
    """
    import json
    from pathlib import Path

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"metrics file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BaselineError(f"metrics file {path} is not JSON: {exc}") from None
    rows = None
    if isinstance(data, dict) and isinstance(data.get("metrics"), dict):
        rows = data.get("rows", data.get("metrics_rows"))
        data = data["metrics"]
    if not isinstance(data, dict) or not data:
        raise BaselineError(
            f'metrics file {path}: expected an object of metric values, e.g. {{"roc_auc": 0.93}}'
        )
    metrics = {str(k).removeprefix("quality."): v for k, v in data.items()}
    try:
        return check_metrics(metrics, rows)
    except BaselineError as exc:
        raise BaselineError(f"metrics file {path}: {exc}") from None


def _fmt(x: float) -> str:
    return "-" if not math.isfinite(x) else f"{x:.4g}"


def feature_summary(f: FeatureProfile) -> dict[str, Any]:
    """One feature in a few numbers (what `show` prints)."""
    out: dict[str, Any] = {"name": f.name, "type": str(f.type), "missing_rate": f.missing_rate}
    if f.numeric is not None:
        p = f.numeric
        out.update(
            bins=len(p.counts),
            min=p.min if p.n else None,
            mean=p.mean if p.n else None,
            max=p.max if p.n else None,
        )
    if f.categorical is not None:
        c = f.categorical
        out.update(
            vocabulary=len(c.vocabulary),
            vocabulary_truncated=c.vocabulary_truncated,
            top=list(c.frequencies)[:3],
        )
    if f.text is not None:
        t = f.text
        out.update(
            vocabulary=len(t.vocabulary),
            expected_oov_rate=t.expected_oov_rate,
            mean_tokens=t.length.mean if t.length.n else None,
        )
    return out


def summary(b: Baseline) -> dict[str, Any]:
    pred: dict[str, Any] | None = None
    if b.prediction is not None:
        p = b.prediction
        pred = {"kind": p.kind, "classes": list(p.classes)}
        if p.value is not None and p.value.n:
            pred.update(mean=p.value.mean, min=p.value.min, max=p.value.max)
    return {
        "id": b.id,
        "model": b.model,
        "version": b.version,
        "trained_at": b.trained_at,
        "hash": b.hash,
        "created_at": b.created_at,
        "rows": b.rows,
        "features": [feature_summary(f) for f in b.features],
        "prediction": pred,
        "metrics": dict(b.metrics),
        "metrics_rows": b.metrics_rows,
        "estimation": _estimation_summary(b),
    }


def _estimation_summary(b: Baseline) -> dict[str, Any] | None:
    e = b.estimation
    if e is None:
        return None
    ref = e.get("reference") or {}
    if e["kind"] == "multiclass":
        per = e["per_class"]
        return {
            "kind": "multiclass",
            "classes": list(e["classes"]),
            "calibration": {c: per[c]["calibration"]["method"] for c in e["classes"]},
            "blocks": {c: len(per[c]["calibration"]["blocks"]) for c in e["classes"]},
            "rows": ref.get("rows"),
            "mean_abs_error_out_of_fold": ref.get("mean_abs_error_out_of_fold"),
        }
    return {
        "kind": "binary",
        "positive": e["positive"],
        "threshold": e["threshold"],
        "calibration": e["calibration"]["method"],
        "blocks": len(e["calibration"]["blocks"]),
        "rows": e["calibration"]["rows"],
        "mean_abs_error_out_of_fold": ref.get("mean_abs_error_out_of_fold"),
    }


def _detail(s: dict[str, Any]) -> str:
    if s["type"] == "numeric":
        if s["min"] is None:
            return "all missing"
        stats = f"min {_fmt(s['min'])}  mean {_fmt(s['mean'])}  max {_fmt(s['max'])}"
        return f"{stats}  ({s['bins']} bins)"
    if s["type"] == "categorical":
        more = "+" if s["vocabulary_truncated"] else ""
        top = ", ".join(repr(v) for v in s["top"])
        return f"{s['vocabulary']}{more} values; top {top}" if top else "all missing"
    mean = s["mean_tokens"]
    return (
        f"{s['vocabulary']} tokens, expected OOV {s['expected_oov_rate']:.1%}, "
        f"{_fmt(mean) if mean is not None else '-'} tokens/doc"
    )


def print_summary(b: Baseline, where: str | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    s = summary(b)
    console = Console()
    head = f"baseline {b.id}: {b.rows:,} rows, {len(b.features)} features"
    if b.trained_at:
        head += f", trained {b.trained_at}"
    if where:
        head += f" -> {where}"
    console.print(head, highlight=False)
    table = Table(show_edge=False, pad_edge=False)
    for col in ("feature", "type", "missing", "profile"):
        table.add_column(col, overflow="fold")
    for f in s["features"]:
        table.add_row(f["name"], f["type"], f"{f['missing_rate']:.1%}", _detail(f))
    if s["features"]:
        console.print(table)
    p = s["prediction"]
    if p is not None:
        line = f"prediction: {p['kind']}"
        if p["classes"]:
            line += f", classes {', '.join(p['classes'][:10])}"
        if "mean" in p:
            line += f", score mean {_fmt(p['mean'])} in [{_fmt(p['min'])}, {_fmt(p['max'])}]"
        console.print(line, highlight=False)
    if b.metrics:
        shown = ", ".join(f"{k} {_fmt(v)}" for k, v in sorted(b.metrics.items()))
        rows = f" ({b.metrics_rows:,} rows)" if b.metrics_rows is not None else ""
        console.print(f"held-out metrics{rows}: {shown}", highlight=False)
    e = s.get("estimation")
    if e:
        err = e["mean_abs_error_out_of_fold"] or {}
        shown = ", ".join(f"{k} {v:.3f}" for k, v in sorted(err.items()))
        if e["kind"] == "multiclass":
            maps = ", ".join(f"{c} {m} ({e['blocks'][c]})" for c, m in e["calibration"].items())
            console.print(
                f"estimation: multiclass one-vs-rest, {len(e['classes'])} classes, calibration "
                f"(blocks) {maps}; {e['rows'] or 0:,} rows; out-of-fold estimate error: {shown}",
                highlight=False,
            )
            return
        console.print(
            f"estimation: {e['calibration']} calibration ({e['blocks']} blocks, "
            f"{e['rows']:,} rows), positive {e['positive']!r} at >= {_fmt(e['threshold'])}; "
            f"out-of-fold estimate error: {shown}",
            highlight=False,
        )


@click.group("baseline", cls=PredwatchGroup)
def baseline() -> None:
    """Training-data profiles: what the model saw, to compare serving data against.

    \b
    Example:
      predwatch baseline build train.parquet --model credit --version 3 -o baseline.json
      predwatch baseline show baseline.json
    """


@baseline.command("build")
@click.argument("data", metavar="DATA")
@click.option("--model", required=True, help="model name: a-z, 0-9 and _")
@click.option("--version", "model_version", required=True, help="model version")
@click.option(
    "-o", "--output", default="baseline.json", show_default=True, help="baseline file to write"
)
@click.option(
    "--prediction-column",
    "prediction_columns",
    multiple=True,
    help="the model's output column; give it twice for a score and a label",
)
@click.option("--categorical", multiple=True, help="columns to profile as categorical (a,b,...)")
@click.option("--numeric", multiple=True, help="columns to profile as numeric (a,b,...)")
@click.option("--text", multiple=True, help="columns to profile as free text (a,b,...)")
@click.option("--exclude", multiple=True, help="columns to leave out (ids, timestamps, ...)")
@click.option("--bins", default=100, show_default=True, help="quantile bins per numeric column")
@click.option("--top-k", default=1000, show_default=True, help="values in a frequency table")
@click.option(
    "--vocab-cap", default=50_000, show_default=True, help="values/tokens kept per vocabulary"
)
@click.option("--holdout", default=0.1, show_default=True, help="text rows held out to measure OOV")
@click.option(
    "--token-pattern",
    default=Tokenizer().pattern,
    show_default=True,
    help="regex of one text token (matched after lower-casing)",
)
@click.option("--trained-at", help="when the model was trained (ISO 8601)")
@click.option("--model-hash", help="model hash to record (e.g. sha256:...)")
@click.option("--model-file", help="model artefact: record its sha256 as the model hash")
@click.option("--chunksize", default=100_000, show_default=True, help="rows read at a time")
@click.option("--seed", default=0, show_default=True, help="seed of the sampling and split")
@click.option(
    "--metrics",
    "metrics_file",
    type=click.Path(dir_okay=False),
    help='held-out metrics JSON ({"roc_auc": 0.93} or {"metrics": {...}, "rows": N}) '
    "for predwatch quality --reference baseline",
)
@click.option(
    "--segment-by",
    multiple=True,
    help="also profile the top segments of these columns (a,b,...) for "
    "`predwatch analyze --segment-by` against the baseline",
)
@click.option(
    "--segments",
    default=20,
    show_default=True,
    help="segments profiled per --segment-by column (the rest pooled as (other)), at most 100",
)
@click.option(
    "--target-column",
    help="true label column: fit the score calibration for quality --estimate",
)
@click.option(
    "--class-scores",
    "class_scores",
    metavar="PREFIX",
    help="multiclass --target-column: the class probability columns are PREFIX<class> "
    "(logged as prediction.scores.<class>)",
)
@click.option("--positive-class", help="positive label of --target-column (default: 1/true/yes)")
@click.option(
    "--threshold",
    default=0.5,
    show_default=True,
    help="score at or above which the model predicts the positive class (--target-column)",
)
@click.option("--upload", is_flag=True, help="also store it in predwatch-baselines")
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
@connection_options
def build(
    data: str,
    model: str,
    model_version: str,
    output: str,
    prediction_columns: tuple[str, ...],
    categorical: tuple[str, ...],
    numeric: tuple[str, ...],
    text: tuple[str, ...],
    exclude: tuple[str, ...],
    bins: int,
    top_k: int,
    vocab_cap: int,
    holdout: float,
    token_pattern: str,
    trained_at: str | None,
    model_hash: str | None,
    model_file: str | None,
    chunksize: int,
    seed: int,
    metrics_file: str | None,
    segment_by: tuple[str, ...],
    segments: int,
    target_column: str | None,
    class_scores: str | None,
    positive_class: str | None,
    threshold: float,
    upload: bool,
    as_json: bool,
    cfg: ESConfig,
) -> None:
    """Profile DATA (CSV or Parquet, read in chunks) into a baseline file.

    Every column except --exclude and --prediction-column becomes a feature; types are
    inferred (ints and floats numeric, bools and short strings categorical, sentences
    text) unless given with --categorical/--numeric/--text.

    With --target-column (held-out rows with the true label), the baseline also stores a
    calibration map of the first --prediction-column's scores and the reference metrics,
    for `predwatch quality --estimate`.

    \b
    Example:
      predwatch baseline build train.csv --model credit --version 3 \\
          --prediction-column proba --prediction-column label \\
          --categorical zip_code --exclude customer_id --metrics heldout.json \\
          --upload -o baseline.json
      predwatch baseline build train.csv --model credit --version 3 \\
          --prediction-column proba --segment-by region -o baseline.json
      predwatch baseline build heldout.parquet --model credit --version 3 \\
          --prediction-column proba --target-column defaulted -o baseline.json
    """
    from predwatch.analyzers.profile import build_baseline_from_file, model_file_hash

    if model_hash and model_file:
        raise BaselineError("give --model-hash or --model-file, not both")
    if trained_at:
        _check_iso(trained_at)
    metrics, metrics_rows = read_metrics_file(metrics_file) if metrics_file else ({}, None)
    names = _names(prediction_columns)
    if class_scores and not target_column:
        raise BaselineError("--class-scores needs --target-column (the true label)")
    if target_column and not names and not class_scores:
        raise BaselineError("--target-column needs --prediction-column (the model's score)")
    score_columns = _class_score_columns(data, chunksize, class_scores) if class_scores else {}
    b = build_baseline_from_file(
        data,
        chunksize=chunksize,
        model=model,
        version=model_version,
        prediction_columns=names,
        categorical=_names(categorical),
        numeric=_names(numeric),
        text=_names(text),
        exclude=[
            *_names(exclude),
            *([target_column] if target_column else []),
            *[c for c in score_columns.values() if c not in names],
        ],
        bins=bins,
        top_k=top_k,
        vocab_cap=vocab_cap,
        holdout=holdout,
        trained_at=trained_at,
        model_hash=model_file_hash(model_file) if model_file else model_hash,
        seed=seed,
        tokenizer=Tokenizer(token_pattern),
        metrics=metrics,
        metrics_rows=metrics_rows,
        segment_by=_names(segment_by),
        segments=segments,
    )
    if target_column and score_columns:
        b = _with_multiclass_estimation(b, data, chunksize, score_columns, target_column, seed)
    elif target_column:
        b = _with_estimation(
            b, data, chunksize, names[0], target_column, positive_class, threshold, seed
        )
    path = save_baseline(b, output)
    stored = None
    if upload:
        from predwatch import es as es_mod
        from predwatch.baseline_store import baselines_index, upload_baseline

        upload_baseline(es_mod.client(cfg), cfg, b)
        stored = f"{baselines_index()}/{b.id}"
    if as_json:
        echo_json({**summary(b), "output": str(path), "uploaded": stored})
        return
    print_summary(b, str(path))
    if stored:
        click.echo(f"stored in Elasticsearch as {stored}")


def _with_estimation(
    b: Baseline,
    data: str,
    chunksize: int,
    score: str,
    target: str,
    positive: str | None,
    threshold: float,
    seed: int,
) -> Baseline:
    """The baseline with its `estimation` block (and, unless --metrics gave them, the
    reference's realized metrics as its held-out metrics)."""
    import dataclasses

    from predwatch.analyzers.estimate_fit import fit_reference
    from predwatch.analyzers.profile_frames import FrameSource

    header = FrameSource(data, chunksize).columns()
    for col in (score, target):
        if header and col not in header:
            raise BaselineError(f"column {col!r} is not in {data}")
    others = [c for c in header if c not in (score, target)]
    source = FrameSource(data, chunksize, exclude=others)
    block = fit_reference(
        source,
        score=score,
        target=target,
        positive=positive,
        threshold=threshold,
        seed=seed,
        again=source,
    )
    # a score with a binary target is a classifier's, whatever the score column looks like
    pred = b.prediction and dataclasses.replace(b.prediction, kind="classification")
    if b.metrics:
        return dataclasses.replace(b, estimation=block, prediction=pred)
    realized = block["reference"]["realized"]
    rows = block["reference"]["rows"]
    return dataclasses.replace(
        b, estimation=block, prediction=pred, metrics=dict(realized), metrics_rows=rows
    )


def _class_score_columns(data: str, chunksize: int, prefix: str) -> dict[str, str]:
    from predwatch.analyzers.estimate_fit_multiclass import class_columns
    from predwatch.analyzers.profile_frames import FrameSource

    return class_columns(FrameSource(data, chunksize).columns(), prefix)


def _with_multiclass_estimation(
    b: Baseline, data: str, chunksize: int, columns: dict[str, str], target: str, seed: int
) -> Baseline:
    """The baseline with a multiclass `estimation` block (per-class maps), and unless
    --metrics gave them, the reference's realized metrics as its held-out metrics."""
    import dataclasses

    from predwatch.analyzers.estimate_fit_multiclass import fit_reference_multiclass
    from predwatch.analyzers.profile_frames import FrameSource

    header = FrameSource(data, chunksize).columns()
    if header and target not in header:
        raise BaselineError(f"column {target!r} is not in {data}")
    keep = {*columns.values(), target}
    source = FrameSource(data, chunksize, exclude=[c for c in header if c not in keep])
    block = fit_reference_multiclass(source, columns=columns, target=target, seed=seed)
    pred = b.prediction and dataclasses.replace(b.prediction, kind="classification")
    if b.metrics:
        return dataclasses.replace(b, estimation=block, prediction=pred)
    return dataclasses.replace(
        b,
        estimation=block,
        prediction=pred,
        metrics=dict(block["reference"]["realized"]),
        metrics_rows=block["reference"]["rows"],
    )


def _check_iso(value: str) -> None:
    import datetime as dt

    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        raise BaselineError(
            f"--trained-at {value!r} is not an ISO 8601 date/time (e.g. 2026-01-31T12:00:00Z)"
        ) from None


@baseline.command("show")
@click.argument("file", metavar="FILE")
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
def show(file: str, as_json: bool) -> None:
    """Summarise a baseline file: features, types, missing rates, vocabularies.

    \b
    Example:
      predwatch baseline show baseline.json
      predwatch baseline show baseline.json --json | jq '.features[].name'
    """
    b = load_baseline(file)
    if as_json:
        echo_json(summary(b))
    else:
        print_summary(b)
