"""The `predwatch` command: a lazy group, so `predwatch --help` and each command only import
what they use. Each area keeps its commands next to its code."""

from __future__ import annotations

import importlib
from typing import Any

import click

from predwatch import __version__
from predwatch.cli_common import PredwatchGroup

# command name -> "module:attribute"
COMMANDS: dict[str, str] = {
    "es": "predwatch.devnode.cli:es",
    "setup": "predwatch.setup_cli:setup",
    "retention": "predwatch.retention:retention",
    "baseline": "predwatch.analyzers.baseline_cli:baseline",
    "alerts": "predwatch.alerts.cli:alerts",
    "analyze": "predwatch.analyzers.analyze_cli:analyze",
    "spool": "predwatch.shipper.cli:spool",
    "outcomes": "predwatch.analyzers.outcomes_cli:outcomes",
    "quality": "predwatch.analyzers.quality_cli:quality",
    "skew": "predwatch.analyzers.skew_cli:skew",
    "kibana": "predwatch.kibana.cli:kibana",
    "demo": "predwatch.demo:demo",
}


class LazyGroup(PredwatchGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        cmd: Any = getattr(importlib.import_module(module), attr)
        return cmd  # type: ignore[no-any-return]


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
