"""The documentation site builds with `mkdocs build --strict`: no broken link, no missing
anchor, no page left out of the navigation, no missing included file."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Lines of the pages that include a repository file (pymdownx.snippets).
SNIPPET = re.compile(r'^--8<-- "([^"]+)"$', re.M)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None,
        reason="mkdocs and mkdocs-material are not installed (pip install -e '.[dev]')",
    ),
]


def build(root: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """`mkdocs build --strict` of the site whose mkdocs.yml is in `root`, into `site`."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(root / "mkdocs.yml")]
    return subprocess.run(
        [*cmd, "-d", str(site)], capture_output=True, text=True, timeout=300, env=env, check=False
    )


def copy_site_sources(dest: Path) -> None:
    """mkdocs.yml, docs/ and every file the pages include, as in the repository."""
    shutil.copy(REPO / "mkdocs.yml", dest / "mkdocs.yml")
    shutil.copytree(REPO / "docs", dest / "docs")
    for page in (REPO / "docs").glob("**/*.md"):
        for included in SNIPPET.findall(page.read_text(encoding="utf-8")):
            (dest / included).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / included, dest / included)


class TestDocsSite:
    def test_strict_build(self, tmp_path: Path) -> None:
        """The site of this repository builds in strict mode without a single warning."""
        out = build(REPO, tmp_path / "site")
        log = out.stdout + out.stderr
        assert out.returncode == 0, log
        assert "WARNING" not in log, log
        assert (tmp_path / "site" / "index.html").is_file()

    def test_broken_link_fails_the_build(self, tmp_path: Path) -> None:
        """A link to a page that does not exist fails the build (strict mode is really on)."""
        copy_site_sources(tmp_path)
        index = tmp_path / "docs" / "index.md"
        index.write_text(index.read_text(encoding="utf-8") + "\n[gone](no-such-page.md)\n")
        out = build(tmp_path, tmp_path / "site")
        log = out.stdout + out.stderr
        assert out.returncode != 0, log
        assert "no-such-page.md" in log, log
