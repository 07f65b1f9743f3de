"""The contract checker itself: it must catch each kind of broken dashboard, or the contract
tests of the generated ones would prove nothing."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from predwatch.grafana import contract, dashboard
from predwatch.grafana.contract import sample_names, used_metrics
from tests.helpers.kibana_fixtures import demo_baseline

# contract: checked against predwatch's model of Grafana's dashboard model (no Grafana runs here).
pytestmark = pytest.mark.contract
Obj = dict[str, Any]
DASH = dashboard("demo", demo_baseline())


def _fresh() -> Obj:
    return copy.deepcopy(DASH)


def _first_graph(dash: Obj) -> Obj:
    return next(p for p in dash["panels"] if p["type"] == "timeseries")


class TestCatches:
    def test_duplicate_id(self) -> None:
        """Two panels with one id are reported."""
        dash = _fresh()
        dash["panels"][2]["id"] = dash["panels"][1]["id"]
        assert any("used twice" in p for p in contract.check(dash))

    def test_panel_past_the_right_edge(self) -> None:
        """x + w beyond 24 columns is reported."""
        dash = _fresh()
        _first_graph(dash)["gridPos"]["x"] = 20
        assert any("outside the 24 columns" in p for p in contract.check(dash))

    def test_overlap(self) -> None:
        """Two panels covering the same cells are reported."""
        dash = _fresh()
        a, b = dash["panels"][1], dash["panels"][2]
        b["gridPos"] = dict(a["gridPos"])
        assert any("overlaps" in p for p in contract.check(dash))

    def test_concrete_datasource(self) -> None:
        """A panel bound to one data source instead of the variable is reported."""
        dash = _fresh()
        _first_graph(dash)["datasource"] = {"type": "prometheus", "uid": "abc"}
        assert any("datasource is not $datasource" in p for p in contract.check(dash))

    def test_missing_datasource_variable(self) -> None:
        """Without the `datasource` variable the dashboard cannot be pointed anywhere."""
        dash = _fresh()
        dash["templating"]["list"] = [
            v for v in dash["templating"]["list"] if v["name"] != "datasource"
        ]
        problems = contract.check(dash)
        assert any("'datasource' (Prometheus data source) is missing" in p for p in problems)
        assert any("$datasource is used" in p for p in problems)

    def test_undefined_variable(self) -> None:
        """A `$variable` no template defines is reported (Grafana's own `$__` ones are fine)."""
        dash = _fresh()
        _first_graph(dash)["targets"][0]["expr"] += ' or up{job="$nope"}'
        assert contract.check(dash) == ["$nope is used but not a template variable"]

    def test_metric_not_exported(self) -> None:
        """A metric the endpoint does not export is reported by name."""
        exported = used_metrics(DASH) - {"predwatch_shipper_spool_bytes"}
        assert contract.check(DASH, exported) == [
            "metric predwatch_shipper_spool_bytes is not exported by the shipper's endpoint"
        ]
        assert contract.check(DASH, used_metrics(DASH)) == []

    def test_variable_query_metric_counts(self) -> None:
        """The version variable's label_values() metric is among the used metrics."""
        assert "predwatch_predictions_total" in used_metrics(DASH)


class TestSampleNames:
    def test_exposition_format(self) -> None:
        """Sample names of the text format, comments skipped, suffixes kept."""
        text = (
            "# HELP x_total things\n# TYPE x_total counter\n"
            'x_total{model="m"} 3.0\n'
            'h_bucket{le="1.0"} 1.0\nh_sum 2.0\nh_count 1.0\nplain 1\n'
        )
        assert sample_names(text) == {"x_total", "h_bucket", "h_sum", "h_count", "plain"}
