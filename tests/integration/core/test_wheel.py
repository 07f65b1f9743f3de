"""A non-editable `pip install .` into a fresh venv gives a working `predwatch` with its assets."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from predwatch.config import ESConfig

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A venv with only the built wheel; dependencies come from the test venv's site-packages
    (on PYTHONPATH, where its editable-install hook is not active)."""
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp / "dist"),
            str(REPO),
        ],
        check=True,
        cwd=tmp,
    )
    wheel = next((tmp / "dist").glob("predwatch-*.whl"))
    target = tmp / "venv"
    venv.create(target, with_pip=False)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(target / "bin" / "python"),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        check=True,
    )
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    return target, env


class TestWheel:
    def test_assets_inside_the_wheel(self, fresh_venv: tuple[Path, dict[str, str]]) -> None:
        """The installed package finds its templates inside site-packages, not the checkout."""
        target, env = fresh_venv
        code = (
            "import predwatch.assets as a, predwatch.shipper, predwatch.analyzers.stats;"
            "d = a.asset_dir('elasticsearch'); print(d);"
            "print(len(list(d.rglob('*.json'))))"
        )
        out = subprocess.run(
            [str(target / "bin" / "python"), "-c", code],
            env=env,
            cwd="/",
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert str(target) in out[0]
        assert int(out[1]) >= 10

    def test_command_sets_up_the_real_node(
        self, fresh_venv: tuple[Path, dict[str, str]], es_config: ESConfig
    ) -> None:
        """The installed `predwatch` command runs `setup elasticsearch` against the node."""
        target, env = fresh_venv
        res = subprocess.run(
            [
                str(target / "bin" / "predwatch"),
                "setup",
                "elasticsearch",
                "--es-url",
                es_config.url,
            ],
            env=env,
            cwd="/",
            capture_output=True,
            text=True,
            check=False,
        )
        assert res.returncode == 0, res.stderr
        assert "index_template predwatch-predictions" in res.stdout
