"""Unit tests of the options several commands share (predwatch/cli_common.py)."""

from __future__ import annotations

from typing import Any

import click
import pytest
from click.testing import CliRunner

from predwatch.cli_common import (
    baseline_option,
    connect,
    credential_options,
    model_option,
    options,
)
from predwatch.config import ESConfig
from predwatch.errors import EXIT_ERROR, PredwatchError

DOWN = "http://127.0.0.1:9"  # nothing listens on the discard port


def _seen(cmd: click.Command, args: list[str], env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(cmd, args, env=env, standalone_mode=False)
    assert result.exception is None, result.output
    return result.return_value


class TestOptions:
    def test_help_lists_them_in_the_order_given(self) -> None:
        """`options(a, b, c)` shows a, b, c in that order, as stacked decorators would."""

        @click.command()
        @options(click.option("--zeta"), click.option("--alpha"), click.option("--mid"))
        def cmd(**kw: Any) -> None:
            """Example: none."""

        out = CliRunner().invoke(cmd, ["--help"]).output
        assert out.index("--zeta") < out.index("--alpha") < out.index("--mid")


class TestCredentialOptions:
    def test_values_come_from_the_environment(self) -> None:
        """Each credential defaults to its PREDWATCH_ES_* variable."""

        @click.command()
        @credential_options("the key")
        def cmd(**kw: Any) -> dict[str, Any]:
            return kw

        env = {
            "PREDWATCH_ES_API_KEY": "k",
            "PREDWATCH_ES_USERNAME": "u",
            "PREDWATCH_ES_PASSWORD": "p",
            "PREDWATCH_ES_CA_CERT": "ca.pem",
        }
        assert _seen(cmd, [], env) == {
            "api_key": "k",
            "username": "u",
            "password": "p",
            "ca_cert": "ca.pem",
        }
        assert "the key [env PREDWATCH_ES_API_KEY]" in CliRunner().invoke(cmd, ["--help"]).output


class TestBaselineAndModel:
    def test_repeatable_baseline_is_a_tuple_of_paths(self) -> None:
        """`multiple=True` passes `baseline_paths` (a tuple); otherwise `baseline_path`."""

        @click.command()
        @baseline_option("many", multiple=True)
        @model_option()
        def many(**kw: Any) -> dict[str, Any]:
            return kw

        @click.command()
        @baseline_option("one", required=True)
        def one(**kw: Any) -> dict[str, Any]:
            return kw

        assert _seen(many, ["--baseline", "a.json", "--baseline", "b.json", "-m", "x"]) == {
            "baseline_paths": ("a.json", "b.json"),
            "model": "x",
        }
        assert _seen(one, ["--baseline", "a.json"]) == {"baseline_path": "a.json"}
        assert CliRunner().invoke(one, []).exit_code == 2  # required: a usage error


class TestConnect:
    def test_unreachable_cluster_is_a_predwatch_error(self) -> None:
        """connect() asks the cluster first: nobody listening is a PredwatchError (exit 2)."""
        with pytest.raises(PredwatchError) as info:
            connect(ESConfig(url=DOWN, request_timeout=5))
        assert info.value.exit_code == EXIT_ERROR
        assert DOWN in str(info.value)
