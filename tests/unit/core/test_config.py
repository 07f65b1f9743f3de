"""Unit tests of the connection settings."""

from __future__ import annotations

import pytest

from predwatch.config import ESConfig, KibanaConfig
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


class TestKibanaConfig:
    def test_from_es_takes_credentials_and_environment(self) -> None:
        """Kibana gets Elasticsearch's credentials and CA; URL and space come from the
        arguments, else PREDWATCH_KIBANA_URL / PREDWATCH_KIBANA_SPACE, else the defaults."""
        es = ESConfig(username="u", password="pw", request_timeout=7)
        env = {"PREDWATCH_KIBANA_URL": "http://kb:5601/", "PREDWATCH_KIBANA_SPACE": "ml"}
        cfg = KibanaConfig.from_es(es, env=env)
        assert (cfg.url, cfg.space) == ("http://kb:5601", "ml")
        assert (cfg.username, cfg.password) == ("u", "pw")
        assert cfg.request_timeout == 7
        given = KibanaConfig.from_es(es, "http://other:1", "team", env=env)
        assert (given.url, given.space) == ("http://other:1", "team")
        default = KibanaConfig.from_es(ESConfig(), env={})
        assert (default.url, default.space) == ("http://localhost:5601", "default")

    def test_space_in_api_urls(self) -> None:
        """The default space has no prefix; another space is addressed as /s/<id>/."""
        assert KibanaConfig("http://kb:5601").api_url("/api/x") == "http://kb:5601/api/x"
        ml = KibanaConfig("http://kb:5601/", space="ml")
        assert ml.api_url("/api/x") == "http://kb:5601/s/ml/api/x"

    def test_credentials_leave_the_url_and_stay_hidden(self) -> None:
        """user:password@ in the URL moves into the settings; repr and redact hide secrets."""
        cfg = KibanaConfig("https://admin:SECRETPW@kb:5601")
        assert (cfg.url, cfg.username, cfg.password) == ("https://kb:5601", "admin", "SECRETPW")
        assert "SECRET" not in repr(cfg) and "SECRET" not in str(cfg)
        assert cfg.redact("pw SECRETPW") == "pw ***"
        assert "SECRET" not in repr(KibanaConfig(api_key="SECRETKEY"))

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"url": "kb:5601"}, "http:// or https://"),
            ({"space": "My Space"}, "space id"),
            ({"api_key": "k", "username": "u", "password": "p"}, "not both"),
            ({"username": "u"}, "go together"),
        ],
    )
    def test_invalid(self, kwargs: dict[str, str], message: str) -> None:
        """A bad URL, space id or credential combination is refused, naming what is wrong."""
        with pytest.raises(ConfigError, match=message):
            KibanaConfig(**kwargs).validate()
