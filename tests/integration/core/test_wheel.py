"""The distribution as users install it: `python -m build` makes the sdist and, from it, the
wheel; the wheel alone, installed into a fresh venv, gives a working `predwatch` with its
assets that sets up, ships to and analyzes the real node (docs/install.md)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import venv
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from predwatch.config import ESConfig

REPO = Path(__file__).resolve().parents[3]
SKIP = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".cache", ".pytest_cache"
)
Installed = tuple[Path, dict[str, str], Path]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sdist + wheel built by `python -m build` from a clean copy (the checkout stays clean)."""
    tmp = tmp_path_factory.mktemp("dist")
    src = tmp / "src"
    shutil.copytree(REPO, src, ignore=SKIP, symlinks=True)
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(tmp / "dist"), str(src)],
        check=True,
        capture_output=True,
        cwd=tmp,
    )
    return tmp / "dist"


@pytest.fixture(scope="module")
def fresh_venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """A venv with only the built wheel; dependencies come from the test venv's site-packages
    (on PYTHONPATH, where its editable-install hook is not active)."""
    wheel = next(dist.glob("predwatch-*.whl"))
    target = tmp_path_factory.mktemp("wheel") / "venv"
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
    env.pop("PREDWATCH_ES_URL", None)
    return target, env, tmp_path_factory.mktemp("work")


def _predwatch(installed: Installed, *args: str) -> subprocess.CompletedProcess[str]:
    target, env, work = installed
    return subprocess.run(
        [str(target / "bin" / "predwatch"), *args],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )


class TestDistributions:
    def test_sdist_and_wheel_built(self, dist: Path) -> None:
        """Both files exist; the sdist carries every package folder and the assets."""
        sdist = next(dist.glob("predwatch-*.tar.gz"))
        assert list(dist.glob("predwatch-*-py3-none-any.whl"))
        with tarfile.open(sdist) as tf:
            names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
        for needed in (
            "pyproject.toml",
            "predwatch/cli.py",
            "shipper/_shipper.py",
            "analyzers/stats/__init__.py",
            "elasticsearch/security/roles.json",
            "kibana/predwatch-demo.ndjson",
        ):
            assert needed in names, needed


class TestWheel:
    def test_help(self, fresh_venv: Installed) -> None:
        """`predwatch --help` of the installed wheel lists the commands."""
        res = _predwatch(fresh_venv, "--help")
        assert res.returncode == 0, res.stderr
        assert "analyze" in res.stdout and "setup" in res.stdout

    def test_assets_inside_the_wheel(self, fresh_venv: Installed) -> None:
        """The installed package finds its templates inside site-packages, not the checkout."""
        target, env, _ = fresh_venv
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
        self, fresh_venv: Installed, es_config: ESConfig
    ) -> None:
        """The installed `predwatch` command runs `setup elasticsearch` against the node."""
        res = _predwatch(fresh_venv, "setup", "elasticsearch", "--es-url", es_config.url)
        assert res.returncode == 0, res.stderr
        assert "index_template predwatch-predictions" in res.stdout

    def test_ship_and_analyze(
        self, fresh_venv: Installed, es_config: ESConfig, es: Elasticsearch, model_name: str
    ) -> None:
        """From the wheel alone: build a baseline, ship records, `analyze` reads them back."""
        target, env, work = fresh_venv
        train = work / "train.csv"
        train.write_text("amount,country\n" + "".join(f"{i},c{i % 3}\n" for i in range(200)))
        baseline = work / f"{model_name}.json"
        res = _predwatch(
            fresh_venv, "baseline", "build", str(train), "--model", model_name,
            "--version", "1", "--output", str(baseline),
        )  # fmt: skip
        assert res.returncode == 0, res.stderr
        ship = (
            "import sys; from predwatch.shipper import Shipper\n"
            "s = Shipper(sys.argv[1], '1', sys.argv[2], es_url=sys.argv[3],"
            " spool_dir=sys.argv[4], handle_sigterm=False, flush_interval=0.1)\n"
            "for i in range(5): s.log_prediction({'amount': float(i), 'country': 'c1'}, 0.5)\n"
            "assert s.flush(60), s.stats()\n"
            "st = s.stats(); s.close(timeout=5)\n"
            "print(st['acked'], st['dead_lettered'])\n"
        )
        shipped = subprocess.run(
            [str(target / "bin" / "python"), "-c", ship, model_name, str(baseline),
             es_config.url, str(work / "spool")],
            env=env, cwd=work, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert shipped.returncode == 0, shipped.stderr
        assert shipped.stdout.split()[1] == "0" and int(shipped.stdout.split()[0]) >= 5
        # acked is durable, not yet searchable: search sees it after the next refresh
        es.indices.refresh(index=f"predwatch-predictions-{model_name}-*")
        res = _predwatch(
            fresh_venv, "analyze", "--model", model_name, "--window", "1h", "--baseline",
            str(baseline), "--no-store", "--json", "--es-url", es_config.url,
        )  # fmt: skip
        assert res.returncode in (0, 1), res.stderr
        report = json.loads(res.stdout)
        assert report["model"] == model_name and report["documents"] == 5
