"""The secured local node's secrets: private from creation, and `es env` that tells the truth."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from predwatch import devnode
from predwatch.cli import main


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class TestSecretFiles:
    def test_private_keys_and_secrets_are_0600(self, secured_node: Any) -> None:
        """CA and node keys, the bootstrap password and credentials.json: owner-only."""
        home = Path(secured_node.home)
        secrets = [
            home / "config" / "certs" / "ca" / "ca.key",
            home / "config" / "certs" / "node" / "node.key",
            home / ".bootstrap",
            home / "credentials.json",
        ]
        for path in secrets:
            assert _mode(path) & 0o077 == 0, f"{path} is {oct(_mode(path))}"
        assert _mode(home / "config" / "certs" / "ca" / "ca.crt") == 0o644

    def test_no_key_copies_left(self, secured_node: Any) -> None:
        """The certutil zips (a second copy of the keys) are gone after unpacking."""
        assert not list((Path(secured_node.home) / "config" / "certs").glob("*.zip"))


class TestEnv:
    def test_start_hint_names_the_home(self, secured_node: Any) -> None:
        """`es start --security --home H` tells to run `es env` with that same --home."""
        home, port = str(secured_node.home), str(secured_node.port)
        out = CliRunner().invoke(main, ["es", "start", "--home", home, "--port", port])
        assert out.exit_code == 0, out.output
        assert f"predwatch es env --port {port} --home {home}" in out.output

    def test_env_prints_https_and_credentials(self, secured_node: Any) -> None:
        """With the node's --home: https URL, user, password and CA certificate."""
        home, port = str(secured_node.home), str(secured_node.port)
        out = CliRunner().invoke(main, ["es", "env", "--home", home, "--port", port])
        assert out.exit_code == 0, out.output
        creds = secured_node.credentials()
        assert f"export PREDWATCH_ES_URL=https://127.0.0.1:{port}" in out.output
        assert f"export PREDWATCH_ES_PASSWORD={creds['password']}" in out.output
        assert f"export PREDWATCH_ES_CA_CERT={creds['ca_cert']}" in out.output

    def test_env_without_a_node_is_an_error(self, tmp_path: Path) -> None:
        """A home with no node: exit 2 and one line, not a plain http URL with exit 0."""
        out = CliRunner().invoke(
            main, ["es", "env", "--home", str(tmp_path / "none"), "--port", "19999"]
        )
        assert out.exit_code == 2
        assert "no node was created" in out.output and "--home" in out.output
        assert "export" not in out.output


class TestPrivateFiles:
    def test_umask_makes_new_files_private(self, tmp_path: Path) -> None:
        """Inside private_files() a plain open() creates 0600, and the umask comes back."""
        before = os.umask(0o022)
        try:
            with devnode.private_files():
                (tmp_path / "k").write_text("secret")
                (tmp_path / "d").mkdir()
            assert _mode(tmp_path / "k") == 0o600 and _mode(tmp_path / "d") == 0o700
            (tmp_path / "after").write_text("x")
            assert _mode(tmp_path / "after") == 0o644
        finally:
            os.umask(before)

    def test_write_private_replaces_a_readable_file(self, tmp_path: Path) -> None:
        """An existing 0644 file is replaced by a new 0600 one (not chmod-ed after writing)."""
        target = tmp_path / "pw"
        target.write_text("old")
        target.chmod(0o644)
        devnode.write_private(target, "new")
        assert target.read_text() == "new" and _mode(target) == 0o600
