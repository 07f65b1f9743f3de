"""The data views against a real Elasticsearch: each title matches the indices predwatch
writes (and no other model's), and every field the objects aggregate is aggregatable in what
Elasticsearch itself reports (field_caps) for those indices."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from predwatch import es as es_mod
from predwatch import mappings as m
from predwatch import schema as s
from predwatch import templates as t
from predwatch.baseline import Baseline
from predwatch.kibana import contract
from predwatch.kibana.objects import saved_objects
from tests.helpers import kibana_fixtures as fixtures

WHEN = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)


def _prediction_doc(b: Baseline) -> dict[str, Any]:
    """A prediction document as the shipper writes it, every monitored field set."""
    doc: dict[str, Any] = {}
    s.set_path(doc, s.TIMESTAMP, WHEN.isoformat())
    s.set_path(doc, s.PREDICTION_ID, "p-1")
    s.set_path(doc, s.MODEL_NAME, b.model)
    s.set_path(doc, s.MODEL_VERSION, b.version)
    s.set_path(doc, s.PREDICTION_VALUE, 0.7)
    s.set_path(doc, s.PREDICTION_LABEL, "approved")
    s.set_path(doc, s.LATENCY_MS, 12.5)
    for flag in (s.NONFINITE, s.TRUNCATED, s.MISSING_COUNT, s.OOV_COUNT):
        s.set_path(doc, flag, 0)
    s.set_path(doc, s.BASELINE, b.id)
    groups = {g: {} for g in (s.INPUTS, s.MISSING, s.OOV, s.UNSEEN, s.OUT_OF_RANGE, s.TEXT)}
    for f in b.features:
        groups[s.MISSING][f.name] = 0
        if f.type is s.FeatureType.NUMERIC:
            groups[s.INPUTS][f.name] = 42.0
            groups[s.OUT_OF_RANGE][f.name] = 0
        elif f.type is s.FeatureType.CATEGORICAL:
            groups[s.INPUTS][f.name] = "XX"
            groups[s.OOV][f.name] = 1
            groups[s.UNSEEN][f.name] = "XX"
        else:
            groups[s.INPUTS][f.name] = "a loan for a spaceship"
            groups[s.TEXT][f"{f.name}.{s.TEXT_TOKENS}"] = 5
            groups[s.TEXT][f"{f.name}.{s.TEXT_OOV_TOKENS}"] = 1
            groups[s.TEXT][f"{f.name}.{s.TEXT_OOV_RATE}"] = 0.2
            groups[s.TEXT][f"{f.name}.{s.TEXT_OOV_TERMS}"] = ["spaceship"]
    for group, values in groups.items():
        s.set_path(doc, group, values)
    s.set_path(doc, s.PREDICTION_SCORES, {c: 0.5 for c in b.classes})
    return doc


def _install_model_template(es: Elasticsearch, b: Baseline) -> None:
    """The per-model template predwatch.templates renders, with its component templates'
    bodies inlined (so the test leaves no shared component templates behind)."""
    body = t.model_template(b.model, b.schema_features(), b.classes)
    settings = t.settings_component()["template"]["settings"]
    body["template"]["settings"] = contract.merge(settings, body["template"]["settings"])
    body["template"]["mappings"] = contract.merge(
        t.predictions_component()["template"]["mappings"], body["template"]["mappings"]
    )
    body["composed_of"] = []
    body.pop("ignore_missing_component_templates")
    es.indices.put_index_template(name=t.model_template_name(b.model), **body)


@pytest.fixture(scope="module")
def model_name(es: Elasticsearch) -> Iterator[str]:
    """A model name of this module only (one set of indices for all its tests: creating
    indices is the slow part); its indices and template are deleted afterwards."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    yield name
    # By name: clusters refuse wildcard deletes (destructive_requires_name).
    found = es.indices.get(index=f"predwatch-*-{name}*", expand_wildcards="all")
    for index in found.body:
        es.options(ignore_status=404).indices.delete(index=index)
    es.options(ignore_status=404).indices.delete_index_template(name=t.model_template_name(name))


@pytest.fixture(scope="module")
def indexed(es: Elasticsearch, model_name: str) -> dict[str, Any]:
    """Indices of `model_name` as predwatch writes them, plus scratch copies of the shared
    alert and dead-letter indices (the real ones belong to the whole cluster)."""
    b = fixtures.demo_baseline(model_name)
    _install_model_template(es, b)
    index = s.index_name("predictions", model_name, WHEN)
    es.index(index=index, id="p-1", document=_prediction_doc(b), refresh=True)
    # Another model whose name starts with this one's: its indices must not be read.
    neighbour = s.index_name("predictions", f"{model_name}_b", WHEN)
    es.indices.create(index=neighbour, mappings=m.prediction_common_mapping())
    drift = s.index_name("drift", model_name)
    es.indices.create(index=drift, mappings=m.drift_mapping())
    scratch = {kind: f"predwatch-kbtest{kind}-{model_name}" for kind in ("alerts", "deadletter")}
    es.indices.create(index=scratch["alerts"], mappings=m.alerts_mapping())
    es.indices.create(index=scratch["deadletter"], mappings=m.deadletter_mapping())
    return {
        "baseline": b,
        "predictions": index,
        "neighbour": neighbour,
        "drift": drift,
        "scratch": scratch,
    }


def _resolve(es: Elasticsearch, pattern: str) -> set[str]:
    return set(es_mod.resolve_index(es, pattern))


class TestDataViews:
    def test_titles_match_the_model_indices(
        self, es: Elasticsearch, model_name: str, indexed: dict[str, Any]
    ) -> None:
        """The predictions and drift data views read exactly this model's indices."""
        objs = saved_objects(indexed["baseline"], model_name)
        titles = {
            o["attributes"]["name"]: o["attributes"]["title"]
            for o in objs
            if o["type"] == "index-pattern"
        }
        pred = titles[f"predwatch predictions: {model_name}"]
        assert _resolve(es, pred) == {indexed["predictions"]}
        assert indexed["neighbour"] not in _resolve(es, pred)
        assert _resolve(es, titles[f"predwatch drift results: {model_name}"]) == {indexed["drift"]}

    def test_shared_titles_are_the_shared_index_names(self, model_name: str) -> None:
        """Alerts and dead letters are single indices; their data views name them."""
        objs = saved_objects(None, model_name)
        titles = {o["attributes"]["title"] for o in objs if o["type"] == "index-pattern"}
        assert {s.index_name("alerts"), s.index_name("deadletter")} <= titles

    def test_used_fields_are_aggregatable_in_elasticsearch(
        self, es: Elasticsearch, model_name: str, indexed: dict[str, Any]
    ) -> None:
        """field_caps of the real indices: every field a Lens column, query or sort uses
        exists and is aggregatable."""
        objs = saved_objects(indexed["baseline"], model_name)
        where = {
            s.index_pattern("predictions", model_name): indexed["predictions"],
            s.index_pattern("drift", model_name): indexed["drift"],
            s.index_name("alerts"): indexed["scratch"]["alerts"],
            s.index_name("deadletter"): indexed["scratch"]["deadletter"],
        }
        for title, fields in contract.fields_by_data_view(objs).items():
            caps = es.field_caps(index=where[title], fields=sorted(fields))["fields"]
            for f in sorted(fields):
                assert f in caps, f"{title}: {f} is not mapped"
                assert all(c["aggregatable"] for c in caps[f].values()), f"{title}: {f}"

    def test_search_columns_exist_in_elasticsearch(
        self, es: Elasticsearch, model_name: str, indexed: dict[str, Any]
    ) -> None:
        """Every Discover column of the OOV-examples search is a mapped field."""
        objs = saved_objects(indexed["baseline"], model_name)
        search = next(
            o for o in objs if o["type"] == "search" and "vocabulary" in o["attributes"]["title"]
        )
        columns = search["attributes"]["columns"]
        caps = es.field_caps(index=indexed["predictions"], fields=columns)["fields"]
        assert set(columns) <= set(caps)
