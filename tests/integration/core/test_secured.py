"""Integration tests against a local node with security on (basic auth + TLS with its CA)."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner

from predwatch import es as es_mod
from predwatch.cli import main
from predwatch.config import ESConfig


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


class TestSecuredNode:
    def test_basic_auth_and_tls(self, secured_node: Any) -> None:
        """The elastic user over TLS verified with the generated CA can set up templates."""
        c = secured_node.credentials()
        result = run(
            "setup",
            "elasticsearch",
            "--es-url",
            secured_node.url,
            "--username",
            c["username"],
            "--password",
            c["password"],
            "--ca-cert",
            c["ca_cert"],
        )
        assert result.exit_code == 0, result.output

    def test_wrong_password(self, secured_node: Any) -> None:
        """A wrong password: one clear line, exit 2, and the password is not printed."""
        c = secured_node.credentials()
        result = run(
            "setup",
            "elasticsearch",
            "--es-url",
            secured_node.url,
            "--username",
            "elastic",
            "--password",
            "WRONGPASS123",
            "--ca-cert",
            c["ca_cert"],
        )
        assert result.exit_code == 2
        assert "rejected the credentials" in result.output
        assert "WRONGPASS123" not in result.output
        assert "Traceback" not in result.output

    def test_wrong_api_key(self, secured_node: Any) -> None:
        """A wrong API key: exit 2, clear message, no key in the output."""
        c = secured_node.credentials()
        key = "V1JPTkdLRVk6V1JPTkdLRVk="
        result = run(
            "setup",
            "elasticsearch",
            "--es-url",
            secured_node.url,
            "--api-key",
            key,
            "--ca-cert",
            c["ca_cert"],
        )
        assert result.exit_code == 2
        assert "API key" in result.output
        assert key not in result.output

    def test_tls_without_ca(self, secured_node: Any) -> None:
        """Without the CA the TLS failure is explained and names PREDWATCH_ES_CA_CERT."""
        c = secured_node.credentials()
        cfg = ESConfig(url=secured_node.url, username="elastic", password=c["password"])
        try:
            es_mod.ping(es_mod.client(cfg), cfg)
        except Exception as exc:
            assert "PREDWATCH_ES_CA_CERT" in str(exc)
            assert c["password"] not in str(exc)
        else:
            raise AssertionError("TLS without the CA should fail")

    def test_status_json(self, secured_node: Any) -> None:
        """`es status --json` reports the running secured node."""
        import json

        result = run(
            "es",
            "status",
            "--home",
            str(secured_node.home),
            "--port",
            str(secured_node.port),
            "--json",
        )
        info = json.loads(result.output)
        assert info["running"] is True and info["pid"] and info["url"].startswith("https://")
        assert info["version"]
