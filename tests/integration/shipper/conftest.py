"""Fixtures of the shipper's integration tests (real Elasticsearch)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from tests.helpers.shipper_es import delete_deadletters, delete_model_indices


@pytest.fixture
def model(es: Elasticsearch) -> Iterator[str]:
    """A model name no other test uses; its indices and dead letters are removed afterwards."""
    name = f"t_ship_{uuid.uuid4().hex[:8]}"
    yield name
    delete_model_indices(es, name)
    delete_deadletters(es, name)


@pytest.fixture
def spool_root(tmp_path: Path) -> Path:
    return tmp_path / "spool"
