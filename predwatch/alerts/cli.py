"""`predwatch alerts ...` and the `predwatch setup watches` / `setup kibana-rules` commands.

Rules come from a rule file (`--rules`, YAML or JSON), or are derived from a baseline file
(`--baseline`), or from the newest baseline of `--model` stored in Elasticsearch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from predwatch import es as es_mod
from predwatch.alerts import rules as r
from predwatch.cli_common import (
    PredwatchGroup,
    baseline_option,
    connect,
    connection_options,
    echo_json,
)
from predwatch.config import DEFAULT_KIBANA_URL, ESConfig, KibanaConfig
from predwatch.errors import EXIT_FINDING, EXIT_OK, ConfigError, PredwatchError

DEFAULT_WATCH_DIR = "elasticsearch/watches"


def _rule_source(fn: Any) -> Any:
    fn = click.option(
        "--model",
        help="model name (with no --rules/--baseline: its baseline "
        "stored in Elasticsearch gives the default rules)",
    )(fn)
    fn = baseline_option("baseline JSON to derive default rules from")(fn)
    fn = click.option(
        "--rules",
        "rule_paths",
        multiple=True,
        type=click.Path(dir_okay=False),
        help="rule file (YAML or JSON; repeatable, one per model)",
    )(fn)
    return fn


def _rulesets(
    cfg: ESConfig | None,
    rule_paths: tuple[str, ...],
    baseline_path: str | None,
    model: str | None,
    *,
    expand_env: bool = True,
) -> list[r.RuleSet]:
    env: dict[str, str] | None = None
    if not expand_env:
        # Rendering to files: keep `${VAR}` references instead of the secrets they hold.
        env = _KeepRefs()
    if rule_paths:
        sets = [r.load_rules(p, env) for p in rule_paths]
        if model:
            sets = [x for x in sets if x.model == model]
            if not sets:
                raise ConfigError(f"none of the rule files is for model {model!r}")
        return sets
    if baseline_path:
        from predwatch.baseline import load_baseline

        return [r.default_rules(load_baseline(baseline_path), model)]
    if model and cfg is not None:
        from predwatch.baseline_store import baseline_from_es

        client = es_mod.client(cfg)
        return [r.default_rules(baseline_from_es(client, cfg, model), model)]
    raise ConfigError("give --rules FILE, --baseline FILE, or --model M (baseline stored in ES)")


class _KeepRefs(dict[str, str]):
    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str) -> str:
        return "${" + key + "}"


@click.group(cls=PredwatchGroup)
def alerts() -> None:
    """Alert rules: derive them from a baseline, render them for Watcher, Kibana or
    Prometheus, or let predwatch evaluate them itself.

    \b
    Example:
      predwatch alerts rules --baseline credit.baseline.json -o credit.rules.yaml
      predwatch alerts check --rules credit.rules.yaml --every 1m
    """


@alerts.command("rules")
@click.option("--model", help="model name (default: the baseline's)")
@baseline_option("baseline JSON the thresholds are derived from", required=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="write the rule file here (.yaml/.yml or .json); default: print it",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["yaml", "json"]),
    default="yaml",
    show_default=True,
    help="format when printing",
)
@click.option(
    "--destination",
    "destinations",
    multiple=True,
    default=("log",),
    show_default=True,
    help="destination every rule notifies (repeatable)",
)
@click.option(
    "--min-count",
    type=int,
    default=r.DEFAULT_MIN_COUNT,
    show_default=True,
    help="predictions a rate rule needs in its window before it may fire",
)
@click.option(
    "--sigma",
    type=float,
    default=r.DEFAULT_SIGMA,
    show_default=True,
    help="width of the prediction-mean band in standard errors",
)
@click.option(
    "--latency-ms",
    type=float,
    default=r.DEFAULT_LATENCY_MS,
    show_default=True,
    help="latency p95 bound",
)
def rules_cmd(
    model: str | None,
    baseline_path: str,
    output: str | None,
    fmt: str,
    destinations: tuple[str, ...],
    min_count: int,
    sigma: float,
    latency_ms: float,
) -> None:
    """Write the default rules of a model, thresholds derived from its baseline.

    Destinations other than `log`/`stdout` must then be declared in the file.

    \b
    Example:
      predwatch alerts rules --model credit --baseline credit.baseline.json -o rules.yaml
    """
    from predwatch.baseline import load_baseline

    ruleset = r.default_rules(
        load_baseline(baseline_path),
        model,
        destinations=destinations,
        min_count=min_count,
        sigma=sigma,
        latency_ms=latency_ms,
    )
    if output:
        path = r.save_rules(ruleset, output)
        click.echo(f"wrote {len(ruleset.rules)} rules for {ruleset.model} to {path}")
    else:
        click.echo(r.dumps_rules(ruleset, fmt), nl=False)


@alerts.command("render")
@_rule_source
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False),
    help=f"folder to write into [default: {DEFAULT_WATCH_DIR} for watcher]",
)
@click.option(
    "--target",
    type=click.Choice(["watcher", "kibana", "prometheus", "prometheus-operator"]),
    default="watcher",
    show_default=True,
    help="Watcher watches, Kibana rule bodies, a Prometheus rules file, or a PrometheusRule "
    "resource for the Prometheus Operator",
)
@click.option("--namespace", help="prometheus-operator: the PrometheusRule's Kubernetes namespace")
@click.option(
    "--label",
    "labels",
    multiple=True,
    metavar="KEY=VALUE",
    help="prometheus-operator: a label of the PrometheusRule, e.g. release=prometheus for "
    "the Operator's ruleSelector (repeatable)",
)
@click.option("--json", "as_json", is_flag=True, help="print the written files as JSON")
def render_cmd(
    rule_paths: tuple[str, ...],
    baseline_path: str | None,
    model: str | None,
    output: str | None,
    target: str,
    namespace: str | None,
    labels: tuple[str, ...],
    as_json: bool,
) -> None:
    """Render rules into files: one watch / Kibana rule per JSON file, or one Prometheus
    rules file / PrometheusRule (YAML) per model. `${VAR}` references in destinations are
    kept, so no secret lands in the files. Rules a target cannot express are listed as notes.

    \b
    Example:
      predwatch alerts render --rules credit.rules.yaml -o elasticsearch/watches
      predwatch alerts render --baseline credit.baseline.json --target kibana -o kibana/rules
      predwatch alerts render --rules credit.rules.yaml --target prometheus -o prometheus/rules
      predwatch alerts render --rules credit.rules.yaml --target prometheus-operator \\
          --namespace monitoring --label release=prometheus -o k8s
    """
    from predwatch.alerts import kibana_rules, prometheus_rules, watcher

    sets = _rulesets(None, rule_paths, baseline_path, model, expand_env=False)
    written: list[str] = []
    notes: list[str] = []
    resource_labels: dict[str, str] = {}
    for item in labels:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ConfigError(f"--label {item!r} is not KEY=VALUE (e.g. release=prometheus)")
        resource_labels[key] = value
    if (namespace or labels) and target != "prometheus-operator":
        raise ConfigError("--namespace and --label are for --target prometheus-operator")
    for ruleset in sets:
        if target.startswith("prometheus"):
            if not output:
                raise ConfigError(f"--target {target} needs -o FOLDER")
            path, skipped = prometheus_rules.write(
                ruleset,
                Path(output),
                operator=target == "prometheus-operator",
                namespace=namespace,
                labels=resource_labels,
                source=", ".join(rule_paths) or baseline_path or "",
            )
            notes += skipped
            written.append(str(path))
        elif target == "watcher":
            folder = Path(output or DEFAULT_WATCH_DIR)
            written += [
                str(p) for p in watcher.write_watches(watcher.render_watches(ruleset), folder)
            ]
        else:
            if not output:
                raise ConfigError("--target kibana needs -o FOLDER")
            folder = Path(output)
            folder.mkdir(parents=True, exist_ok=True)
            bodies, skipped = kibana_rules.render_rules(ruleset)
            notes += skipped
            for rid, body in sorted(bodies.items()):
                path = folder / f"{rid}.json"
                path.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", "utf-8")
                written.append(str(path))
    if as_json:
        echo_json({"written": written, "notes": notes})
        return
    for note in notes:
        click.echo(f"note: {note}")
    click.echo(f"wrote {len(written)} file(s)")


def _print_outcomes(outcomes: list[Any], as_json: bool) -> None:
    if as_json:
        echo_json([o.to_dict() for o in outcomes])
        return
    for o in outcomes:
        value = f"{o.value:.6g}" if isinstance(o.value, float) else str(o.value)
        line = f"{o.action:<17} {o.rule.model}/{o.rule.id}  value={value} threshold={o.bound:g}"
        if o.delivered:
            line += f"  -> {', '.join(o.delivered)}"
        click.echo(line)
        for err in o.errors:
            click.echo(f"  delivery error: {err}", err=True)


@alerts.command("check")
@_rule_source
@click.option("--every", help="keep checking at this interval (e.g. 1m) until interrupted")
@click.option("--no-resolved", is_flag=True, help="do not notify when a firing rule clears")
@click.option("--rounds", type=int, hidden=True, help="with --every: stop after N rounds")
@click.option("--json", "as_json", is_flag=True, help="print the outcomes as JSON")
@connection_options
def check_cmd(
    cfg: ESConfig,
    rule_paths: tuple[str, ...],
    baseline_path: str | None,
    model: str | None,
    every: str | None,
    no_resolved: bool,
    rounds: int | None,
    as_json: bool,
) -> None:
    """Evaluate the rules against Elasticsearch, notify (webhook, Slack, email, log,
    stdout), throttle, and record fired alerts in predwatch-alerts.

    Works on any licence. Exit code (single check): 1 when a rule is firing, else 0.

    \b
    Example:
      predwatch alerts check --rules credit.rules.yaml
      predwatch alerts check --model credit --every 1m
    """
    from predwatch.alerts.notify import log_to_stderr
    from predwatch.alerts.runner import Runner

    sets = _rulesets(cfg, rule_paths, baseline_path, model)
    client = connect(cfg)
    runners = [Runner(client, cfg, rs, notify_resolved=not no_resolved) for rs in sets]
    with log_to_stderr():
        _check(runners, every, rounds, as_json)


def _check(runners: list[Any], every: str | None, rounds: int | None, as_json: bool) -> None:
    from predwatch.alerts.runner import run_loop

    if every is None:
        outcomes = [o for runner in runners for o in runner.check()]
        _print_outcomes(outcomes, as_json)
        firing = any(o.fired for o in outcomes)
        sys.exit(EXIT_FINDING if firing else EXIT_OK)
    seconds = r.duration_seconds(every, "--every")

    def on_error(exc: PredwatchError) -> None:
        click.echo(f"error: {exc}", err=True)

    try:
        run_loop(runners, seconds, lambda o: _print_outcomes(o, as_json), on_error, rounds)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


# --- setup sub-commands (registered by predwatch.setup_cli) ------------------------------
@click.command("watches")
@_rule_source
@click.option("--dry-run", is_flag=True, help="render and check the watches, install nothing")
@click.option("--json", "as_json", is_flag=True, help="print the results as JSON")
@connection_options
def setup_watches(
    cfg: ESConfig,
    rule_paths: tuple[str, ...],
    baseline_path: str | None,
    model: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Install the rules as Watcher watches, where the cluster has Watcher (gold+/trial
    licence). Otherwise says so, names the alternatives and exits 0 ("skipped").

    \b
    Example:
      predwatch setup watches --rules credit.rules.yaml
    """
    from predwatch.alerts import watcher

    sets = _rulesets(cfg, rule_paths, baseline_path, model)
    watches: dict[str, Any] = {}
    for ruleset in sets:
        watches.update(watcher.render_watches(ruleset))
    problems = {wid: p for wid, body in watches.items() if (p := watcher.validate_watch(body))}
    if problems:
        raise PredwatchError(f"malformed watches: {problems}")
    if dry_run:
        out = {"watches": sorted(watches), "installed": False}
        echo_json(out) if as_json else click.echo(f"{len(watches)} watch(es) render cleanly")
        return
    client = connect(cfg)
    try:
        results = watcher.install_watches(client, cfg, watches)
    except watcher.WatcherUnavailable as exc:
        if as_json:
            echo_json({"status": "skipped", "reason": str(exc)})
        else:
            click.echo(str(exc))
        return
    if as_json:
        echo_json([{"watch": w, "result": res} for w, res in results])
        return
    for w, res in results:
        click.echo(f"{res:<8} watch {w}")


@click.command("kibana-rules")
@_rule_source
@click.option(
    "--kibana-url",
    envvar="PREDWATCH_KIBANA_URL",
    default=DEFAULT_KIBANA_URL,
    show_default=True,
    help="Kibana URL [env PREDWATCH_KIBANA_URL]",
)
@click.option(
    "--space",
    envvar="PREDWATCH_KIBANA_SPACE",
    help="Kibana space id (default space when omitted) [env PREDWATCH_KIBANA_SPACE]",
)
@click.option("--dry-run", is_flag=True, help="print the rule bodies, install nothing")
@click.option("--json", "as_json", is_flag=True, help="print the results as JSON")
@connection_options
def setup_kibana_rules(
    cfg: ESConfig,
    rule_paths: tuple[str, ...],
    baseline_path: str | None,
    model: str | None,
    kibana_url: str,
    space: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Install the rules as Kibana "Elasticsearch query" rules (basic licence), with
    connectors for their destinations and one writing alerts to predwatch-alerts.
    Uses the Elasticsearch credentials (API key or user) to talk to Kibana.

    \b
    Example:
      predwatch setup kibana-rules --rules credit.rules.yaml --kibana-url http://localhost:5601
    """
    from predwatch.alerts import kibana_rules
    from predwatch.kibana.client import KibanaClient

    sets = _rulesets(cfg, rule_paths, baseline_path, model)
    if dry_run:
        bodies = {}
        for ruleset in sets:
            bodies.update(kibana_rules.render_rules(ruleset)[0])
        echo_json(bodies)
        return
    with KibanaClient(KibanaConfig.from_es(cfg, kibana_url, space)) as client:
        rows = [row for ruleset in sets for row in kibana_rules.install_rules(client, ruleset)]
    if as_json:
        echo_json([{"kind": k, "name": n, "result": res} for k, n, res in rows])
        return
    for kind, name, res in rows:
        click.echo(f"{res:<8} {kind} {name}")


__all__ = ["alerts", "setup_kibana_rules", "setup_watches"]
