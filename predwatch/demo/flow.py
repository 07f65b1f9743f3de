"""The whole demo, step by step (`run_demo`); every step prints one or a few lines."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import quote

from predwatch import es as es_mod
from predwatch import schema
from predwatch.analyzers.report_html import render_html
from predwatch.baseline_store import upload_baseline
from predwatch.config import ESConfig, KibanaConfig
from predwatch.demo import analysis, page, run, story, traffic
from predwatch.demo import model as mdl
from predwatch.demo.run import Echo, Options
from predwatch.demo.serve import serve_week
from predwatch.setup_es import setup_elasticsearch


def run_demo(cfg: ESConfig, opts: Options, echo: Echo, now: dt.datetime) -> dict[str, Any]:
    """Run every step; returns the story as a JSON-ready dict (also written to story.json)."""
    timings = run.Timings()
    out = run.prepare_output(opts.output_dir)
    week_start, week_end = traffic.week(now)

    echo("1. Elasticsearch")
    cfg = run.ensure_es(cfg, echo)
    es = es_mod.client(cfg)
    try:
        return _steps(es, cfg, opts, echo, out, week_start, week_end, timings)
    finally:
        es.close()


def _steps(
    es: Any,
    cfg: ESConfig,
    opts: Options,
    echo: Echo,
    out: Path,
    week_start: dt.datetime,
    week_end: dt.datetime,
    timings: run.Timings,
) -> dict[str, Any]:
    deleted = run.reset(es, cfg, opts.model)
    echo(f"  model {opts.model!r}: {deleted} index(es) of an earlier run deleted")
    timings.mark("elasticsearch")

    echo("2. a real model and its baseline")
    trained = run.train(opts, week_start, echo)
    upload_baseline(es, cfg, trained.baseline)
    changes = setup_elasticsearch(es, cfg, [trained.baseline])
    done = sum(c.action in ("created", "updated") for c in changes)
    echo(f"  predwatch setup elasticsearch: {done} change(s), the rest unchanged or skipped")
    timings.mark("model")

    echo(
        f"3. a week of traffic, {week_start:%a %d %b %H:%M} .. {week_end:%a %d %b %H:%M} UTC "
        f"({opts.per_day:,} predictions a day)"
    )
    served = serve_week(
        cfg,
        trained.baseline,
        (trained.production, trained.experiment),
        trained.serving_pool,
        week_start,
        opts.per_day,
        out,
        echo,
        metrics=(opts.metrics_port, opts.metrics_addr),
    )
    acked = sum(int(s.get("acked") or 0) for s in served.stats.values())
    dead = sum(int(s.get("dead_lettered") or 0) for s in served.stats.values())
    echo(f"  shipped: {acked:,} acknowledged by Elasticsearch, {dead} dead-lettered")
    es_mod.call(
        cfg, lambda: es.indices.refresh(index=schema.index_pattern("predictions", opts.model))
    )
    timings.mark("traffic")

    echo("4. predwatch analyze, one run per scenario window (vs the baseline and the clean days)")
    reports = analysis.analyze_week(es, cfg, trained.baseline, opts.model, week_start)
    files = _write_reports(reports, out)
    estimates = analysis.estimate_week(es, cfg, trained.baseline, opts.model, week_start)
    dropped = [k for k, e in estimates.items() if e.get("regressed")]
    echo(
        "  predwatch quality --estimate per window (no label has arrived): estimated quality "
        f"dropped in {', '.join(dropped) if dropped else 'no window'}"
    )
    p95 = analysis.clean_latency_p95(reports) or 50.0
    ruleset = analysis.demo_rules(trained.baseline, opts.model, run.LATENCY_BOUND_FACTOR * p95)
    rules_file = analysis.save_rules(ruleset, out)
    echo(
        f"5. predwatch alerts check: {len(ruleset.rules)} rules from the baseline ({rules_file}), "
        f"windows {analysis.ALERT_WINDOW}, latency bound {run.LATENCY_BOUND_FACTOR:g} x the "
        f"clean p95 = {run.LATENCY_BOUND_FACTOR * p95:.0f} ms"
    )
    outcomes, fired = analysis.check_alerts(es, cfg, ruleset)
    echo(f"  {len(fired)} of {len(outcomes)} rules fired")
    timings.mark("analysis")

    shifts = analysis.category_shifts(es, cfg, trained.baseline, opts.model, week_start, reports)
    chs = story.chapters(week_start, reports, fired, shifts, estimates)
    extra = story.unattributed(fired)
    echo("")
    echo("What predwatch found")
    for line in story.render(chs, extra):
        echo("  " + line)
    kibana = _kibana(cfg, opts, trained.baseline, out, echo)
    intro = [
        f"Model {opts.model} {mdl.VERSION}: logistic regression on {len(trained.baseline.features)}"
        f" inputs of FAA bird-strike reports, ROC AUC {trained.auc:.3f}.",
        f"Week {week_start:%Y-%m-%d %H:%M} .. {week_end:%Y-%m-%d %H:%M} UTC, {acked:,} "
        "predictions served through the stdlib logging and structlog front ends.",
        f"Analyzer runs are stored in {schema.index_name('drift', opts.model)}; alert rules in "
        f"{rules_file.name} (windows {analysis.ALERT_WINDOW}: the whole demo week).",
    ]
    index = out / "index.html"
    index.write_text(
        page.render_page(
            f"predwatch demo: model {opts.model}", intro, chs, reports, files, extra, kibana
        ),
        "utf-8",
    )
    timings.mark("report")
    all_caught = all(c.caught for c in chs if c.injected)
    result = {
        "model": opts.model,
        "week": {"start": week_start.isoformat(), "end": week_end.isoformat()},
        "predictions": acked,
        "dead_lettered": dead,
        "chapters": [c.to_dict() for c in chs],
        "unattributed_alerts": [f.to_dict() for f in extra],
        "all_caught": all_caught,
        "report": str(index),
        "reports": {k: str(out / v) for k, v in files.items()},
        "rules": str(rules_file),
        "baseline": str(out / "baseline.json"),
        "kibana": kibana,
        "seconds": {k: round(v, 1) for k, v in timings.steps.items()},
    }
    run.write_json(out / "story.json", result)
    echo("")
    caught = sum(c.caught for c in chs if c.injected)
    injected = sum(c.injected for c in chs)
    echo(f"{caught} of {injected} injected failures caught. HTML report: {index}")
    steps = ", ".join(f"{k} {v:.0f}s" for k, v in timings.steps.items())
    echo(f"Done in {timings.total:.0f}s ({steps})")
    return result


def _write_reports(reports: dict[str, Any], out: Path) -> dict[str, str]:
    """One analyzer HTML report per scenario window (vs the baseline)."""
    folder = out / "reports"
    folder.mkdir(exist_ok=True)
    files = {}
    for sc in traffic.SCENARIOS:
        for ref, report in reports.get(sc.key, ()):
            if ref != "baseline":
                continue
            name = f"{sc.days().replace(' ', '').replace('-', '_')}-{sc.key}.html"
            (folder / name).write_text(render_html(report), "utf-8")
            files[sc.key] = f"reports/{name}"
    return files


def _kibana(cfg: ESConfig, opts: Options, baseline: Any, out: Path, echo: Echo) -> dict[str, str]:
    """Export the saved objects; import them and print the dashboards when Kibana is set."""
    from predwatch.kibana import ndjson
    from predwatch.kibana.context import DASHBOARDS, Ctx
    from predwatch.kibana.dashboards import dashboard_url
    from predwatch.kibana.objects import saved_objects

    objects = saved_objects(baseline, opts.model)
    path = ndjson.write(out / "kibana.ndjson", objects)
    if not opts.kibana_url:
        echo(
            f"Kibana: none configured (--kibana-url or PREDWATCH_KIBANA_URL); the dashboards "
            f"are in {path} (Stack Management > Saved objects > Import)"
        )
        return {}
    from predwatch.kibana.importer import import_objects

    result = import_objects(KibanaConfig.from_es(cfg, opts.kibana_url, "default"), objects)
    echo(result.summary(opts.kibana_url, "default"))
    ctx = Ctx(opts.model)
    time_range = "?_g=" + quote("(time:(from:now-7d,to:now))", safe="():,")
    links = {
        f"{which} dashboard": opts.kibana_url.rstrip("/")
        + dashboard_url(ctx.dashboard(which))
        + time_range
        for which in DASHBOARDS
    }
    echo("Where to look in Kibana (time range: Last 7 days):")
    for name, url in links.items():
        echo(f"  {name:<22} {url}")
    return links
