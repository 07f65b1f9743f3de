"""Contract tests of the generated saved objects: they parse, every reference resolves, every
field they use is mapped with an aggregatable type, panels fit the grid, ids are stable, and
each object keeps to the Kibana 9 saved-object format it claims."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from predwatch import mappings as m
from predwatch import schema as s
from predwatch.baseline import Baseline
from predwatch.kibana import contract, ndjson
from predwatch.kibana.context import KibanaError, object_id
from predwatch.kibana.objects import saved_objects
from tests.helpers import processes
from tests.helpers.kibana_fixtures import (
    demo_baseline,
    label_only_baseline,
    regression_baseline,
    wide_baseline,
)

Obj = dict[str, Any]

BASELINES: dict[str, Baseline | None] = {
    "demo": demo_baseline(),
    "wide": wide_baseline(),
    "labels": label_only_baseline(),
    "prices": regression_baseline(),
    "nobaseline": None,
}
CASES = [
    (name, saved_objects(b, name if b is None else b.model, max_features=30), b)
    for name, b in BASELINES.items()
]
IDS = [c[0] for c in CASES]
AGGREGATABLE = {"keyword", "boolean", "date", "byte", "short", "integer", "long", "float", "double"}


def _model(b: Baseline | None, name: str) -> str:
    return name if b is None else b.model


def _by_type(objects: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o["type"] == kind]


def _leaf_type(mapping: Mapping[str, Any], name: str) -> str | None:
    """Type of field `name` in `mapping`, trying every split of the dotted name
    (objects with subobjects: false hold leaf names with dots)."""

    def find(props: Mapping[str, Any], rest: str) -> str | None:
        for key, spec in props.items():
            if rest == key:
                return spec.get("type")
            if rest.startswith(key + "."):
                tail = rest[len(key) + 1 :]
                if "properties" in spec and (t := find(spec["properties"], tail)):
                    return t
                if tail in spec.get("fields", {}):
                    return spec["fields"][tail]["type"]
        return None

    return find(mapping["properties"], name)


def _mapping_for(title: str, model: str, b: Baseline | None) -> Mapping[str, Any]:
    if title == s.index_pattern("predictions", model):
        return contract.predictions_mapping(b)
    return {
        s.index_pattern("drift", model): m.drift_mapping(),
        s.index_pattern("alerts"): m.alerts_mapping(),
        s.index_pattern("deadletter"): m.deadletter_mapping(),
    }[title]


def _walk(value: Any, key: str) -> list[Any]:
    """Every value stored under `key` anywhere in a JSON tree."""
    found = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k == key:
                found.append(v)
            found += _walk(v, key)
    elif isinstance(value, list):
        for v in value:
            found += _walk(v, key)
    return found


@pytest.mark.parametrize(("name", "objects", "baseline"), CASES, ids=IDS)
class TestParse:
    def test_ndjson_round_trip(self, name: str, objects: list[Obj], baseline: Baseline) -> None:
        """Every object survives NDJSON, one object per line."""
        text = ndjson.dumps(objects)
        assert len(text.splitlines()) == len(objects)
        assert ndjson.loads(text) == objects

    def test_embedded_json_parses(self, name: str, objects: list[Obj], baseline: Baseline) -> None:
        """panelsJSON, optionsJSON, searchSourceJSON and fieldFormatMap are JSON strings."""
        for o in objects:
            attrs = o["attributes"]
            for key in ("panelsJSON", "optionsJSON", "fieldFormatMap"):
                if key in attrs:
                    assert isinstance(json.loads(attrs[key]), list | dict)
            meta = attrs.get("kibanaSavedObjectMeta")
            if meta:
                assert isinstance(json.loads(meta["searchSourceJSON"]), dict)

    def test_envelope(self, name: str, objects: list[Obj], baseline: Baseline) -> None:
        """Each object has the export envelope Kibana 9 writes and reads."""
        for o in objects:
            assert {
                "id",
                "type",
                "attributes",
                "references",
                "coreMigrationVersion",
                "typeMigrationVersion",
                "managed",
            } <= set(o)
            assert o["coreMigrationVersion"] == "8.8.0"
            assert o["attributes"]["title"]

    def test_ids_are_unique(self, name: str, objects: list[Obj], baseline: Baseline) -> None:
        """No two objects share an id."""
        assert len({o["id"] for o in objects}) == len(objects)


@pytest.mark.parametrize(("name", "objects", "baseline"), CASES, ids=IDS)
class TestReferences:
    def test_every_reference_resolves(
        self, name: str, objects: list[Obj], baseline: Baseline
    ) -> None:
        """Each reference names an object of that type in the same set."""
        have = {(o["type"], o["id"]) for o in objects}
        for o in objects:
            for ref in o["references"]:
                assert (ref["type"], ref["id"]) in have, (o["attributes"]["title"], ref)

    def test_every_lens_layer_is_bound_to_a_data_view(
        self, name: str, objects: list[Obj], baseline: Baseline
    ) -> None:
        """Lens finds each layer's data view in a reference named after the layer."""
        views = {o["id"] for o in _by_type(objects, "index-pattern")}
        for o in _by_type(objects, "lens"):
            refs = {r["name"]: r["id"] for r in o["references"]}
            layers = o["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
            for layer_id in layers:
                assert refs[f"indexpattern-datasource-layer-{layer_id}"] in views

    def test_searches_name_their_data_view(
        self, name: str, objects: list[Obj], baseline: Baseline
    ) -> None:
        """searchSourceJSON.indexRefName is the name of a data-view reference."""
        for o in _by_type(objects, "search"):
            source = json.loads(o["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
            ref = next(r for r in o["references"] if r["name"] == source["indexRefName"])
            assert ref["type"] == "index-pattern"

    def test_every_visualization_is_on_a_dashboard(
        self, name: str, objects: list[Obj], baseline: Baseline
    ) -> None:
        """No Lens object is generated without a panel showing it."""
        shown = {r["id"] for d in _by_type(objects, "dashboard") for r in d["references"]}
        assert {o["id"] for o in _by_type(objects, "lens")} <= shown


@pytest.mark.parametrize(("name", "objects", "baseline"), CASES, ids=IDS)
class TestFields:
    @pytest.mark.contract
    def test_contract_check_passes(self, name: str, objects: list[Obj], baseline: Baseline) -> None:
        """contract.check (predwatch's model of Kibana, not a running Kibana) finds nothing."""
        assert contract.check(objects, _model(baseline, name), baseline) == []

    def test_lens_fields_are_mapped_and_aggregatable(
        self, name: str, objects: list[Obj], baseline: Baseline
    ) -> None:
        """Every sourceField/sortField of every Lens column is an aggregatable mapped field
        (checked with a resolver independent of contract.field_types)."""
        titles = {o["id"]: o["attributes"]["title"] for o in _by_type(objects, "index-pattern")}
        for o in _by_type(objects, "lens"):
            refs = {r["name"]: r["id"] for r in o["references"]}
            layers = o["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
            for layer_id, layer in layers.items():
                title = titles[refs[f"indexpattern-datasource-layer-{layer_id}"]]
                mapping = _mapping_for(title, _model(baseline, name), baseline)
                fields = [f for f in _walk(layer, "sourceField") if f != "___records___"]
                fields += _walk(layer, "sortField")
                for f in fields:
                    assert _leaf_type(mapping, f) in AGGREGATABLE, (o["attributes"]["title"], f)

    def test_query_fields_are_mapped(
        self, name: str, objects: list[Obj], baseline: Baseline
    ) -> None:
        """Fields in KQL queries and column filters exist in the data view's mapping."""
        titles = {o["id"]: o["attributes"]["title"] for o in _by_type(objects, "index-pattern")}
        for o in objects:
            for use in contract.used_fields(o):
                mapping = _mapping_for(titles[use.data_view], _model(baseline, name), baseline)
                assert _leaf_type(mapping, use.field) is not None, (o["attributes"]["title"], use)

    def test_search_columns_exist(self, name: str, objects: list[Obj], baseline: Baseline) -> None:
        """Discover columns and sort fields of the saved searches are mapped."""
        titles = {o["id"]: o["attributes"]["title"] for o in _by_type(objects, "index-pattern")}
        for o in _by_type(objects, "search"):
            mapping = _mapping_for(
                titles[o["references"][0]["id"]], _model(baseline, name), baseline
            )
            for col in o["attributes"]["columns"]:
                assert _leaf_type(mapping, col) is not None, col
            for field_name, _ in o["attributes"]["sort"]:
                assert _leaf_type(mapping, field_name) == "date"

    def test_text_inputs_are_never_aggregated(
        self, name: str, objects: list[Obj], baseline: Baseline
    ) -> None:
        """A text input (type text) must not appear as a Lens sourceField."""
        if baseline is None:
            return
        texts = {
            s.feature_field(s.INPUTS, f.name)
            for f in baseline.features
            if f.type is s.FeatureType.TEXT
        }
        used = {f for o in _by_type(objects, "lens") for f in _walk(o, "sourceField")}
        assert not texts & used


@pytest.mark.parametrize(("name", "objects", "baseline"), CASES, ids=IDS)
class TestGrid:
    def test_panels_fit_and_do_not_overlap(
        self, name: str, objects: list[Obj], baseline: Baseline
    ) -> None:
        """Each panel lies in the 48 columns and no two rectangles intersect."""
        for d in _by_type(objects, "dashboard"):
            grid = [p["gridData"] for p in json.loads(d["attributes"]["panelsJSON"])]
            for g in grid:
                assert g["x"] >= 0 and g["x"] + g["w"] <= 48 and g["y"] >= 0
                assert g["w"] > 0 and g["h"] > 0
            for i, a in enumerate(grid):
                for b in grid[i + 1 :]:
                    apart = (
                        a["x"] + a["w"] <= b["x"]
                        or b["x"] + b["w"] <= a["x"]
                        or a["y"] + a["h"] <= b["y"]
                        or b["y"] + b["h"] <= a["y"]
                    )
                    assert apart, (d["attributes"]["title"], a, b)

    def test_panel_index_matches_grid_id(
        self, name: str, objects: list[Obj], baseline: Baseline
    ) -> None:
        """gridData.i is the panelIndex, and panel indices are unique."""
        for d in _by_type(objects, "dashboard"):
            panels = json.loads(d["attributes"]["panelsJSON"])
            assert [p["gridData"]["i"] for p in panels] == [p["panelIndex"] for p in panels]
            assert len({p["panelIndex"] for p in panels}) == len(panels)


class TestIds:
    def test_regeneration_is_identical(self) -> None:
        """Generations from the same baseline in processes with different hash seeds are
        equal, ids included."""
        code = (
            "import json; from predwatch.kibana.objects import saved_objects;"
            "from tests.helpers.kibana_fixtures import demo_baseline;"
            "print(json.dumps(saved_objects(demo_baseline(), 'demo')))"
        )
        first, second = processes.outputs(code)
        assert first == second
        assert json.loads(first) == saved_objects(demo_baseline(), "demo")

    def test_ids_follow_model_kind_and_name(self) -> None:
        """Ids are uuid5 of '<model>:<kind>:<name>' (so re-import updates in place)."""
        objs = saved_objects(demo_baseline(), "demo")
        dashboards = {o["id"] for o in _by_type(objs, "dashboard")}
        assert dashboards == {
            object_id("demo", "dashboard", w) for w in ("inputs", "predictions", "drift")
        }

    def test_models_do_not_share_per_model_objects(self) -> None:
        """Two models share only the data views over shared indices."""
        a = {o["id"] for o in saved_objects(demo_baseline("one"), "one")}
        b = {o["id"] for o in saved_objects(demo_baseline("two"), "two")}
        shared_titles = ("predwatch-alerts", "predwatch-deadletter")
        shared = {
            o["id"]
            for o in saved_objects(demo_baseline("one"), "one")
            if o["type"] == "index-pattern" and o["attributes"]["title"] in shared_titles
        }
        assert a & b == shared and len(shared) == 2

    def test_space_changes_every_id(self) -> None:
        """Objects made for another space get their own ids (Kibana keeps ids unique across
        spaces and would otherwise rename them on import, breaking the links)."""
        a = {o["id"] for o in saved_objects(demo_baseline(), "demo")}
        b = {o["id"] for o in saved_objects(demo_baseline(), "demo", space="ml")}
        assert not a & b

    def test_new_feature_keeps_existing_ids(self) -> None:
        """Adding a feature to the baseline adds objects and keeps the others' ids."""
        small = {o["id"] for o in saved_objects(wide_baseline(n=6), "wide")}
        large = {o["id"] for o in saved_objects(wide_baseline(n=9), "wide")}
        assert small < large


class TestFormats:
    objects = saved_objects(demo_baseline(), "demo")

    def test_migration_versions(self) -> None:
        """typeMigrationVersion per type: what every Kibana 9.x accepts and migrates forward."""
        versions = {o["type"]: o["typeMigrationVersion"] for o in self.objects}
        assert versions == {
            "index-pattern": "8.0.0",
            "lens": "8.9.0",
            "search": "10.2.0",
            "dashboard": "10.2.0",
        }

    def test_lens_attributes(self) -> None:
        """Lens attributes: title, description, visualizationType and a formBased state."""
        for o in _by_type(self.objects, "lens"):
            attrs = o["attributes"]
            assert set(attrs) == {"title", "description", "visualizationType", "state"}
            assert attrs["visualizationType"] in {"lnsXY", "lnsDatatable", "lnsMetric"}
            assert set(attrs["state"]["datasourceStates"]) == {"formBased"}
            assert attrs["state"]["query"]["language"] == "kuery"

    def test_search_attributes_fit_the_saved_search_schema(self) -> None:
        """Only attributes of the saved-search schema (model versions 1-5)."""
        allowed = {
            "title",
            "description",
            "columns",
            "sort",
            "grid",
            "rowHeight",
            "rowsPerPage",
            "hideChart",
            "breakdownField",
            "kibanaSavedObjectMeta",
            "isTextBasedQuery",
            "usesAdHocDataView",
            "timeRestore",
            "timeRange",
            "refreshInterval",
            "viewMode",
            "hideAggregatedPreview",
            "hits",
            "version",
            "sampleSize",
            "headerRowHeight",
        }
        for o in _by_type(self.objects, "search"):
            assert set(o["attributes"]) <= allowed

    def test_data_views(self) -> None:
        """Data views read the predwatch index patterns with @timestamp as time field."""
        views = {o["attributes"]["title"]: o for o in _by_type(self.objects, "index-pattern")}
        assert set(views) == {
            s.index_pattern("predictions", "demo"),
            s.index_pattern("drift", "demo"),
            s.index_pattern("alerts"),
            s.index_pattern("deadletter"),
        }
        assert {v["attributes"]["timeFieldName"] for v in views.values()} == {s.TIMESTAMP}
        assert all(v["attributes"]["name"] for v in views.values())


class TestContent:
    def _titles(self, objects: list[Obj]) -> list[str]:
        return [o["attributes"]["title"] for o in objects]

    def test_three_linked_dashboards(self) -> None:
        """Each dashboard's markdown links to the two others and both searches."""
        objs = saved_objects(demo_baseline(), "demo")
        boards = _by_type(objs, "dashboard")
        searches = [o["id"] for o in _by_type(objs, "search")]
        assert len(boards) == 3
        for d in boards:
            panel = json.loads(d["attributes"]["panelsJSON"])[0]
            text = panel["embeddableConfig"]["savedVis"]["params"]["markdown"]
            others = [o["id"] for o in boards if o is not d]
            for oid in others:
                assert f"(/app/dashboards#/view/{oid})" in text
            for sid in searches:
                assert f"(/app/discover#/view/{sid})" in text

    def test_every_feature_has_panels(self) -> None:
        """Each baseline feature appears in the title of its own panels."""
        titles = " | ".join(self._titles(saved_objects(demo_baseline(), "demo")))
        for f in demo_baseline().features:
            assert f"] {f.name}:" in titles

    def test_feature_cap_lists_the_rest(self) -> None:
        """Features over --max-features get no panels and are named on the dashboard."""
        objs = saved_objects(wide_baseline(n=12), "wide", max_features=10)
        inputs = next(o for o in objs if o["id"] == object_id("wide", "dashboard", "inputs"))
        text = json.loads(inputs["attributes"]["panelsJSON"])[0]["embeddableConfig"]
        assert "`f010`, `f011`" in text["savedVis"]["params"]["markdown"]
        assert not any("f011" in t for t in self._titles(objs))

    def test_regression_has_no_label_share(self) -> None:
        """A regression model gets prediction statistics but no label share."""
        titles = self._titles(saved_objects(regression_baseline(), "prices"))
        assert "[prices] Prediction statistics" in titles
        assert "[prices] Predicted label share" not in titles

    def test_label_only_classifier_has_no_value_statistics(self) -> None:
        """Without a score the value statistics chart would stay empty: it is left out."""
        titles = self._titles(saved_objects(label_only_baseline(), "labels"))
        assert "[labels] Predicted label share" in titles
        assert "[labels] Prediction statistics" not in titles

    def test_word_statistics_leave_out_missing_texts(self) -> None:
        """A missing text counts 0 words; the text panels filter those documents out."""
        objs = saved_objects(demo_baseline(), "demo")
        chart = next(
            o for o in objs if o["attributes"]["title"] == "[demo] comment: words per document"
        )
        columns = _walk(chart, "columns")[0].values()
        filters = [c.get("filter") for c in columns if not c["isBucketed"]]
        assert filters == [{"query": "monitor.missing.comment : 0", "language": "kuery"}] * 2

    def test_prediction_statistics_are_the_seed_statistics(self) -> None:
        """Median, mean, std, min and max of prediction.value over time."""
        objs = saved_objects(demo_baseline(), "demo")
        stats = next(o for o in objs if o["attributes"]["title"] == "[demo] Prediction statistics")
        ops = [
            c["operationType"]
            for c in _walk(stats, "columns")[0].values()
            if c.get("sourceField") == s.PREDICTION_VALUE
        ]
        assert ops == ["median", "average", "standard_deviation", "min", "max"]


class TestErrors:
    def test_baseline_of_another_model(self) -> None:
        """A baseline for another model is refused with both names."""
        with pytest.raises(KibanaError, match="'demo', not 'other'"):
            saved_objects(demo_baseline(), "other")

    def test_bad_space(self) -> None:
        """Space ids are lower-case; a display name is refused with a hint."""
        with pytest.raises(KibanaError, match="space id 'My Space'"):
            saved_objects(None, "demo", space="My Space")

    def test_bad_model_name(self) -> None:
        """Model names follow the schema rule."""
        with pytest.raises(KibanaError, match="may only contain"):
            saved_objects(None, "Credit-Risk")


class TestEstimatedQuality:
    def test_estimated_and_realized_lines_together(self) -> None:
        """The drift dashboard charts estimated (metric.value) and realized (metric.realized)
        of the quality.estimated.* documents of all versions, one line pair per metric."""
        objects = saved_objects(demo_baseline(), "demo")
        (lens,) = [
            o
            for o in _by_type(objects, "lens")
            if o["attributes"]["title"].endswith("Estimated (before labels) and realized quality")
        ]
        state = lens["attributes"]["state"]
        fields = _walk(state["datasourceStates"], "sourceField")
        assert {"metric.value", "metric.realized", "metric.name", "@timestamp"} <= set(fields)
        query = state["query"]["query"]
        assert "quality.estimated.*" in query and 'metric.scope : "all"' in query
        dashboards = json.dumps(_by_type(objects, "dashboard"))
        assert lens["id"] in dashboards
