"""File-realm users and roles on a secured local node (`predwatch es start --security`).

The integ-test-zip has no native realm that works (its `.security` index needs a module
the zip lacks), so users and roles are the node's `config/users`, `config/users_roles` and
`config/roles.yml` files, which Elasticsearch reloads within seconds of a change. Used to
test the least-privilege roles (predwatch.roles) for real.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import requests
import yaml

from predwatch.devnode.download import fetch, find_java
from predwatch.devnode.node import LocalNode
from predwatch.devnode.process import NODE_USER, private_files
from predwatch.errors import LocalNodeError
from predwatch.roles import roles_yaml

RELOAD_TIMEOUT_S = 60.0


def add_roles(node: LocalNode, roles: dict[str, dict[str, Any]]) -> None:
    """Add or replace `roles` in the node's config/roles.yml (Elasticsearch reloads it)."""
    path = node.home / "config" / "roles.yml"
    current = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    merged = {**(current or {}), **roles}
    path.write_text(roles_yaml(merged), encoding="utf-8")
    _own(path)


def add_user(node: LocalNode, name: str, password: str, roles: list[str]) -> None:
    """Add a file-realm user and wait until the node accepts its password."""
    dist = fetch(node.version, log=lambda _msg: None)
    conf = node.home / "config"
    env = {
        **os.environ,
        "ES_JAVA_HOME": str(find_java()),
        "ES_PATH_CONF": str(conf),
    }
    cmd = [str(dist / "bin" / "elasticsearch-users"), "useradd", name, "-p", password]
    cmd += ["-r", ",".join(roles)]
    with private_files():  # config/users holds password hashes
        res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise LocalNodeError(f"elasticsearch-users failed: {(res.stderr or res.stdout)[-300:]}")
    for f in ("users", "users_roles"):
        _own(conf / f)
    _wait_for_user(node, name, password)


def _own(path: Path) -> None:
    if os.geteuid() == 0:  # the node runs as NODE_USER and must read its files
        subprocess.run(["chown", NODE_USER, str(path)], check=True)


def _wait_for_user(node: LocalNode, name: str, password: str) -> None:
    deadline = time.monotonic() + RELOAD_TIMEOUT_S
    while time.monotonic() < deadline:
        r = requests.get(
            f"{node.url}/_security/_authenticate",
            auth=(name, password),
            verify=str(node.ca_cert),
            timeout=10,
        )
        if r.status_code == 200:
            return
        time.sleep(0.5)
    raise LocalNodeError(f"the node did not accept the new user {name} in time")
