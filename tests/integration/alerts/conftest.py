"""Fixtures of the alert integration tests: the demo baseline under a fresh model name,
its templates installed, and a Scenario writing its documents."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from predwatch.baseline import Baseline, load_baseline
from predwatch.config import ESConfig
from predwatch.setup_es import setup_elasticsearch
from tests.helpers.alert_scenarios import DEMO, Scenario


@pytest.fixture(scope="session")
def demo_baseline() -> Baseline:
    return load_baseline(DEMO)


@pytest.fixture
def scenario(
    es: Elasticsearch, es_config: ESConfig, model_name: str, demo_baseline: Baseline
) -> Iterator[Scenario]:
    """A fresh model with the demo baseline's template installed, and its documents."""
    baseline = dataclasses.replace(demo_baseline, model=model_name)
    setup_elasticsearch(es, es_config, [baseline])
    sc = Scenario(es, model_name, baseline.version)
    yield sc
    sc.cleanup()


@pytest.fixture
def model_baseline(demo_baseline: Baseline, model_name: str) -> Baseline:
    return dataclasses.replace(demo_baseline, model=model_name)
