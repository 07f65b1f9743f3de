"""`predwatch --help` and a command's `--help` import no command module and none of the
analysis (benchmarks/bench_cli_startup.py measures the time this saves)."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from predwatch.cli import COMMANDS, main

HEAVY = {"numpy", "pandas", "scipy", "pyarrow", "rich", "elasticsearch", "requests", "yaml"}


def modules_after(*args: str) -> set[str]:
    """The modules a fresh interpreter has loaded after `predwatch <args>`."""
    code = (
        "import sys\nfrom predwatch.cli import main\n"
        f"try:\n    main({list(args)!r}, prog_name='predwatch')\n"
        "except SystemExit as e:\n    assert not e.code, e.code\n"
        "print('\\n' + ' '.join(sys.modules))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(res.stdout.splitlines()[-1].split())  # the help text comes first


class TestLazyHelp:
    def test_group_help_imports_no_command(self) -> None:
        """`predwatch --help` lists every command from the registry, importing none."""
        loaded = modules_after("--help")
        commands = {entry.target.partition(":")[0] for entry in COMMANDS.values()}
        assert not loaded & commands
        assert not {m.partition(".")[0] for m in loaded} & HEAVY

    @pytest.mark.parametrize("name", ["analyze", "demo"])
    def test_command_help_imports_no_analysis(self, name: str) -> None:
        """`predwatch <command> --help` imports the command's module, not the analysis."""
        loaded = modules_after(name, "--help")
        assert COMMANDS[name].target.partition(":")[0] in loaded
        assert not {m.partition(".")[0] for m in loaded} & HEAVY


class TestRegistry:
    @pytest.mark.parametrize("name", sorted(COMMANDS))
    def test_summary_is_the_commands_help(self, name: str) -> None:
        """The registry's summary is the first sentence of the command's own help."""
        cmd = main.get_command(click.Context(main), name)
        assert cmd is not None
        assert COMMANDS[name].summary == cmd.get_short_help_str(10**6)

    def test_min_count_default(self) -> None:
        """analyze's --min-count default, written out for fast help, is compare.MIN_COUNT."""
        from predwatch.analyzers import analyze_cli, compare

        assert analyze_cli.MIN_COUNT == compare.MIN_COUNT
