"""`predwatch setup ...`: install predwatch's assets into Elasticsearch (and Kibana)."""

from __future__ import annotations

import click

from predwatch import es as es_mod
from predwatch import templates as t
from predwatch.baseline import Baseline, load_baseline
from predwatch.cli_common import (
    PredwatchGroup,
    baseline_option,
    connect,
    connection_options,
    echo_json,
)
from predwatch.config import ESConfig
from predwatch.errors import ConfigError
from predwatch.schema import validate_model_name


@click.group(cls=PredwatchGroup)
def setup() -> None:
    """Install predwatch's templates, policies, dashboards and rules.

    \b
    Example:
      predwatch setup elasticsearch --baseline baseline.json
    """


@setup.command("elasticsearch")
@click.option("--model", help="model whose template to install (needs --baseline)")
@baseline_option(
    "baseline JSON; its model gets a template with its features mapped (repeatable)",
    multiple=True,
)
@click.option(
    "--retention-days",
    type=int,
    default=t.DEFAULT_RETENTION_DAYS,
    show_default=True,
    help="days daily indices are kept (ILM, where the cluster has it)",
)
@click.option(
    "--total-fields-limit",
    type=int,
    default=None,
    help="index.mapping.total_fields.limit of the prediction templates (default "
    "$PREDWATCH_TOTAL_FIELDS_LIMIT or 1000; give shippers the same value)",
)
@click.option("--json", "as_json", is_flag=True, help="print the changes as JSON")
@connection_options
def setup_elasticsearch_cmd(
    cfg: ESConfig,
    model: str | None,
    baseline_paths: tuple[str, ...],
    retention_days: int,
    total_fields_limit: int | None,
    as_json: bool,
) -> None:
    """Component + index templates (+ ILM policy where available); idempotent.

    Without --baseline only the generic templates are installed: predictions of any model
    still index, with inputs typed dynamically. Running it twice reports no changes.

    \b
    Example:
      predwatch setup elasticsearch --baseline credit.baseline.json
    """
    from predwatch.config import total_fields_limit as read_limit
    from predwatch.setup_es import setup_elasticsearch

    limit = read_limit(total_fields_limit)
    if model:
        validate_model_name(model)
    baselines: list[Baseline] = [load_baseline(p) for p in baseline_paths]
    if model and not any(b.model == model for b in baselines):
        raise ConfigError(
            f"--model {model} needs its baseline (--baseline FILE); the files given are for "
            f"{', '.join(b.model for b in baselines) or 'no model'}"
        )
    client = connect(cfg)
    changes = setup_elasticsearch(client, cfg, baselines, retention_days, limit)
    if as_json:
        echo_json([c.__dict__ for c in changes])
        return
    for c in changes:
        click.echo(c.line())
    changed = [c for c in changes if c.action in ("created", "updated")]
    click.echo(f"{len(changed)} change(s) on {cfg.url}" if changed else f"no changes on {cfg.url}")


@setup.command("roles")
@click.option(
    "--print",
    "print_as",
    type=click.Choice(["yaml", "json"]),
    default=None,
    help="print the roles instead of installing them (yaml: a node's config/roles.yml)",
)
@connection_options
def setup_roles_cmd(cfg: ESConfig, print_as: str | None) -> None:
    """Least-privilege roles, one per component: predwatch_shipper, predwatch_analyzer,
    predwatch_setup, predwatch_retention, predwatch_viewer (docs/security.md).

    Installing needs the manage_security privilege (e.g. the elastic user). Clusters
    without the native realm (file-based roles): --print yaml >> config/roles.yml.

    \b
    Example:
      predwatch setup roles
      predwatch setup roles --print yaml >> $ES_PATH_CONF/roles.yml
    """
    from predwatch.roles import install_roles, load_roles, roles_yaml

    roles = load_roles()
    if print_as == "yaml":
        click.echo(roles_yaml(roles), nl=False)
        return
    if print_as == "json":
        echo_json(roles)
        return
    client = es_mod.client(cfg)
    for line in install_roles(client, cfg, roles):
        click.echo(line)


def _register() -> None:
    # Kept next to their code; listed here so `predwatch setup --help` shows them all.
    from predwatch.alerts.cli import setup_kibana_rules, setup_watches
    from predwatch.kibana.cli import setup_kibana

    for cmd in (setup_kibana, setup_kibana_rules, setup_watches):
        setup.add_command(cmd)


_register()
