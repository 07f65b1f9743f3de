"""The `predwatch` command: a lazy group, so `predwatch --help` and each command only import
what they use. Each area keeps its commands next to its code."""

from __future__ import annotations

import gc
import importlib
from typing import Any, NamedTuple

import click

from predwatch import __version__, extras
from predwatch.cli_common import EXTRA_KEY, PredwatchGroup
from predwatch.errors import ConfigError


class Entry(NamedTuple):
    """A command of the group: where it lives and what `predwatch --help` says about it."""

    target: str  # "module:attribute", imported only when the command runs (or shows its help)
    summary: str  # the command's short help (tests/unit/core/test_cli_startup.py keeps it true)
    extra: str | None = None  # the install it needs beyond the core (predwatch/extras.py)


COMMANDS: dict[str, Entry] = {
    "alerts": Entry(
        "predwatch.alerts.cli:alerts",
        "Alert rules: derive them from a baseline, render them for Watcher, Kibana or "
        "Prometheus, or let predwatch evaluate them itself.",
        "cli",
    ),
    "analyze": Entry(
        "predwatch.analyzers.analyze_cli:analyze",
        "Compare a model's recent predictions with its baseline or an earlier window.",
        "cli",
    ),
    "baseline": Entry(
        "predwatch.analyzers.baseline_cli:baseline",
        "Training-data profiles: what the model saw, to compare serving data against.",
        "cli",
    ),
    "demo": Entry(
        "predwatch.demo:demo",
        "Run predwatch end to end on a real model and a week of traffic with injected failures.",
        "demo",
    ),
    "es": Entry(
        "predwatch.devnode.cli:es",
        "Run a local Elasticsearch for development and tests: one node, or a cluster.",
        "cli",
    ),
    "grafana": Entry(
        "predwatch.grafana.cli:grafana",
        "Grafana dashboards of the shipper's Prometheus metrics.",
        "cli",
    ),
    "kibana": Entry(
        "predwatch.kibana.cli:kibana",
        "Kibana saved objects of a model (data views, Lens, searches, dashboards).",
        "cli",
    ),
    "outcomes": Entry(
        "predwatch.analyzers.outcomes_cli:outcomes",
        "Ground truth: load outcomes that arrive after the predictions.",
        "cli",
    ),
    "quality": Entry(
        "predwatch.analyzers.quality_cli:quality",
        "Prediction quality once ground truth has arrived (outcomes joined by prediction_id).",
        "cli",
    ),
    "retention": Entry(
        "predwatch.retention:retention",
        "Delete daily prediction/outcome indices older than --days (ILM does this where present).",
    ),
    "setup": Entry(
        "predwatch.setup_cli:setup",
        "Install predwatch's templates, policies, dashboards and rules.",
        "cli",
    ),
    "skew": Entry(
        "predwatch.analyzers.skew_cli:skew",
        "Feature-computation skew: served features against the training pipeline.",
        "cli",
    ),
    "spool": Entry(
        "predwatch.shipper.cli:spool", "Inspect and replay the disk spools of predwatch shippers."
    ),
}


class LazyGroup(PredwatchGroup):
    """Imports a command's module only when that command runs; `--help` lists the summaries."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, _, attr = entry.target.partition(":")
        ctx.meta[EXTRA_KEY] = entry.extra  # for a module the command imports when it runs
        try:
            cmd: Any = getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as exc:
            hint = extras.missing_extra(exc, f"`{ctx.command_path} {cmd_name}`", entry.extra)
            if hint is None:
                raise
            raise ConfigError(hint) from None
        return cmd  # type: ignore[no-any-return]

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, cmd, rest = super().resolve_command(ctx, args)
        _freeze_once()
        entry = COMMANDS.get(name or "")
        # Refuse to run (not to show help) before the command connects or starts anything
        # and fails half-way on a module its extra brings.
        if entry is not None and entry.extra and not set(rest) & set(ctx.help_option_names):
            module = extras.first_missing(entry.extra)
            if module is not None:
                raise ConfigError(extras.hint(module, f"`{ctx.command_path} {name}`", entry.extra))
        return name, cmd, rest

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # as click.Group does, without importing every command for its help text
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names))
        rows = [(n, _short(COMMANDS[n].summary, limit)) for n in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


_frozen = False


def _freeze_once() -> None:
    """Once per process, when a command's modules are loaded: move what they hold out of the
    cyclic collector's sight, so decoding a large aggregation answer (tens of thousands of
    new dicts) does not make it walk every imported object again (bench_estimate: 30 ms of
    a 120 ms weekly request in a process holding pandas and scikit-learn). Once: a process
    that runs many commands (tests) keeps collecting what they leave."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()


def _short(summary: str, limit: int) -> str:
    """`summary` cut to `limit` columns the way click cuts a command's help."""
    return click.Command(None, help=summary).get_short_help_str(limit)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="predwatch")
def main() -> None:
    """predwatch: monitor ML models in production with Elasticsearch and Kibana.

    \b
    Example:
      predwatch es start            # a local Elasticsearch for development
      predwatch setup elasticsearch # index templates (+ ILM where the cluster has it)

    Exit codes: 0 ok, 1 a finding (drift, alert), 2 usage or connection error.
    """
