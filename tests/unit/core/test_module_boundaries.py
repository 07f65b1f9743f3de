"""What importing a runtime module drags in: the development node and the set-up code stay out
of the CLI entry point, the jobs and the result writers (each checked in a fresh process)."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _loaded(imports: str) -> set[str]:
    code = f"import sys\n{imports}\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return set(out.stdout.split())


@pytest.mark.parametrize(
    "imports",
    [
        "import predwatch.cli",
        "import predwatch.results_store, predwatch.baseline_store",
        "import predwatch.analyzers.job, predwatch.analyzers.outcomes",
        "import predwatch.analyzers.quality_job",
        "import predwatch.alerts.cli, predwatch.alerts.runner, predwatch.kibana.cli",
    ],
)
def test_runtime_modules_leave_out_devnode_and_setup(imports: str) -> None:
    """Neither the local node (a development tool) nor the set-up module is imported."""
    loaded = _loaded(imports)
    assert not {m for m in loaded if m.startswith("predwatch.devnode")}
    assert "predwatch.setup_es" not in loaded


def test_es_command_loads_devnode() -> None:
    """`predwatch es` still finds its implementation through the lazy command table."""
    loaded = _loaded(
        "import click\nfrom predwatch.cli import main\nmain.get_command(click.Context(main), 'es')"
    )
    assert "predwatch.devnode.cli" in loaded
