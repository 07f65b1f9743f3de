"""Integration: what Elasticsearch makes of odd values, odd names, very wide requests and
PII, through the real node with predwatch's templates installed (issue 11, cases 6-9)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import pytest
from elasticsearch import Elasticsearch

from predwatch import mappings
from predwatch import schema as s
from predwatch.config import ESConfig
from predwatch.setup_es import setup_elasticsearch
from predwatch.shipper import ElasticsearchHandler, Shipper, ShipToElasticsearch
from tests.helpers.shipper_es import Shippers, deadletters, landed_ids


@pytest.fixture
def templates(es: Elasticsearch, es_config: ESConfig) -> None:
    """predwatch's generic templates, as `predwatch setup elasticsearch` installs them."""
    setup_elasticsearch(es, es_config)


@pytest.fixture
def make(es_config: ESConfig, model: str, spool_root: Path, templates: None) -> Iterator[Any]:
    shippers = Shippers(model, es_config, spool_root, deployment=False)
    yield shippers
    shippers.close()


def sources(es: Elasticsearch, model: str) -> dict[str, dict[str, Any]]:
    """Every stored prediction's _source by prediction_id."""
    pattern = s.index_pattern("predictions", model)
    es.indices.refresh(index=pattern)
    hits = es.search(index=pattern, size=1000, query={"match_all": {}})["hits"]["hits"]
    return {h["_source"]["prediction_id"]: h["_source"] for h in hits}


def count(es: Elasticsearch, model: str, query: dict[str, Any]) -> int:
    pattern = s.index_pattern("predictions", model)
    return int(es.count(index=pattern, query=query)["count"])


def wide_then_later(es: Elasticsearch, model: str, sh: Shipper, wide: dict[str, float]) -> str:
    """`sh` logs the `wide` request, then 20 requests each with a field first seen now
    (late_0 ... late_19); all 21 land. The wide request's prediction_id."""
    first = sh.log_prediction(wide, 0.5)
    assert sh.flush(180)
    later = [sh.log_prediction({f"late_{i}": float(i)}, 0.5) for i in range(20)]
    assert sh.flush(120)
    assert sorted(landed_ids(es, model)) == sorted([first, *later])
    return first


class BadStr:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class TestBadValues:
    def test_each_bad_value_loses_only_itself(
        self, es: Elasticsearch, make: Any, model: str
    ) -> None:
        """Records with unprintable keys, huge ints, sNaN and Series all land, flagged."""
        sh = make()
        pids = [
            sh.log_prediction({BadStr(): 1, "age": 41}, 0.5),
            sh.log_prediction({"huge": 10**5000, "age": 42}, 0.5),
            sh.log_prediction({"age": 43}, 10**400),
            sh.log_prediction({"d": Decimal("sNaN"), "age": 44}, 0.5),
            sh.log_prediction({"s": pd.Series([1.0, 2.0]), "a": np.arange(3)}, 0.5),
            sh.log_prediction({"big": 10**30, "age": 45}, 0.5),
        ]
        assert sh.flush(120)
        assert sorted(landed_ids(es, model)) == sorted(pids)
        assert deadletters(es, pids) == []
        docs = sources(es, model)
        assert docs[pids[0]]["inputs"] == {"(unnamed BadStr)": 1, "age": 41}
        assert docs[pids[1]]["inputs"]["huge"] == "<unserializable int>"
        assert docs[pids[2]]["prediction"] == {"value": None}
        assert docs[pids[3]]["inputs"] == {"d": None, "age": 44}
        assert docs[pids[4]]["inputs"] == {"s": [1.0, 2.0], "a": [0, 1, 2]}
        flagged = count(es, model, {"range": {s.UNSERIALIZABLE: {"gte": 1}}})
        assert flagged == 3
        assert count(es, model, {"term": {s.NONFINITE: 1}}) == 1
        st = sh.stats()
        assert st["dropped_total"] == 0 and st["acked"] == len(pids)


ODD_NAMES = [
    "",
    " ",
    "\t",
    ".",
    "..",
    "...",
    "a..b",
    ".a",
    "a.",
    "user.age",
    "First Name",
    "Age",
    "x" * 40_000,
    "é ü",
]


class TestNames:
    def test_odd_names_never_fail_indexing(self, es: Elasticsearch, make: Any, model: str) -> None:
        """Empty, blank, dotted, spaced, capitalised, very long and colliding names all index,
        values kept; a malformed value under a very long name does not fail the document."""
        sh = make()
        odd = {n: i for i, n in enumerate(ODD_NAMES)}
        pids = [
            sh.log_prediction(odd, 0.5, features=odd, labels={"": "x", "a..b": "y"}),
            sh.log_prediction({1: "a", "1": "b"}, 0.5),
            sh.log_prediction({"x" * 40_000: "not a number"}, 0.5),  # ignore_malformed
            sh.log_prediction({"nested": {"": 1, ".": 2}}, 0.5),
        ]
        assert sh.flush(120)
        assert sorted(landed_ids(es, model)) == sorted(pids)
        assert deadletters(es, pids) == []
        docs = sources(es, model)
        inputs = docs[pids[0]]["inputs"]
        assert len(inputs) == len(ODD_NAMES)
        assert sorted(inputs.values()) == list(range(len(ODD_NAMES)))
        assert inputs["(empty)"] == 0 and inputs["(empty) (2)"] == 1
        assert inputs["a..b"] == 6 and inputs["First Name"] == 10
        assert inputs["x" * s.MAX_FIELD_NAME] == 12
        assert docs[pids[1]]["inputs"] == {"1": "a", "1 (2)": "b"}
        assert docs[pids[3]]["inputs"] == {"nested": {"(empty)": 1, ".": 2}}
        for field in ("inputs.a..b", "inputs.(empty)", "inputs.First Name", "inputs.."):
            assert count(es, model, {"exists": {"field": field}}) == 1, field


class TestFieldLimit:
    def test_wide_request_leaves_room_for_later_fields(
        self, es: Elasticsearch, make: Any, model: str
    ) -> None:
        """After a request with 5,000 features, fields first seen later that day are still
        indexed; the wide request's values past the cap are kept in _source and counted."""
        wide = {f"wide_{i:04d}": float(i) for i in range(5000)}
        first = wide_then_later(es, model, make(), wide)
        found = [count(es, model, {"exists": {"field": f"inputs.late_{i}"}}) for i in range(20)]
        assert found == [1] * 20
        cap = mappings.extra_fields_cap(s.DEFAULT_TOTAL_FIELDS_LIMIT)
        doc = sources(es, model)[first]
        moved = doc[s.UNINDEXED]["inputs"]
        assert len(doc["inputs"]) == cap and len(moved) == 5000 - cap
        assert {**doc["inputs"], **moved} == wide
        flagged = count(es, model, {"term": {s.UNINDEXED_COUNT: 5000 - cap}})
        assert flagged == 1

    def test_configured_limit_reaches_templates_and_shipper(
        self, es: Elasticsearch, es_config: ESConfig, make: Any, model: str
    ) -> None:
        """`setup elasticsearch --total-fields-limit 5000` and a shipper given the same limit:
        a 2,000-feature request is indexed whole and later fields still find room."""
        from click.testing import CliRunner

        from predwatch.cli import main

        args = ["setup", "elasticsearch", "--es-url", es_config.url]
        try:
            done = CliRunner().invoke(main, [*args, "--total-fields-limit", "5000"])
            assert done.exit_code == 0, done.output
            wide = {f"wide_{i:04d}": float(i) for i in range(2000)}
            first = wide_then_later(es, model, make(total_fields_limit=5000), wide)
            index = next(iter(es.indices.get(index=s.index_pattern("predictions", model))))
            got = es.indices.get_settings(index=index, name="index.mapping.total_fields.limit")
            assert got[index]["settings"]["index"]["mapping"]["total_fields"]["limit"] == "5000"
            doc = sources(es, model)[first]
            assert doc["inputs"] == wide and s.UNINDEXED not in doc
            assert count(es, model, {"exists": {"field": "inputs.wide_1999"}}) == 1
            found = [count(es, model, {"exists": {"field": f"inputs.late_{i}"}}) for i in range(20)]
            assert found == [1] * 20
        finally:
            restored = CliRunner().invoke(main, args)  # the default limit, for other tests
            assert restored.exit_code == 0, restored.output


EMAILS = [f"user{i}@example.com" for i in range(20)]
PHONES = [f"+1 555 01{i:02d}" for i in range(20)]


class TestPii:
    def test_no_plaintext_through_both_front_ends(
        self, es: Elasticsearch, make: Any, model: str
    ) -> None:
        """20 records with e-mail and phone, through the handler and the structlog processor
        in dict, MappingProxyType and Series containers: no plaintext in any _source."""
        sh = make(pii={"email": "drop", "phone": "hash", "contact.email": "drop"}, pii_key="k")
        log = logging.getLogger(f"test.pii.{model}")
        log.propagate = False
        log.setLevel(logging.INFO)
        handler = ElasticsearchHandler(sh)
        log.addHandler(handler)
        proc = ShipToElasticsearch(sh)
        wraps = [dict, MappingProxyType, lambda d: pd.Series(d, dtype=object)]
        try:
            for i in range(20):
                row = {"email": EMAILS[i], "phone": PHONES[i], "age": 30 + i}
                wrap = wraps[i % 3]
                nested = {"contact": wrap({"email": EMAILS[i], "city": "Oslo"})}
                if i % 2:
                    log.info(
                        "scored",
                        extra={"inputs": wrap(row), "features": wrap(row), "labels": nested},
                    )
                else:
                    ev = {"event": "scored", "inputs": wrap(row), "features": wrap(row)}
                    proc(None, "info", {**ev, "labels": nested})
        finally:
            log.removeHandler(handler)
        assert sh.flush(120)
        assert len(landed_ids(es, model)) == 20
        docs = sources(es, model)
        text = json.dumps(docs)
        for secret in (*EMAILS, *PHONES):
            assert secret not in text
        for doc in docs.values():
            for group in ("inputs", "features"):
                assert "email" not in doc[group] and len(doc[group]["phone"]) == 64
        day = dt.datetime.now(dt.UTC)
        assert all(d["@timestamp"][:10] == f"{day:%Y-%m-%d}" for d in docs.values())
        assert count(es, model, {"query_string": {"query": '"example.com"'}}) == 0
