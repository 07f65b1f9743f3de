"""`predwatch demo` on the command line, without Elasticsearch."""

from __future__ import annotations

import socket
from pathlib import Path

from click.testing import CliRunner

from predwatch.cli import main


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TestDemoCli:
    def test_help_has_an_example(self) -> None:
        """--help explains the options and shows an example."""
        res = CliRunner().invoke(main, ["demo", "--help"])
        assert res.exit_code == 0
        for text in ("--fast", "--output-dir", "--kibana-url", "--json", "predwatch demo --fast"):
            assert text in res.output

    def test_unreachable_elasticsearch_is_one_line(self, tmp_path: Path) -> None:
        """A configured Elasticsearch that does not answer: exit 2 and one line saying so."""
        url = f"http://127.0.0.1:{_closed_port()}"
        res = CliRunner().invoke(
            main, ["demo", "--fast", "--es-url", url, "--output-dir", str(tmp_path / "out")]
        )
        assert res.exit_code == 2
        assert f"error: Elasticsearch at {url} could not be reached" in res.output
        assert "Traceback" not in res.output

    def test_bad_model_name(self, tmp_path: Path) -> None:
        """A model name Elasticsearch index names cannot hold is refused up front."""
        res = CliRunner().invoke(
            main, ["demo", "--model", "Bad-Name", "--output-dir", str(tmp_path / "out")]
        )
        assert res.exit_code == 2
        assert "model name 'Bad-Name'" in res.output


class TestDemoMetricsOptions:
    @staticmethod
    def _options(monkeypatch, tmp_path: Path, env: dict[str, str | None]):  # type: ignore[no-untyped-def]
        """The Options the command builds (the demo itself replaced by a recorder)."""
        import predwatch.demo.flow as flow

        seen = []

        def record(cfg, opts, echo, now):  # type: ignore[no-untyped-def]
            seen.append(opts)
            return {"all_caught": True}

        monkeypatch.setattr(flow, "run_demo", record)
        res = CliRunner(env=env).invoke(main, ["demo", "--output-dir", str(tmp_path / "o")])
        assert res.exit_code == 0, res.output
        return seen[0]

    def test_metrics_endpoint_from_the_environment(self, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        """PREDWATCH_DEMO_METRICS_PORT / _ADDR (what Compose sets) reach the demo's options."""
        env = {"PREDWATCH_DEMO_METRICS_PORT": "9464", "PREDWATCH_DEMO_METRICS_ADDR": "0.0.0.0"}
        opts = self._options(monkeypatch, tmp_path, env)
        assert (opts.metrics_port, opts.metrics_addr) == (9464, "0.0.0.0")

    def test_no_endpoint_by_default(self, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        """Without the option the demo serves no metrics."""
        opts = self._options(monkeypatch, tmp_path, {"PREDWATCH_DEMO_METRICS_PORT": None})
        assert opts.metrics_port is None
