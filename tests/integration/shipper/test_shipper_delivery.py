"""Integration: delivery, dead letters and property-based inputs against the real node."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from elasticsearch import Elasticsearch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from predwatch import schema as s
from predwatch.config import ESConfig
from predwatch.shipper import Shipper
from tests.helpers.shipper_es import deadletters, fast_shipper, landed_ids


@pytest.fixture
def shipper(es_config: ESConfig, model: str, spool_root: Path) -> Iterator[Shipper]:
    sh = fast_shipper(model, es_config, spool_root)
    yield sh
    sh.close(timeout=5)


class TestDelivery:
    def test_predictions_and_outcomes_land(
        self, es: Elasticsearch, shipper: Shipper, model: str
    ) -> None:
        """Predictions of every shape land once; an outcome lands keyed by prediction_id."""
        pids = [
            shipper.log_prediction({"age": 41, "user.name": "x"}, 0.83, latency_ms=1.5),
            shipper.log_prediction({"age": np.int64(3)}, {"no": 0.1, "yes": 0.9}),
            shipper.log_prediction({"age": math.nan}, "yes", timestamp=dt.datetime.now(dt.UTC)),
        ]
        assert shipper.log_outcome(pids[0], actual=1)
        assert shipper.flush(30)
        assert sorted(landed_ids(es, model)) == sorted(pids)
        assert landed_ids(es, model, "outcomes") == [pids[0]]
        doc = es.get(
            index=s.index_pattern("predictions", model).replace(
                "*", dt.datetime.now(dt.UTC).strftime("%Y.%m.%d")
            ),
            id=pids[0],
        )["_source"]
        assert doc["inputs"] == {"age": 41, "user.name": "x"}
        st = shipper.stats()
        assert st["acked"] == 4 and st["dropped_total"] == 0

    def test_mapping_conflict_dead_letters_one(
        self, es: Elasticsearch, shipper: Shipper, model: str
    ) -> None:
        """A document that conflicts with the mapping is dead-lettered; its batch lands."""
        when = dt.datetime(2026, 1, 15, 12, tzinfo=dt.UTC)
        index = s.index_name("predictions", model, when)
        es.indices.create(
            index=index,
            mappings={
                "properties": {
                    "inputs": {
                        "type": "object",
                        "subobjects": False,
                        "properties": {"age": {"type": "long"}},
                    }
                }
            },
        )
        good = [shipper.log_prediction({"age": i}, 0.5, timestamp=when) for i in range(20)]
        bad = shipper.log_prediction({"age": "forty"}, 0.5, timestamp=when)
        good += [shipper.log_prediction({"age": i}, 0.5, timestamp=when) for i in range(20)]
        assert shipper.flush(30)
        assert sorted(landed_ids(es, model)) == sorted(good)
        (dl,) = deadletters(es, [bad])
        assert dl["target_index"] == index
        assert dl["payload"]["inputs"] == {"age": "forty"}
        assert dl["payload"]["prediction_id"] == bad
        assert dl["error"]["status"] == 400 and dl["error"]["type"]
        assert dl["model"] == {"name": model, "version": "1.0"}
        assert shipper.stats()["dead_lettered"] == 1


_keys = hs.text(min_size=0, max_size=12)
_leaf = (
    hs.none()
    | hs.booleans()
    | hs.integers()
    | hs.floats()
    | hs.text(max_size=50)
    | hs.binary(max_size=20)
    | hs.datetimes()
    | hs.decimals()
    | hs.builds(np.float32, hs.floats(width=32))
    | hs.builds(np.int64, hs.integers(-(2**63), 2**63 - 1))
)
_values = hs.recursive(
    _leaf,
    lambda kids: hs.lists(kids, max_size=4) | hs.dictionaries(_keys, kids, max_size=4),
    max_leaves=12,
)
_records = hs.lists(
    hs.tuples(hs.dictionaries(_keys, _values, max_size=6), _values), min_size=1, max_size=15
)


class TestProperties:
    @settings(
        max_examples=12,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.function_scoped_fixture,
            HealthCheck.data_too_large,
        ],
    )
    @given(records=_records)
    def test_any_input_lands_or_is_dead_lettered(
        self, es: Elasticsearch, shipper: Shipper, model: str, records: list[Any]
    ) -> None:
        """Whatever the inputs: logging never raises and each record lands or is dead-lettered."""
        pids = [shipper.log_prediction(inputs, prediction) for inputs, prediction in records]
        assert shipper.flush(30)
        landed = set(landed_ids(es, model))
        missing = [p for p in pids if p not in landed]
        dead = {d["prediction_id"] for d in deadletters(es, missing)} if missing else set()
        assert set(missing) <= dead
        assert shipper.stats()["dropped_total"] == 0
