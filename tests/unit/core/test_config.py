"""Unit tests of the connection settings."""

from __future__ import annotations

import pytest

from predwatch.config import ESConfig
from predwatch.errors import ConfigError


class TestESConfig:
    def test_defaults(self) -> None:
        """Without settings the URL is http://localhost:9200 and there are no credentials."""
        cfg = ESConfig.from_env(env={})
        assert cfg.url == "http://localhost:9200"
        assert cfg.auth_kind == "no credentials"

    def test_options_win_over_environment(self) -> None:
        """An explicit option beats PREDWATCH_ES_URL, which beats the default."""
        env = {"PREDWATCH_ES_URL": "http://env:9200", "PREDWATCH_ES_API_KEY": "k"}
        assert ESConfig.from_env(env=env).url == "http://env:9200"
        assert ESConfig.from_env(env=env, url="http://opt:1").url == "http://opt:1"

    def test_secrets_hidden(self) -> None:
        """Neither repr nor str shows the API key or the password."""
        cfg = ESConfig(api_key="SECRETKEY")
        cfg2 = ESConfig(username="u", password="SECRETPW")
        for text in (repr(cfg), str(cfg), repr(cfg2)):
            assert "SECRET" not in text
        assert cfg.redact("key=SECRETKEY") == "key=***"

    @pytest.mark.parametrize(
        ("kwargs", "needle"),
        [
            ({"url": "localhost:9200"}, "http://"),
            ({"api_key": "k", "username": "u", "password": "p"}, "either"),
            ({"username": "u"}, "go together"),
            ({"ca_cert": "/nonexistent/ca.crt"}, "does not exist"),
        ],
    )
    def test_invalid(self, kwargs: dict[str, str], needle: str) -> None:
        """Bad settings are refused up front with a clear message."""
        with pytest.raises(ConfigError, match=needle):
            ESConfig.from_env(env={}, **kwargs)
