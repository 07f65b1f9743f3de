"""A rerun of the demo starts from a clean slate: its own records in the shared indices go."""

from __future__ import annotations

from elasticsearch import Elasticsearch

from predwatch import schema
from predwatch.config import ESConfig
from predwatch.demo import run

DEPLOYMENTS = schema.index_name("deployments")


class TestReset:
    def test_shared_deployments_of_the_model_are_deleted(
        self, es: Elasticsearch, es_config: ESConfig, model_name: str
    ) -> None:
        """An earlier run's deployment records of the model go (another model hash for the same
        version would fire model_hash_change); another model's records stay."""
        other = f"{model_name}_other"
        for i, model in enumerate([model_name, model_name, other]):
            es.index(
                index=DEPLOYMENTS,
                id=f"{model}-{i}",
                document={schema.MODEL_NAME: model, schema.MODEL_HASH: f"sha256:{i}"},
                refresh=True,
            )
        run.reset(es, es_config, model_name)
        es.indices.refresh(index=DEPLOYMENTS)

        def count(model: str) -> int:
            q = {"term": {schema.MODEL_NAME: model}}
            return int(es.count(index=DEPLOYMENTS, query=q)["count"])

        try:
            assert count(model_name) == 0
            assert count(other) == 1
        finally:
            es.delete(index=DEPLOYMENTS, id=f"{other}-2", refresh=True)
