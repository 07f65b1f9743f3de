"""`predwatch grafana export`: files, standard output, the API wrapper and its errors."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from predwatch.grafana import contract
from predwatch.grafana.cli import grafana

DEMO = Path(__file__).resolve().parents[1] / "alerts" / "demo.baseline.json"


def _run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(grafana, ["export", *args], catch_exceptions=False)


class TestExport:
    def test_writes_the_dashboard(self, tmp_path: Path) -> None:
        """With a baseline: a contract-clean file with one panel per feature."""
        out = tmp_path / "d" / "demo.json"
        res = _run("--model", "demo", "--baseline", str(DEMO), "-o", str(out))
        assert res.exit_code == 0, res.output
        assert "wrote the dashboard predwatch-demo" in res.output
        dash = json.loads(out.read_text())
        assert contract.check(dash) == []
        assert any(p["title"] == "age (numeric)" for p in contract.panels(dash))

    def test_stdout_and_api_wrapper(self) -> None:
        """Without -o the JSON goes to standard output; --api wraps it for /api/dashboards/db."""
        res = _run("--model", "demo", "--api")
        assert res.exit_code == 0
        doc = json.loads(res.output)
        assert doc["overwrite"] is True and doc["dashboard"]["uid"] == "predwatch-demo"

    def test_json_summary(self, tmp_path: Path) -> None:
        """--json prints the file, uid and panel count."""
        res = _run("--model", "demo", "-o", str(tmp_path / "x.json"), "--json")
        summary = json.loads(res.output)
        assert summary["uid"] == "predwatch-demo" and summary["panels"] > 10

    def test_bad_model_name(self) -> None:
        """A model name the shipper would refuse: one line, exit 2."""
        res = CliRunner().invoke(grafana, ["export", "--model", "Credit-Risk"])
        assert res.exit_code == 2
        assert res.output.startswith("error: ") and "Traceback" not in res.output

    def test_baseline_of_another_model(self) -> None:
        """The baseline must be the model's own: the message names both models."""
        res = CliRunner().invoke(grafana, ["export", "--model", "other", "--baseline", str(DEMO)])
        assert res.exit_code == 2
        assert "'demo', not 'other'" in res.output

    def test_missing_baseline_file(self, tmp_path: Path) -> None:
        """A baseline path that does not exist: exit 2 and the path in the message."""
        missing = tmp_path / "nope.json"
        res = CliRunner().invoke(grafana, ["export", "--model", "demo", "--baseline", str(missing)])
        assert res.exit_code == 2 and "nope.json" in res.output
