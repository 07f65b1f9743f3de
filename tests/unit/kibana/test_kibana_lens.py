"""Lens column builders and the Lens saved-object shape."""

from __future__ import annotations

import json
import uuid

import pytest

from predwatch.kibana import lens as L
from tests.helpers import processes

OID = str(uuid.uuid4())
FIXED_ID = "00000000-0000-4000-8000-000000000000"
DV = "data-view-id"


def _layers(obj: dict) -> dict:
    return obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]


class TestColumns:
    def test_rate_is_an_average_formatted_as_percent(self) -> None:
        """A rate is the mean of a 0/1 flag with a percent format."""
        col = L.rate("monitor.missing.age", "Missing")
        assert col["operationType"] == "average"
        assert col["params"]["format"]["id"] == "percent"

    def test_unknown_metric_is_refused(self) -> None:
        """Only the formula-free single-value metrics are accepted."""
        with pytest.raises(ValueError, match="unknown Lens metric"):
            L.metric("formula", "x", label="x")

    def test_count_uses_the_records_pseudo_field(self) -> None:
        """Count reads Lens' ___records___ pseudo-field, not a mapped field."""
        assert L.count()["sourceField"] == L.RECORDS

    def test_ascending_terms_pick_the_smallest_metric(self) -> None:
        """Terms ordered ascending by their metric (lowest p-values first)."""
        assert L.terms("feature", ascending=True)["params"]["orderDirection"] == "asc"

    def test_percentile_keeps_the_rank(self) -> None:
        """The percentile rank is stored in params.percentile."""
        assert L.percentile("latency_ms", 95)["params"] == {"percentile": 95}


class TestKql:
    def test_plain_field_is_left_alone(self) -> None:
        """Dotted ASCII names need no quoting."""
        assert L.kql_field("monitor.text.comment.oov_tokens") == "monitor.text.comment.oov_tokens"

    def test_field_with_space_is_quoted(self) -> None:
        """KQL reads a quoted literal as one field name, spaces included."""
        assert L.kql_field("inputs.loan amount") == '"inputs.loan amount"'

    def test_field_with_kql_specials_is_quoted(self) -> None:
        """Parentheses and colons would end an unquoted KQL literal."""
        assert L.kql_field("inputs.a(b):c") == '"inputs.a(b):c"'

    def test_number_is_not_quoted(self) -> None:
        """A numeric value stays a number."""
        assert L.kql_eq("inputs.loan amount", 0) == '"inputs.loan amount" : 0'

    def test_where_becomes_a_column_filter(self) -> None:
        """`where` restricts one metric to matching documents (Lens column filter)."""
        col = L.rate("monitor.text.c.oov_rate", "x", where="monitor.missing.c : 0")
        assert col["filter"] == {"query": "monitor.missing.c : 0", "language": "kuery"}

    def test_value_quotes_are_escaped(self) -> None:
        """A quote inside a value is backslash-escaped."""
        assert L.kql_eq("model.name", 'a"b') == 'model.name : "a\\"b"'


class TestBuild:
    def _xy(self, oid: str = OID) -> dict:
        return L.Lens(
            "t",
            DV,
            "xy",
            [L.count()],
            x=L.date_histogram(),
            split=L.terms("model.version"),
            series="bar_percentage_stacked",
            reference_lines=[("Training mean", 0.4)],
        ).build(oid)

    def test_xy_has_one_data_and_one_reference_layer(self) -> None:
        """Reference lines live in their own referenceLine layer with static values."""
        vis = self._xy()["attributes"]["state"]["visualization"]
        kinds = [layer["layerType"] for layer in vis["layers"]]
        assert kinds == ["data", "referenceLine"]

    def test_every_layer_has_its_data_view_reference(self) -> None:
        """Each layer is bound to its data view by indexpattern-datasource-layer-<id>."""
        obj = self._xy()
        names = {r["name"] for r in obj["references"]}
        assert names == {f"indexpattern-datasource-layer-{lid}" for lid in _layers(obj)}
        assert {r["id"] for r in obj["references"]} == {DV}

    def test_terms_are_ordered_by_the_first_metric(self) -> None:
        """The split's orderBy column is filled with the count column's id."""
        obj = self._xy()
        data = next(iter(_layers(obj).values()))
        cols = data["columns"]
        terms = next(c for c in cols.values() if c["operationType"] == "terms")
        count_id = next(k for k, c in cols.items() if c["operationType"] == "count")
        assert terms["params"]["orderBy"] == {"type": "column", "columnId": count_id}

    def test_split_comes_before_the_date_histogram(self) -> None:
        """Top values are computed over the whole range, then bucketed by time."""
        obj = self._xy()
        data = next(iter(_layers(obj).values()))
        ops = [data["columns"][c]["operationType"] for c in data["columnOrder"]]
        assert ops == ["terms", "date_histogram", "count"]

    def test_accessors_point_at_existing_columns(self) -> None:
        """x, split and y accessors name columns of the data layer."""
        obj = self._xy()
        vis = obj["attributes"]["state"]["visualization"]["layers"][0]
        cols = _layers(obj)[vis["layerId"]]["columns"]
        assert {vis["xAccessor"], vis["splitAccessor"], *vis["accessors"]} <= set(cols)

    def test_build_is_deterministic(self) -> None:
        """The same spec under the same id gives the same object in processes with different
        hash seeds."""
        code = (
            "import json; from predwatch.kibana import lens as L;"
            "obj = L.Lens('t', 'data-view-id', 'xy', [L.count()], x=L.date_histogram(),"
            " split=L.terms('model.version'), series='bar_percentage_stacked',"
            f" reference_lines=[('Training mean', 0.4)]).build({FIXED_ID!r});"
            "print(json.dumps(obj))"
        )
        first, second = processes.outputs(code)
        assert first == second
        assert json.loads(first) == self._xy(FIXED_ID)

    def test_table_sorts_by_its_first_metric(self) -> None:
        """A datatable lists every column and sorts by the first metric, descending."""
        obj = L.Lens("t", DV, "table", [L.count()], rows=[L.terms("monitor.unseen.country")]).build(
            OID
        )
        vis = obj["attributes"]["state"]["visualization"]
        layer = _layers(obj)[vis["layerId"]]
        assert [c["columnId"] for c in vis["columns"]] == layer["columnOrder"]
        assert vis["sorting"] == {"columnId": layer["columnOrder"][-1], "direction": "desc"}
        assert obj["attributes"]["visualizationType"] == "lnsDatatable"

    def test_metric_vis_points_at_its_column(self) -> None:
        """lnsMetric names its single column as metricAccessor."""
        obj = L.Lens("t", DV, "metric", [L.count()]).build(OID)
        vis = obj["attributes"]["state"]["visualization"]
        assert vis["metricAccessor"] in _layers(obj)[vis["layerId"]]["columns"]

    def test_xy_without_x_is_refused(self) -> None:
        """An XY chart needs an x column."""
        with pytest.raises(ValueError, match="x column"):
            L.Lens("t", DV, "xy", [L.count()]).build(OID)
