"""The generated dashboard: Grafana's JSON model, the contract, and what each panel shows."""

from __future__ import annotations

import json
from typing import Any

import pytest

from predwatch.grafana import contract, dashboard, training
from predwatch.grafana import metrics as m
from predwatch.grafana.dashboard import uid
from predwatch.grafana.panels import DATASOURCE, GRID_COLUMNS
from tests.helpers.kibana_fixtures import demo_baseline, regression_baseline

# contract: checked against predwatch's model of Grafana's dashboard model (no Grafana runs here).
pytestmark = pytest.mark.contract
Obj = dict[str, Any]
BASELINE = demo_baseline()


def _panel(dash: Obj, title: str) -> Obj:
    return next(p for p in contract.panels(dash) if p["title"] == title)


def _exprs(panel: Obj) -> list[str]:
    return [t["expr"] for t in panel["targets"]]


@pytest.mark.parametrize(
    "dash",
    [dashboard("demo", BASELINE), dashboard("demo"), dashboard("prices", regression_baseline())],
    ids=["classifier", "no-baseline", "regression"],
)
class TestContract:
    def test_satisfies_the_contract(self, dash: Obj) -> None:
        """Unique ids, grid inside 24 columns without overlaps, datasource variable."""
        assert contract.check(dash) == []

    def test_every_panel_on_the_datasource_variable(self, dash: Obj) -> None:
        """No panel or query names a concrete data source."""
        for p in contract.panels(dash):
            if p["type"] != "row":
                assert p["datasource"] == DATASOURCE
                assert all(t["datasource"] == DATASOURCE for t in p["targets"])

    def test_json_round_trip(self, dash: Obj) -> None:
        """The model is plain JSON (what Grafana imports)."""
        assert json.loads(json.dumps(dash)) == dash

    def test_every_query_filters_the_model(self, dash: Obj) -> None:
        """Each selector carries the model label: another model's series never mix in."""
        model = dash["tags"][1]
        for _, expr in contract.queries(dash):
            if contract.metric_names(expr):
                assert f'model="{model}"' in expr


class TestLayout:
    def test_rows_span_the_grid(self) -> None:
        """Row headers are full width and panels below never leave the 24 columns."""
        dash = dashboard("demo", BASELINE)
        rows = [p for p in dash["panels"] if p["type"] == "row"]
        assert rows[0]["title"] == "Traffic and latency"
        assert all(r["gridPos"]["w"] == GRID_COLUMNS for r in rows)

    def test_many_features_wrap(self) -> None:
        """A feature panel per feature up to max_features, wrapped onto new lines."""
        titles = {f"{f.name} ({f.type})" for f in BASELINE.features}
        assert len(titles) > 4
        for n, lines in ((2, 1), (4, 2)):
            dash = dashboard("demo", BASELINE, max_features=n)
            panels = [p for p in contract.panels(dash) if p["title"] in titles]
            assert len(panels) == n
            assert len({p["gridPos"]["y"] for p in panels}) == lines
            assert contract.check(dash) == []


class TestPanels:
    def test_latency_quantiles(self) -> None:
        """p50, p95 and p99 of the latency histogram."""
        exprs = _exprs(_panel(dashboard("demo"), "Latency p50 / p95 / p99"))
        assert [e.split(",")[0] for e in exprs] == [
            "histogram_quantile(0.5",
            "histogram_quantile(0.95",
            "histogram_quantile(0.99",
        ]
        assert all(m.bucket(m.LATENCY) in e for e in exprs)

    def test_training_quantiles_drawn_with_a_baseline(self) -> None:
        """The training quantiles are constant series whose values come from the baseline."""
        panel = _panel(dashboard("demo", BASELINE), "Score quantiles vs training")
        ref = training.score_reference(BASELINE)
        assert ref is not None
        constants = [t for t in panel["targets"] if t["expr"].startswith("vector(")]
        assert [t["legendFormat"] for t in constants] == [
            "training p10",
            "training p50",
            "training p90",
        ]
        for t, q in zip(constants, training.QUANTILES, strict=True):
            assert float(t["expr"][len("vector(") : -1]) == pytest.approx(ref.quantiles[q])

    def test_no_training_lines_without_a_baseline(self) -> None:
        """Without a baseline the panel shows the serving quantiles only."""
        panel = _panel(dashboard("demo"), "Score quantiles vs training")
        assert not any(t["expr"].startswith("vector(") for t in panel["targets"])

    def test_score_heatmap_is_per_bucket(self) -> None:
        """The heatmap reads the score buckets in Grafana's heatmap format."""
        panel = _panel(dashboard("demo"), "Score distribution over time")
        assert panel["type"] == "heatmap"
        assert panel["targets"][0]["format"] == "heatmap"
        assert "sum by (le)" in panel["targets"][0]["expr"]

    def test_feature_panels_name_awkward_features(self) -> None:
        """Features with dots or spaces are quoted label values, with their training rate."""
        dash = dashboard("demo", BASELINE)
        for f in BASELINE.features:
            panel = _panel(dash, f"{f.name} ({f.type})")
            assert any(f'feature="{f.name}"' in e for e in _exprs(panel))
            assert f"vector({f.missing_rate:.9g})" in _exprs(panel)

    def test_regression_has_no_label_panel(self) -> None:
        """A regression baseline drops the predicted-label panel."""
        titles = {p["title"] for p in contract.panels(dashboard("prices", regression_baseline()))}
        assert "Predicted labels (share)" not in titles
        assert "Score quantiles vs training" in titles

    def test_state_codes_match_the_value_mappings(self) -> None:
        """Each shipper state's code in the query is the one its value mapping names."""
        panel = _panel(dashboard("demo"), "Shipper state")
        options = panel["fieldConfig"]["defaults"]["mappings"][0]["options"]
        expr = panel["targets"][0]["expr"]
        for code, mapping in options.items():
            assert f'state="{mapping["text"]}", version=~"$version"}} > bool 0) * {code}' in expr

    def test_shipper_health_panels(self) -> None:
        """Delivery lag, drops by reason and spool use read the shipper's gauges and counters."""
        dash = dashboard("demo")
        assert m.OLDEST_UNSENT_AGE in _exprs(_panel(dash, "Delivery lag (oldest unsent record)"))[0]
        assert "by (reason)" in _exprs(_panel(dash, "Drops by reason"))[0]
        assert m.SPOOL_BYTES in _exprs(_panel(dash, "Spool use (bytes on disk)"))[0]


class TestIdentity:
    def test_uid_stable_and_short(self) -> None:
        """The uid depends on the model only and fits Grafana's 40 characters."""
        assert uid("credit") == "predwatch-credit"
        long = uid("m" * 60)
        assert len(long) <= 40 and long == uid("m" * 60) and long != uid("m" * 61)

    def test_baseline_of_another_model_refused(self) -> None:
        """Another model's training references would be silently wrong."""
        with pytest.raises(ValueError, match="baseline is for model"):
            dashboard("other", BASELINE)


class TestMetricNames:
    def test_reads_only_the_catalogued_metrics(self) -> None:
        """Every metric a panel reads is in the metrics catalogue (the live test checks the
        catalogue against a real endpoint)."""
        for dash in (dashboard("demo", BASELINE), dashboard("demo")):
            assert contract.used_metrics(dash) <= m.sample_names()


class TestPromQL:
    @pytest.mark.parametrize("baseline", [BASELINE, None], ids=["baseline", "none"])
    def test_every_query_parses(self, baseline: Any) -> None:
        """Each query, with Grafana's variables interpolated, is valid PromQL (Prometheus'
        parser, ported)."""
        parser = pytest.importorskip("promql_parser", reason="promql-parser (dev extra)")
        grafana_vars = {"$__rate_interval": "1m", "$__range": "6h", "$version": ".*"}
        dash = dashboard("demo", baseline)
        texts = [expr for _, expr in contract.queries(dash)]
        texts += [
            v["definition"].removeprefix("label_values(").rsplit(",", 1)[0]
            for v in dash["templating"]["list"]
            if v["type"] == "query"
        ]
        for text in texts:
            for var, value in grafana_vars.items():
                text = text.replace(var, value)
            parser.parse(text)
