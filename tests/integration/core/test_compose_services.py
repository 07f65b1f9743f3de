"""docker-compose.yml's one-shot services run as Compose would run them, without Docker.

For `setup` and `demo`: the service's command line (shlex-split like Compose), its
environment (interpolated from .env.example), its working directory, and the source as a
READ-ONLY bind mount, the way `- .:/src:ro` mounts it. As root (read-only permissions do
not stop root) the copy is bind-mounted read-only in a private mount namespace
(`unshare -m`); otherwise `chmod -R a-w` makes it read-only. The image's Python is a fresh
venv; dependencies come from the test venv (PIP_NO_DEPS + PYTHONPATH), predwatch itself is
installed by the service's own install step. Elasticsearch is the test node, Kibana a fake.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sysconfig
import threading
import venv
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from predwatch.config import ESConfig
from tests.helpers.compose_env import env_example, interpolate
from tests.helpers.kibana_fake import FakeKibana, KibanaHandler

REPO = Path(__file__).resolve().parents[3]

SKIP = shutil.ignore_patterns(
    ".git", ".venv", "build", "*.egg-info", "__pycache__", ".cache", ".pytest_cache", "dist"
)
MOUNT = "/src"


@pytest.fixture
def fake_kibana() -> Iterator[FakeKibana]:
    """The Kibana tests' fake import API on a free port (Kibana cannot run here)."""
    kibana = FakeKibana()
    handler = type("Handler", (KibanaHandler,), {"kibana": kibana})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    kibana.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield kibana
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _can_unshare() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    text = interpolate((REPO / "docker-compose.yml").read_text(), env_example())
    return dict(yaml.safe_load(text)["services"])


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the checkout that the commands see read-only (see the module docstring)."""
    src = tmp_path_factory.mktemp("compose") / "src"
    shutil.copytree(REPO, src, ignore=SKIP, symlinks=True)
    if not _can_unshare():
        subprocess.run(["chmod", "-R", "a-w", str(src)], check=True)
    yield src
    subprocess.run(["chmod", "-R", "u+w", str(src)], check=False)


@pytest.fixture(scope="module")
def image_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv standing in for python:3.11-slim (pip, no predwatch)."""
    target = tmp_path_factory.mktemp("image") / "venv"
    venv.create(target, with_pip=True)
    return target


def run_service(
    service: dict[str, Any],
    src: Path,
    image: Path,
    workdir: Path,
    overrides: dict[str, str],
    command: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the service's command as Compose would, /src read-only; `command` replaces it."""
    assert f".:{MOUNT}:ro" in service["volumes"], "the source must be mounted read-only"
    argv = [a.replace(MOUNT, str(src)) for a in shlex.split(command or service["command"])]
    env = dict(e.split("=", 1) for e in service.get("environment", []))
    env.update(overrides)
    env.update(
        PATH=f"{image / 'bin'}:/usr/bin:/bin",
        HOME=str(workdir),
        PIP_NO_DEPS="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PYTHONPATH=sysconfig.get_paths()["purelib"],
    )
    if _can_unshare():
        mount = f'mount --bind {src} {src} && mount -o remount,bind,ro {src} && exec "$@"'
        argv = ["unshare", "-m", "sh", "-c", mount, "sh", *argv]
    return subprocess.run(
        argv, env=env, cwd=workdir, capture_output=True, text=True, timeout=1800, check=False
    )


class TestReadOnlySource:
    def test_source_really_is_read_only(
        self, services: dict[str, Any], source: Path, image_python: Path, tmp_path: Path
    ) -> None:
        """Writing into the mounted source fails, as in the container."""
        res = run_service(
            services["setup"],
            source,
            image_python,
            tmp_path,
            {},
            command=f"sh -c 'touch {MOUNT}/x'",
        )
        out = res.stderr + res.stdout
        assert res.returncode != 0
        assert "Read-only file system" in out or "Permission denied" in out, out

    def test_old_install_fails_here(
        self, services: dict[str, Any], source: Path, image_python: Path, tmp_path: Path
    ) -> None:
        """`pip install /src` (the old command) fails on the read-only mount: the harness
        reproduces the bug the services had."""
        res = run_service(
            services["setup"],
            source,
            image_python,
            tmp_path,
            {},
            command=f"sh -c 'pip install --quiet {MOUNT}'",
        )
        assert res.returncode != 0, res.stdout + res.stderr


class TestServices:
    def test_setup_service(
        self,
        services: dict[str, Any],
        source: Path,
        image_python: Path,
        tmp_path: Path,
        es_config: ESConfig,
        fake_kibana: FakeKibana,
    ) -> None:
        """`setup` installs predwatch from the read-only mount and sets up ES and Kibana."""
        res = run_service(
            services["setup"],
            source,
            image_python,
            tmp_path,
            # The service's own command line; the smaller demo (an environment variable, as a
            # Compose user could set it) keeps CI short: the full demo has tests of its own.
            {
                "PREDWATCH_ES_URL": es_config.url,
                "PREDWATCH_KIBANA_URL": fake_kibana.url,
                "PREDWATCH_DEMO_FAST": "1",
            },
        )
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
        assert "index_template predwatch-predictions" in res.stdout
        assert fake_kibana.store.get("default"), "the demo dashboards reached Kibana"
        installed = subprocess.run(
            [
                str(image_python / "bin" / "python"),
                "-c",
                "import predwatch, sys; print(predwatch.__file__)",
            ],
            capture_output=True,
            text=True,
            check=True,
            env={"PATH": "/usr/bin:/bin"},
            cwd="/",
        ).stdout
        assert str(image_python) in installed and str(source) not in installed

    @pytest.mark.slow
    def test_demo_service(
        self,
        services: dict[str, Any],
        source: Path,
        image_python: Path,
        tmp_path: Path,
        es_config: ESConfig,
        fake_kibana: FakeKibana,
    ) -> None:
        """`demo` installs predwatch[demo] from the read-only mount and runs the demo."""
        res = run_service(
            services["demo"],
            source,
            image_python,
            tmp_path,
            {
                "PREDWATCH_ES_URL": es_config.url,
                "PREDWATCH_KIBANA_URL": fake_kibana.url,
                # The service's metrics endpoint, on a free loopback port here (not 0.0.0.0:9464).
                "PREDWATCH_DEMO_METRICS_PORT": "0",
                "PREDWATCH_DEMO_METRICS_ADDR": "127.0.0.1",
            },
        )
        assert res.returncode in (0, 1), res.stdout[-2000:] + res.stderr[-2000:]
        assert "Traceback" not in res.stderr
