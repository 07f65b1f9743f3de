"""Unit tests of the layout rules of docs/architecture.md."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


class TestLayout:
    def test_every_package_listed(self) -> None:
        """Every folder with an __init__.py is a package listed in pyproject.toml."""
        cfg = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
        listed = {cfg["package-dir"][p] for p in cfg["packages"]}
        for init in REPO.glob("**/__init__.py"):
            rel = init.parent.relative_to(REPO).as_posix()
            top = rel.split("/")[0]
            if top.startswith(".") or top in ("tests", "build", "benchmarks"):
                continue  # venvs, caches, tests: not part of the distribution
            assert rel in listed, f"{rel} is a package but not in pyproject.toml"

    def test_asset_folders_are_not_packages(self) -> None:
        """elasticsearch/ and kibana/ never get an __init__.py (it would shadow the client)."""
        assert not list((REPO / "elasticsearch").rglob("__init__.py"))
        assert not list((REPO / "kibana").rglob("__init__.py"))

    def test_client_not_shadowed_from_repo_root(self) -> None:
        """`import elasticsearch` from the repository root loads the client library."""
        out = subprocess.run(
            [sys.executable, "-c", "import elasticsearch; print(elasticsearch.__file__)"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "site-packages" in out

    def test_client_not_shadowed_with_repo_root_on_sys_path(self) -> None:
        """With the repository root first on sys.path (PYTHONPATH, as a script or a test
        runner at the root puts it), `import elasticsearch` is still the client."""
        code = (
            "import sys; assert sys.path[1] == sys.argv[1], sys.path;"
            "import elasticsearch; print(elasticsearch.__file__, elasticsearch.Elasticsearch)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code, str(REPO)],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "site-packages" in out and str(REPO / "elasticsearch") not in out


class TestTestLayout:
    def test_unique_test_basenames(self) -> None:
        """Test modules have unique file names (a failure report names a test by its file)."""
        seen: dict[str, Path] = {}
        for path in sorted((REPO / "tests").rglob("test_*.py")):
            assert path.name not in seen, f"{path} and {seen[path.name]} share a name"
            seen[path.name] = path

    def test_shared_code_comes_from_tests_helpers(self) -> None:
        """No test reaches shared code through sys.path edits, other test modules or
        conftest.py (docs/contributing.md: tests.helpers)."""
        bad = re.compile(
            r"sys\.path\.(insert|append)|^\s*(from|import) (conftest|test_\w+)\b", re.M
        )
        found = [
            f"{path.relative_to(REPO)}: {m.group(0).strip()}"
            for path in sorted((REPO / "tests").rglob("*.py"))
            for m in bad.finditer(path.read_text(encoding="utf-8"))
        ]
        assert found == []
