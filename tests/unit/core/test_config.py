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


class TestSeveralHosts:
    def test_comma_separated(self) -> None:
        """PREDWATCH_ES_URL may list several nodes; spaces and empty items are ignored."""
        env = {"PREDWATCH_ES_URL": "http://a:9200, http://b:9200,,http://c:9200 "}
        cfg = ESConfig.from_env(env=env)
        assert cfg.hosts == ["http://a:9200", "http://b:9200", "http://c:9200"]
        assert cfg.url == "http://a:9200,http://b:9200,http://c:9200"

    def test_list(self) -> None:
        """A list of URLs is accepted where a URL is, and kept in comma-separated form."""
        cfg = ESConfig.from_env(env={}, url=["http://a:9200", "http://b:9200"])
        assert cfg.hosts == ["http://a:9200", "http://b:9200"]
        assert ESConfig().with_url(["http://x:1", "http://y:2"]).url == "http://x:1,http://y:2"
        assert hash(cfg) == hash(ESConfig(url="http://a:9200,http://b:9200"))

    def test_one_host(self) -> None:
        """One URL gives one host."""
        assert ESConfig(url="https://es:9243").hosts == ["https://es:9243"]

    @pytest.mark.parametrize(
        ("url", "needle"),
        [
            ("http://a:9200,b:9200", "'b:9200' in"),
            (" , ", "names no host"),
            ("http://a:9200,https://b:9200", "mixes"),
            ([1, 2], "list of strings"),
        ],
    )
    def test_invalid(self, url: object, needle: str) -> None:
        """A bad host among several is named in the error."""
        with pytest.raises(ConfigError, match=needle):
            ESConfig.from_env(env={}, url=url)  # type: ignore[arg-type]

    def test_client_gets_every_host(self) -> None:
        """The client is built over all hosts (it spreads requests and fails over)."""
        from predwatch import es as es_mod

        es = es_mod.client(ESConfig(url="http://127.0.0.1:1,http://127.0.0.1:2"))
        nodes = sorted(n.config.port for n in es.transport.node_pool.all())
        assert nodes == [1, 2]
