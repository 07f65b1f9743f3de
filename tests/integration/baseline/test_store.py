"""Baselines stored in and read back from a real Elasticsearch."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from predwatch import schema
from predwatch.analyzers.baseline_cli import baseline
from predwatch.baseline import (
    Baseline,
    BaselineError,
    CategoricalProfile,
    FeatureProfile,
    NumericProfile,
    load_baseline,
)
from predwatch.baseline_store import baseline_from_es, baselines_index, upload_baseline
from predwatch.config import ESConfig

T = schema.FeatureType


def _baseline(model: str, version: str, created_at: str) -> Baseline:
    # Values with dots, brackets and unicode: the profile is stored verbatim (enabled: false).
    cat = CategoricalProfile(
        {"a.b": 3, "x[1]": 2, "ünï": 1}, 0, frozenset({"a.b", "x[1]", "ünï", "z"}), 6
    )
    num = NumericProfile((1.0, 2.0), (2.0, 2.0, 2.0), 1.5, math.nan, 0.0, 3.0, 6)
    return Baseline(
        model=model,
        version=version,
        trained_at="2026-01-01T00:00:00Z",
        hash="sha256:00",
        created_at=created_at,
        rows=6,
        features=(
            FeatureProfile("user.age", T.NUMERIC, 6, 0, numeric=num),
            FeatureProfile("City Name", T.CATEGORICAL, 6, 0, categorical=cat),
        ),
    )


@pytest.fixture
def model_name(es: Elasticsearch) -> Iterator[str]:
    """A unique model name; its baseline documents are deleted afterwards (the shared
    index stays). Only documents are created, so conftest's index clean-up is not needed."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    yield name
    # delete_by_query lives in the reindex module, which the test node lacks.
    hits = es.options(ignore_status=404).search(
        index=baselines_index(), query={"term": {"model.name": name}}, size=100, source=False
    )
    for hit in hits.body.get("hits", {}).get("hits", []):
        es.options(ignore_status=404).delete(
            index=baselines_index(), id=hit["_id"], refresh="wait_for"
        )


class TestStore:
    def test_round_trip(self, es: Elasticsearch, es_config: ESConfig, model_name: str) -> None:
        """An uploaded baseline comes back equal, by version and as the newest."""
        b1 = _baseline(model_name, "1", "2026-01-01T00:00:00Z")
        b2 = _baseline(model_name, "2", "2026-02-01T00:00:00Z")
        assert upload_baseline(es, es_config, b1) == f"{model_name}@1"
        upload_baseline(es, es_config, b2)
        got = baseline_from_es(es, es_config, model_name, "1")
        assert got.to_dict() == b1.to_dict()
        assert baseline_from_es(es, es_config, model_name).version == "2"

    def test_document_fields(self, es: Elasticsearch, es_config: ESConfig, model_name: str) -> None:
        """The stored document has the id, timestamp, model fields and the profile."""
        b = _baseline(model_name, "v1.0", "2026-03-01T00:00:00Z")
        upload_baseline(es, es_config, b)
        doc = es.get(index=baselines_index(), id=b.id)
        src = doc["_source"]
        assert src["baseline_id"] == b.id
        assert src["@timestamp"] == b.created_at
        assert src["model"] == {"name": model_name, "version": "v1.0"}
        assert src["profile"]["format"] == "predwatch-baseline"
        mapping = es.indices.get_mapping(index=baselines_index())
        props = next(iter(mapping.body.values()))["mappings"]["properties"]
        assert props["profile"].get("enabled") is False

    def test_upload_replaces_same_version(
        self, es: Elasticsearch, es_config: ESConfig, model_name: str
    ) -> None:
        """Uploading the same model@version again replaces the document."""
        upload_baseline(es, es_config, _baseline(model_name, "1", "2026-01-01T00:00:00Z"))
        upload_baseline(es, es_config, _baseline(model_name, "1", "2026-01-05T00:00:00Z"))
        got = baseline_from_es(es, es_config, model_name, "1")
        assert got.created_at == "2026-01-05T00:00:00Z"
        n = es.count(index=baselines_index(), query={"term": {"model.name": model_name}})
        assert n["count"] == 1

    def test_missing_baseline(
        self, es: Elasticsearch, es_config: ESConfig, model_name: str
    ) -> None:
        """A model without a stored baseline gets a message saying how to make one."""
        with pytest.raises(BaselineError, match=r"no baseline for model .* --upload"):
            baseline_from_es(es, es_config, model_name)
        with pytest.raises(BaselineError, match="version '9'"):
            baseline_from_es(es, es_config, model_name, "9")


class TestCliUpload:
    def test_build_upload(
        self, es: Elasticsearch, es_config: ESConfig, model_name: str, tmp_path: Path
    ) -> None:
        """`baseline build --upload` stores the same baseline it writes to the file."""
        pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "b", "a"]}).to_csv(
            tmp_path / "d.csv", index=False
        )
        out = tmp_path / "b.json"
        res = CliRunner().invoke(
            baseline,
            [
                "build",
                str(tmp_path / "d.csv"),
                "--model",
                model_name,
                "--version",
                "7",
                "-o",
                str(out),
                "--upload",
                "--json",
            ],
            env={"PREDWATCH_ES_URL": es_config.url},
        )
        assert res.exit_code == 0, res.output
        assert json.loads(res.output)["uploaded"] == f"predwatch-baselines/{model_name}@7"
        assert baseline_from_es(es, es_config, model_name, "7") == load_baseline(out)

    def test_upload_unreachable(self, tmp_path: Path) -> None:
        """An unreachable Elasticsearch is one error line and exit 2 (the file is written)."""
        pd.DataFrame({"x": [1.0]}).to_csv(tmp_path / "d.csv", index=False)
        res = CliRunner().invoke(
            baseline,
            [
                "build",
                str(tmp_path / "d.csv"),
                "--model",
                "m",
                "--version",
                "1",
                "-o",
                str(tmp_path / "b.json"),
                "--upload",
                "--es-url",
                "http://127.0.0.1:9",
            ],
        )
        assert res.exit_code == 2
        assert "could not be reached" in res.output and res.output.count("\n") == 1
        assert (tmp_path / "b.json").exists()
