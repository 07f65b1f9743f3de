"""Credentials never travel inside URLs: moved out at parse time, and masked in any text."""

from __future__ import annotations

import pytest

from predwatch.config import ESConfig
from predwatch.errors import ConfigError
from predwatch.redact import redact_text, redact_url, split_userinfo


class TestSplitUserinfo:
    def test_moves_user_and_password_out(self) -> None:
        """user:password@ leaves the URL; percent-encoding is decoded."""
        assert split_userinfo("https://elastic:p%40ss@es.example:9200/x") == (
            "https://es.example:9200/x",
            "elastic",
            "p@ss",
        )

    def test_url_without_userinfo_unchanged(self) -> None:
        """A URL without userinfo comes back as it was, with no credentials."""
        assert split_userinfo("http://localhost:9200") == ("http://localhost:9200", None, None)

    def test_bad_port_raises(self) -> None:
        """A port that is not a number is a ValueError here (a ConfigError in ESConfig)."""
        with pytest.raises(ValueError):
            split_userinfo("http://localhost:abc")


class TestRedact:
    def test_redact_url(self) -> None:
        """The userinfo is masked, the host stays visible."""
        assert redact_url("https://elastic:PW@h:9200") == "https://***@h:9200"

    def test_redact_text_with_secrets(self) -> None:
        """URLs inside text and the given secrets are masked; empty secrets are ignored."""
        text = "failed: http://u:PW@h:1 (key KEY)"
        assert redact_text(text, ("KEY", None, "")) == "failed: http://***@h:1 (key ***)"


class TestESConfigUrl:
    def test_credentials_move_into_auth(self) -> None:
        """`https://elastic:PW@host` becomes url=https://host, username, password."""
        cfg = ESConfig.from_env(env={"PREDWATCH_ES_URL": "https://elastic:SECRETPW@h:9200"})
        assert cfg.url == "https://h:9200"
        assert (cfg.username, cfg.password) == ("elastic", "SECRETPW")
        assert cfg.auth_kind == "user 'elastic'"
        assert "SECRETPW" not in repr(cfg)

    def test_with_url_moves_them_too(self) -> None:
        """A URL set later (shipper es_url=) is parsed the same way."""
        cfg = ESConfig().with_url("http://u:SECRETPW@h:1")
        assert cfg.url == "http://h:1" and cfg.password == "SECRETPW"

    def test_conflicting_credentials_refused(self) -> None:
        """A URL user different from the username setting is refused, naming no secret."""
        with pytest.raises(ConfigError, match="differs") as err:
            ESConfig(url="http://a:SECRETPW@h:1", username="b", password="SECRETPW")
        assert "SECRETPW" not in str(err.value)

    @pytest.mark.parametrize(
        "url", ["http://localhost:notaport", "http://[::1", "http://:9200", "http://h:99999"]
    )
    def test_malformed_url_is_a_config_error(self, url: str) -> None:
        """A malformed URL is a ConfigError (exit 2), not the client's ValueError later."""
        with pytest.raises(ConfigError):
            ESConfig.from_env(env={}, url=url)

    def test_no_scheme_with_password_not_echoed(self) -> None:
        """`user:pw@host:9200` (no scheme) is refused without printing the password."""
        with pytest.raises(ConfigError, match="http://") as err:
            ESConfig.from_env(env={}, url="elastic:SECRETPW@localhost:9200")
        assert "SECRETPW" not in str(err.value)
