"""Integration tests: templates installed into the real node type real documents right."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from elasticsearch import Elasticsearch

from predwatch import schema, templates
from predwatch.baseline import (
    Baseline,
    CategoricalProfile,
    FeatureProfile,
    NumericProfile,
    TextProfile,
    Tokenizer,
    save_baseline,
)
from predwatch.cli import main
from predwatch.config import ESConfig
from predwatch.schema import FeatureType
from predwatch.setup_es import setup_elasticsearch

NOW = dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC)


def make_baseline(model: str) -> Baseline:
    num = NumericProfile(
        edges=(1.0, 2.0), counts=(1, 1, 1), mean=2.0, var=1.0, min=0.0, max=3.0, n=3
    )
    cat = CategoricalProfile(frequencies={"a": 2, "b": 1}, other=0, vocabulary=frozenset("ab"), n=3)
    text = TextProfile(
        tokenizer=Tokenizer(), vocabulary={"good": 2}, expected_oov_rate=0.1, length=num, n=3
    )
    return Baseline(
        model=model,
        version="1.0",
        trained_at=None,
        hash=None,
        created_at=NOW.isoformat(),
        rows=3,
        features=(
            FeatureProfile("age", FeatureType.NUMERIC, 3, 0, numeric=num),
            FeatureProfile("user.City Name", FeatureType.CATEGORICAL, 3, 0, categorical=cat),
            FeatureProfile("comment", FeatureType.TEXT, 3, 0, text=text),
        ),
    )


def doc(model: str, pid: str, inputs: dict[str, Any]) -> dict[str, Any]:
    d: dict[str, Any] = {"@timestamp": NOW.isoformat(), "prediction_id": pid, "inputs": inputs}
    schema.set_path(d, schema.MODEL_NAME, model)
    schema.set_path(d, schema.PREDICTION_VALUE, 0.5)
    d["monitor"] = {
        "missing": {"age": 0},
        "oov": {"user.City Name": 1},
        "unseen": {"user.City Name": "Zürich"},
        "nonfinite": 0,
        "text": {"comment.oov_rate": 0.5, "comment.oov_terms": ["meh"]},
    }
    return d


def field_types(es: Elasticsearch, index: str) -> dict[str, str]:
    got = es.indices.get_field_mapping(index=index, fields="*")
    out = {}
    for f, m in got[index]["mappings"].items():
        for leaf in m["mapping"].values():
            out[f] = leaf.get("type", "object")
    return out


class TestSetup:
    def test_twice_reports_no_changes(
        self, es: Elasticsearch, es_config: ESConfig, model_name: str, tmp_path: Path
    ) -> None:
        """The second run of `predwatch setup elasticsearch` changes nothing and says so."""
        path = save_baseline(make_baseline(model_name), tmp_path / "b.json")
        args = ["setup", "elasticsearch", "--baseline", str(path), "--es-url", es_config.url]
        first = CliRunner().invoke(main, args)
        assert first.exit_code == 0, first.output
        assert f"index_template predwatch-predictions-{model_name}" in first.output
        second = CliRunner().invoke(main, [*args, "--json"])
        assert second.exit_code == 0, second.output
        changes = json.loads(second.output)
        assert {c["action"] for c in changes} <= {"unchanged", "skipped"}
        skipped = [c for c in changes if c["action"] == "skipped"]
        assert all("no ILM" in c["detail"] for c in skipped)  # the local node has no ILM

    def test_documents_typed_from_baseline(
        self, es: Elasticsearch, es_config: ESConfig, model_name: str
    ) -> None:
        """Indexed documents get keyword/double/text inputs and numeric 0/1 flags."""
        setup_elasticsearch(es, es_config, [make_baseline(model_name)])
        index = schema.index_name("predictions", model_name, NOW)
        inputs = {"age": 41, "user.City Name": "Zürich", "comment": "meh good", "extra": "x"}
        es.index(
            index=index,
            id="p1",
            document=doc(model_name, "p1", inputs),
            op_type="create",
            refresh=True,
        )
        types = field_types(es, index)
        assert types["inputs.age"] == "double"
        assert types["inputs.user.City Name"] == "keyword"
        assert types["inputs.comment"] == "text"
        assert types["inputs.comment.keyword"] == "keyword"
        assert types["inputs.extra"] == "keyword"  # unknown extra input: dynamic, never fails
        assert types["monitor.missing.age"] == "byte"
        assert types["monitor.oov.user.City Name"] == "byte"
        assert types["monitor.nonfinite"] == "byte"
        assert types["monitor.text.comment.oov_rate"] == "float"
        assert types["prediction.value"] == "double"
        hits = es.search(index=index, query={"term": {"inputs.user.City Name": "Zürich"}})
        assert hits["hits"]["total"]["value"] == 1
        rate = es.search(
            index=index, size=0, aggs={"r": {"avg": {"field": "monitor.oov.user.City Name"}}}
        )
        assert rate["aggregations"]["r"]["value"] == 1.0

    def test_bad_values_do_not_fail_documents(
        self, es: Elasticsearch, es_config: ESConfig, model_name: str
    ) -> None:
        """A string in a numeric input and unknown top-level fields still index."""
        setup_elasticsearch(es, es_config, [make_baseline(model_name)])
        index = schema.index_name("predictions", model_name, NOW)
        d = doc(model_name, "p2", {"age": "forty", "user.City Name": 7})
        d["whatever"] = {"nested": [1, "a"]}
        es.index(index=index, id="p2", document=d, refresh=True)
        got = es.get(index=index, id="p2")
        assert got["_source"]["inputs"]["age"] == "forty"  # kept in _source, nothing lost

    def test_fallback_without_baseline(
        self, es: Elasticsearch, es_config: ESConfig, model_name: str
    ) -> None:
        """A model without a baseline still indexes, numbers as double, strings as keyword."""
        setup_elasticsearch(es, es_config, [])
        index = schema.index_name("predictions", model_name, NOW)
        es.index(
            index=index, document=doc(model_name, "p3", {"n": 3, "s": "v", "b": True}), refresh=True
        )
        types = field_types(es, index)
        assert types["inputs.n"] == "double"
        assert types["inputs.s"] == "keyword"
        assert types["inputs.b"] == "keyword"

    def test_model_template_name(self, model_name: str) -> None:
        """The per-model template is named after the model."""
        assert templates.model_template_name(model_name).endswith(model_name)


class TestCustomComponent:
    def test_custom_settings_win(
        self, es: Elasticsearch, es_config: ESConfig, model_name: str
    ) -> None:
        """Settings in `predwatch@custom` apply to new predwatch indices, over predwatch's own."""
        setup_elasticsearch(es, es_config, [make_baseline(model_name)])
        es.cluster.put_component_template(
            name=templates.CUSTOM_COMPONENT,
            template={"settings": {"index": {"number_of_shards": 2}}},
        )
        try:
            index = schema.index_name("predictions", model_name, NOW)
            es.indices.create(index=index)
            settings = es.indices.get_settings(index=index)[index]["settings"]["index"]
            assert settings["number_of_shards"] == "2"
        finally:
            es.cluster.delete_component_template(name=templates.CUSTOM_COMPONENT)
