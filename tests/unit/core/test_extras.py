"""What a serving app installs (the core) and what the extras bring: the shipper works with
the core alone, and a command whose extra is missing says which install it needs.

A core-only install is simulated in a subprocess by a meta-path blocker that makes every
distribution outside the core's dependency closure unimportable, as it is in a serving image.
"""

from __future__ import annotations

import importlib.metadata as md
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from predwatch import extras

REPO = Path(__file__).resolve().parents[3]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
HEAVY = {"pandas", "numpy", "scipy", "pyarrow"}

BLOCKER = """
import sys, importlib.abc
BLOCKED = set(sys.argv.pop(1).split(","))
class _NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, _NotInstalled())
"""


def _name(requirement: str) -> str:
    return re.split(r"[^A-Za-z0-9._-]", requirement.strip(), maxsplit=1)[0].lower()


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def core_closure() -> set[str]:
    """The distributions `pip install predwatch` brings (no extras), by canonical name."""
    todo = [_canonical(_name(r)) for r in PROJECT["dependencies"]]
    seen: set[str] = set()
    while todo:
        dist = todo.pop()
        if dist in seen:
            continue
        seen.add(dist)
        try:
            requires = md.requires(dist) or []
        except md.PackageNotFoundError:
            continue
        todo += [_canonical(_name(r)) for r in requires if "extra ==" not in r]
    return seen


def outside_core() -> set[str]:
    """Top-level import names of every installed distribution the core does not bring."""
    core = core_closure() | {"predwatch"}
    return {
        module
        for module, dists in md.packages_distributions().items()
        if not any(_canonical(d) in core for d in dists) and module.isidentifier()
    }


def run_core_only(code: str, blocked: set[str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter where only the core's distributions import."""
    names = ",".join(sorted(outside_core() if blocked is None else blocked))
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + code, names],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=300,
    )


def cli(*args: str, blocked: set[str] | None = None) -> subprocess.CompletedProcess[str]:
    code = f"from predwatch.cli import main\nmain({list(args)!r}, prog_name='predwatch')\n"
    return run_core_only(code, blocked)


class TestCoreInstall:
    def test_core_dependencies(self) -> None:
        """`pip install predwatch` brings the Elasticsearch client and click, nothing else."""
        assert sorted(_name(r) for r in PROJECT["dependencies"]) == ["click", "elasticsearch"]

    def test_shipper_imports_none_of_the_analysis(self) -> None:
        """`import predwatch.shipper` in a fresh interpreter loads no pandas or scipy (numpy
        only arrives through the client, and only where pyarrow is installed)."""
        code = "import sys, predwatch.shipper\nprint(' '.join(sorted(sys.modules)))\n"
        res = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        loaded = {m.partition(".")[0] for m in res.stdout.split()}
        assert not loaded & {"pandas", "scipy", "rich", "yaml", "structlog", "sklearn"}

    def test_shipper_ships_with_the_core_alone(self, tmp_path: Path) -> None:
        """Without any extra, the shipper imports, takes predictions (numpy values too when
        numpy is there) and keeps them in its spool when Elasticsearch is down."""
        code = (
            "import sys\n"
            "from predwatch.shipper import Shipper\n"
            f"s = Shipper('m', '1', es_url='http://127.0.0.1:9', spool_dir={str(tmp_path)!r},"
            " handle_sigterm=False, flush_interval=0.05)\n"
            "for i in range(3): s.log_prediction({'amount': float(i), 'country': 'c'}, 0.5)\n"
            "s.close(timeout=2)\n"
            "tops = {m.partition('.')[0] for m in sys.modules}\n"
            "print(s.stats()['enqueued'], sorted(HEAVY & tops))\n"
        ).replace("HEAVY", repr(HEAVY))
        res = run_core_only(code)
        assert res.returncode == 0, res.stderr
        assert res.stdout.split(maxsplit=1) == ["3", "[]\n"]

    @pytest.mark.parametrize("command", ["--help", "demo --help", "analyze --help"])
    def test_help_works_with_the_core_alone(self, command: str) -> None:
        """`predwatch --help` and a command's help need no extra."""
        res = cli(*command.split())
        assert res.returncode == 0, res.stderr
        assert "Example" in res.stdout


class TestMissingExtra:
    @pytest.mark.parametrize(
        ("args", "extra"),
        [
            (["demo"], "demo"),
            (
                ["analyze", "--model", "m", "--window", "1h", "--es-url", "http://127.0.0.1:9"],
                "cli",
            ),
            (["baseline", "build", "train.csv", "--model", "m", "--version", "1"], "cli"),
        ],
        ids=["demo", "analyze", "baseline build"],
    )
    def test_core_only(self, args: list[str], extra: str) -> None:
        """A command whose extra is missing: exit 2 and one line naming the install."""
        res = cli(*args)
        assert res.returncode == 2, res.stderr
        assert "Traceback" not in res.stderr
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1, res.stderr
        assert f"pip install 'predwatch[{extra}]'" in lines[0]
        assert lines[0].startswith(f"error: `predwatch {args[0]}")

    def test_demo_with_the_cli_extra_only(self) -> None:
        """With the analyzers installed but not scikit-learn, `predwatch demo` asks for [demo]."""
        res = cli("demo", "--es-url", "http://127.0.0.1:9", blocked={"sklearn"})
        assert res.returncode == 2, res.stderr
        assert "needs scikit-learn" in res.stderr
        assert "pip install 'predwatch[demo]'" in res.stderr

    def test_module_no_extra_brings_is_a_bug(self) -> None:
        """A missing module no extra provides is reported as a bug, not as an install."""
        exc = ModuleNotFoundError("No module named 'nope'", name="nope")
        assert extras.missing_extra(exc, "`predwatch x`") is None


class TestTable:
    def test_every_extra_module_listed(self) -> None:
        """extras.MODULES names each distribution of the cli, demo and prometheus extras, in
        the extra pyproject.toml puts it."""
        optional = PROJECT["optional-dependencies"]
        listed = {_canonical(dist): extra for dist, extra in extras.MODULES.values()}
        for extra in ("cli", "demo", "prometheus"):
            for req in optional[extra]:
                name = _canonical(_name(req))
                if name == "predwatch":
                    continue  # demo includes cli
                assert listed.get(name) == extra, f"{name} of [{extra}] not in extras.MODULES"
        assert len(listed) == len(extras.MODULES)

    def test_import_names(self) -> None:
        """Each import name belongs to the distribution the table says (checked where it is
        installed, as in the dev venv)."""
        owners = md.packages_distributions()
        for module, (dist, _) in extras.MODULES.items():
            assert _canonical(dist) in {_canonical(d) for d in owners.get(module, [])}, module

    def test_includes(self) -> None:
        """extras.INCLUDES is what pyproject's self-references (predwatch[...]) say."""
        optional = PROJECT["optional-dependencies"]
        for extra in ("cli", "demo", "prometheus"):
            inner = [r for r in optional[extra] if _canonical(_name(r)) == "predwatch"]
            named = {x.strip() for r in inner for x in r.split("[")[1].rstrip("]").split(",")}
            assert named == set(extras.INCLUDES.get(extra, ())), extra

    def test_dev_installs_everything(self) -> None:
        """The dev extra (what .ci/bootstrap installs) includes every other extra."""
        dev = " ".join(PROJECT["optional-dependencies"]["dev"])
        assert "predwatch[cli,demo,prometheus]" in dev
