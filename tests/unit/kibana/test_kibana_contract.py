"""The contract checker itself: it must catch each kind of broken object, or the contract
tests of the generated objects would prove nothing.

Contract tests: predwatch's model of what Kibana can chart and import (`kibana.contract`), not
a running Kibana."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from predwatch import schema as s
from predwatch.kibana import contract
from predwatch.kibana.objects import saved_objects
from tests.helpers.kibana_fixtures import demo_baseline

pytestmark = pytest.mark.contract

Obj = dict[str, Any]
BASELINE = demo_baseline()
OBJECTS = saved_objects(BASELINE, "demo")


def _fresh() -> list[Obj]:
    return copy.deepcopy(OBJECTS)


def _first(objects: list[Obj], title: str) -> Obj:
    return next(o for o in objects if o["attributes"]["title"] == title)


def _data_column(obj: Obj, op: str) -> Obj:
    layers = obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
    for layer in layers.values():
        for col in layer["columns"].values():
            if col["operationType"] == op:
                return col  # type: ignore[no-any-return]
    raise AssertionError(op)


class TestFieldTypes:
    def test_flat_objects_keep_dotted_leaf_names(self) -> None:
        """A feature named `device.Type` under subobjects:false is one field."""
        types = contract.field_types(contract.predictions_mapping(BASELINE))
        assert types["inputs.device.Type"] == "keyword"
        assert types["monitor.missing.loan amount"] == "byte"

    def test_multi_fields_are_listed(self) -> None:
        """A text input has its .keyword sub-field."""
        types = contract.field_types(contract.predictions_mapping(BASELINE))
        assert types["inputs.comment"] == "text"
        assert types["inputs.comment.keyword"] == "keyword"

    def test_disabled_objects_have_no_fields(self) -> None:
        """The dead letter's raw payload is stored, not indexed."""
        from predwatch import mappings as m

        types = contract.field_types(m.deadletter_mapping())
        assert not any(f.startswith("payload") for f in types)


class TestKqlFields:
    def test_fields_of_comparisons(self) -> None:
        """Both `:` and range operators name a field."""
        assert contract.kql_fields('a : "x" or b.c > 0 and not d >= 1') == ["a", "b.c", "d"]

    def test_quoted_field(self) -> None:
        """A quoted field name is unquoted."""
        assert contract.kql_fields('"monitor.text.my field.oov_tokens" > 0') == [
            "monitor.text.my field.oov_tokens"
        ]

    def test_free_text_has_no_field(self) -> None:
        """A bare search term names no field."""
        assert contract.kql_fields("timeout") == []


class TestCheck:
    def test_generated_objects_pass(self) -> None:
        """The unmodified objects keep the contract."""
        assert contract.check(OBJECTS, "demo", BASELINE) == []

    def test_missing_reference_is_found(self) -> None:
        """A dashboard pointing at a deleted visualization is reported."""
        objs = _fresh()
        gone = next(o for o in objs if o["type"] == "lens")
        objs.remove(gone)
        assert any(f"references missing lens:{gone['id']}" in p
                   for p in contract.check(objs, "demo", BASELINE))  # fmt: skip

    def test_unmapped_field_is_found(self) -> None:
        """A column on a field the mapping lacks is reported."""
        objs = _fresh()
        _data_column(_first(objs, "[demo] Traffic"), "count").update(
            operationType="max", sourceField="inputs.nope"
        )
        assert any("'inputs.nope', which is not mapped" in p
                   for p in contract.check(objs, "demo", BASELINE))  # fmt: skip

    def test_aggregating_text_is_found(self) -> None:
        """Top values of a text field (not aggregatable) are reported."""
        objs = _fresh()
        col = _data_column(_first(objs, "[demo] Model version share"), "terms")
        col["sourceField"] = s.feature_field(s.INPUTS, "comment")
        assert any("aggregates 'inputs.comment' of type text" in p
                   for p in contract.check(objs, "demo", BASELINE))  # fmt: skip

    def test_numeric_metric_on_keyword_is_found(self) -> None:
        """An average of a keyword field is reported."""
        objs = _fresh()
        col = _data_column(_first(objs, "[demo] Prediction statistics"), "average")
        col["sourceField"] = s.MODEL_VERSION
        assert any("needs a number" in p for p in contract.check(objs, "demo", BASELINE))

    def test_unmapped_query_field_is_found(self) -> None:
        """A KQL query on an unknown field is reported."""
        objs = _fresh()
        _first(objs, "[demo] Traffic")["attributes"]["state"]["query"]["query"] = "foo : 1"
        assert any("'foo', which is not mapped" in p
                   for p in contract.check(objs, "demo", BASELINE))  # fmt: skip

    def test_overlapping_panels_are_found(self) -> None:
        """Two panels on the same cells are reported."""
        objs = _fresh()
        board = next(o for o in objs if o["type"] == "dashboard")
        panels = json.loads(board["attributes"]["panelsJSON"])
        panels[2]["gridData"].update(x=panels[1]["gridData"]["x"], y=panels[1]["gridData"]["y"])
        board["attributes"]["panelsJSON"] = json.dumps(panels)
        assert any("overlap" in p for p in contract.check(objs, "demo", BASELINE))

    def test_panel_without_reference_is_found(self) -> None:
        """A panelRefName without its `<i>:panel_<i>` reference is reported."""
        objs = _fresh()
        board = next(o for o in objs if o["type"] == "dashboard")
        board["references"] = board["references"][1:]
        assert any("has no reference" in p for p in contract.check(objs, "demo", BASELINE))

    def test_data_view_on_a_foreign_index_is_found(self) -> None:
        """A data view over something that is no predwatch index is reported."""
        objs = _fresh()
        next(o for o in objs if o["type"] == "index-pattern")["attributes"]["title"] = "logs-*"
        assert any("no predwatch index" in p for p in contract.check(objs, "demo", BASELINE))
