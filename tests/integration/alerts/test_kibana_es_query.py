"""Contract tests of predwatch's model of Kibana's es-query executor (`kibana_es_query`):
the search it builds and how it compares. No server; Kibana cannot run here."""

from __future__ import annotations

from pathlib import Path

import pytest

from predwatch import schema as s
from predwatch.alerts import kibana_rules as k
from predwatch.alerts.rules import default_rules
from predwatch.baseline import load_baseline
from tests.helpers.kibana_es_query import evaluate_params, simulated_search

DEMO = Path(__file__).resolve().parents[2] / "unit" / "alerts" / "demo.baseline.json"


class TestSimulatedSearch:
    def test_count_and_avg(self) -> None:
        """Kibana filters the window around the rule query; avg adds `metricAgg`."""
        rs = default_rules(load_baseline(DEMO))
        bodies = k.render_rules(rs)[0]
        oov = next(r for r in rs.rules if r.id == "oov_rate.country")
        params = bodies[k.rule_uuid(oov)]["params"]
        body = simulated_search(params)
        rng = body["query"]["bool"]["filter"][0]["range"][s.TIMESTAMP]
        assert rng["gte"] == "now-15m" and rng["lte"] == "now"
        assert body["aggs"] == {"metricAgg": {"avg": {"field": s.feature_field(s.OOV, "country")}}}

    @pytest.mark.parametrize(
        ("comparator", "threshold", "value", "met"),
        [
            (">", [1], 2, True),
            ("<=", [0], 0, True),
            ("<", [1], 1, False),
            ("notBetween", [0.2, 0.5], 0.6, True),
            ("notBetween", [0.2, 0.5], 0.3, False),
            ("between", [0.2, 0.5], 0.3, True),
            (">=", [2], 2, True),
        ],
    )
    def test_evaluate(
        self, comparator: str, threshold: list[float], value: float, met: bool
    ) -> None:
        """Comparators decide as in Kibana; count reads hits.total.value."""
        params = {"aggType": "count", "thresholdComparator": comparator, "threshold": threshold}
        assert evaluate_params(params, {"hits": {"total": {"value": value}}}) == (met, value)

    def test_avg_without_data_does_not_fire(self) -> None:
        """An avg over no documents (null) never meets a condition."""
        params = {"aggType": "avg", "thresholdComparator": ">", "threshold": [0]}
        resp = {"hits": {"total": {"value": 0}}, "aggregations": {"metricAgg": {"value": None}}}
        assert evaluate_params(params, resp) == (False, None)
