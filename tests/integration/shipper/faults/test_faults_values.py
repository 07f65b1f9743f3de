"""Values a serving app may send, through the proxy to a real node: a bad value loses only
itself, odd feature names keep their values, the field limit flags rather than hides, and
PII rules hold on every path (issue 11, cases 6-9)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd
import pytest
import structlog
from elasticsearch import Elasticsearch

from predwatch import schema as s
from predwatch.config import ESConfig
from predwatch.setup_es import setup_elasticsearch
from predwatch.shipper import ElasticsearchHandler, Shipper, ShipToElasticsearch
from tests.helpers.faults.fault_proxy import FaultProxy
from tests.helpers.faults.faults_check import deliver_rest
from tests.helpers.shipper_es import fast_shipper

MakeShipper = Callable[..., Shipper]
EMAIL, PHONE = "jane.doe@example.org", "+1-555-0100-77"


def sources(es: Elasticsearch, model: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    pattern = s.index_pattern("predictions", model)
    es.indices.refresh(index=pattern, ignore_unavailable=True)
    r = es.search(index=pattern, query={"ids": {"values": ids}}, size=len(ids))
    return {h["_id"]: h["_source"] for h in r["hits"]["hits"]}


class BadStr:
    """A key whose text cannot be made."""

    def __str__(self) -> str:
        raise ValueError("no text for you")

    __repr__ = __str__


class TestBadValues:
    def test_a_bad_value_loses_only_itself(
        self, es: Elasticsearch, make_shipper: MakeShipper, model: str
    ) -> None:
        """Case 6: a key whose str() raises, a 5,000-digit int, prediction=10**400, a pandas
        Series and Decimal('sNaN'): every record lands with its other values intact."""
        sh = make_shipper()
        pids = {
            "bad_key": sh.log_prediction({BadStr(): 1, "a": 2}, 0.5),
            "huge_int": sh.log_prediction({"big": 10**5000, "a": 2}, 0.5),
            "huge_prediction": sh.log_prediction({"a": 2}, 10**400),
            "series": sh.log_prediction({"s": pd.Series([1, 2, 3]), "a": 2}, 0.5),
            "snan": sh.log_prediction({"d": Decimal("sNaN"), "a": 2}, 0.5),
        }
        deliver_rest(es, model, sh, pids.values())
        docs = sources(es, model, list(pids.values()))
        for name, pid in pids.items():
            assert docs[pid][s.INPUTS].get("a") == 2, (name, docs[pid])
        flags = {name: docs[pid]["monitor"] for name, pid in pids.items()}
        for name in ("bad_key", "huge_int", "huge_prediction"):  # flagged, per docs/shipper.md
            assert flags[name]["unserializable"] >= 1, (name, flags[name])
        assert docs[pids["huge_prediction"]]["prediction"].get("value") is None
        assert docs[pids["series"]][s.INPUTS]["s"] == [1, 2, 3]
        assert flags["series"]["unserializable"] == 0
        assert docs[pids["snan"]][s.INPUTS].get("d") is None
        assert flags["snan"]["nonfinite"] == 1


class TestFeatureNames:
    def test_empty_and_colliding_names_keep_every_value(
        self, es: Elasticsearch, make_shipper: MakeShipper, model: str
    ) -> None:
        """Case 7: a feature named "" is stored as "(empty)" (not dead-lettered); {1: x, "1": y}
        keeps both, the second as "1 (2)" (the name rule of docs/shipper.md)."""
        sh = make_shipper()
        empty = sh.log_prediction({"": "empty-name", "b": 2}, 0.5)
        collide = sh.log_prediction({1: "int-key", "1": "str-key"}, 0.5)
        deliver_rest(es, model, sh, [empty, collide])
        docs = sources(es, model, [empty, collide])
        assert docs[empty][s.INPUTS] == {"(empty)": "empty-name", "b": 2}
        assert docs[collide][s.INPUTS] == {"1": "int-key", "1 (2)": "str-key"}


@pytest.fixture(scope="module")
def templates(es: Elasticsearch, es_config: ESConfig) -> None:
    """The index templates, as `predwatch setup` installs them (the generic field limit)."""
    setup_elasticsearch(es, es_config)


class TestFieldLimit:
    def test_fields_past_the_limit_are_kept_and_flagged(
        self, es: Elasticsearch, make_shipper: MakeShipper, model: str, templates: None
    ) -> None:
        """Case 8: a 5,000-feature record keeps every value (past the field cap under
        `unindexed.inputs`, counted in monitor.unindexed_count); 20 records with features
        first seen later are indexed (`exists` finds each)."""
        sh = make_shipper()
        wide = sh.log_prediction({f"f{i}": i for i in range(5000)}, 0.5)
        assert sh.flush(30)
        late = [sh.log_prediction({f"late_{k}": k}, 0.5) for k in range(20)]
        deliver_rest(es, model, sh, [wide, *late])
        docs = sources(es, model, [wide, *late])
        w = docs[wide]
        moved = w.get("unindexed", {}).get("inputs", {})
        assert {**w[s.INPUTS], **moved} == {f"f{i}": i for i in range(5000)}
        assert w["monitor"]["unindexed_count"] == len(moved) > 0
        pattern = s.index_pattern("predictions", model)
        for k, pid in enumerate(late):
            assert docs[pid][s.INPUTS] == {f"late_{k}": k}
            found = es.count(
                index=pattern,
                query={
                    "bool": {
                        "filter": [
                            {"ids": {"values": [pid]}},
                            {"exists": {"field": f"inputs.late_{k}"}},
                        ]
                    }
                },
            )["count"]
            assert found == 1, f"inputs.late_{k} is not indexed"


@pytest.fixture
def pii_shipper(make_shipper: MakeShipper) -> Shipper:
    return make_shipper(pii={"email": "drop", "phone": "hash"}, pii_key="faults-test-key")


def assert_no_plaintext(blobs: list[str | bytes]) -> None:
    for blob in blobs:
        text = blob if isinstance(blob, str) else blob.decode("utf-8", "replace")
        assert EMAIL not in text and PHONE not in text, text[:500]


def pii_features() -> list[Any]:
    """Feature containers that are not exactly a dict."""
    plain = {"email": EMAIL, "phone": PHONE, "x": 1}
    return [MappingProxyType(plain), pd.Series(plain)]


@pytest.fixture
def quiet_structlog() -> Iterator[Callable[[Shipper, list[str]], Any]]:
    """A structlog logger shipping through `ShipToElasticsearch`; ids go to `seen`."""

    def make(sh: Shipper, seen: list[str]) -> Any:
        def keep_id(_logger: Any, _name: str, event: Any) -> Any:
            seen.append(event["prediction_id"])
            return event

        return structlog.wrap_logger(
            structlog.PrintLogger(io.StringIO()),
            processors=[ShipToElasticsearch(sh), keep_id, structlog.processors.KeyValueRenderer()],
        )

    yield make


class TestPii:
    def test_pii_rules_on_both_front_ends_and_in_the_spool(
        self,
        es: Elasticsearch,
        proxy: FaultProxy,
        pii_shipper: Shipper,
        model: str,
        spool_root: Path,
        quiet_structlog: Callable[[Shipper, list[str]], Any],
    ) -> None:
        """Case 9: inputs and features as MappingProxyType / pandas Series, through the
        stdlib handler and the structlog processor, during an outage (spooled) and after:
        neither the spool nor Elasticsearch ever holds the plaintext e-mail or phone."""
        proxy.refuse()
        logger = logging.getLogger(f"faults.pii.{model}")
        logger.propagate = False
        handler = ElasticsearchHandler(pii_shipper)
        logger.addHandler(handler)
        pids: list[str] = []
        slog = quiet_structlog(pii_shipper, pids)
        try:
            for feats in pii_features():
                for inputs in (
                    MappingProxyType({"email": EMAIL, "phone": PHONE, "a": 1}),
                    {"email": EMAIL, "phone": PHONE, "a": 1},
                ):
                    rec = logging.LogRecord(
                        logger.name, logging.INFO, __file__, 0, "scored", None, None
                    )
                    rec.__dict__.update(inputs=inputs, features=feats, prediction=0.5)
                    logger.handle(rec)
                    pids.append(rec.prediction_id)
                    slog.info("scored", inputs=inputs, features=feats, prediction=0.5)
                    pids.append(pii_shipper.log_prediction(inputs, 0.5, features=feats))
        finally:
            logger.removeHandler(handler)
        assert not pii_shipper.flush(1)
        pii_shipper.close(0.5)  # whatever is in memory goes to the spool too
        on_disk = [p.read_bytes() for p in spool_root.rglob("*") if p.is_file()]
        assert on_disk, "the outage left nothing in the spool"
        assert_no_plaintext(on_disk)
        proxy.pass_through()
        # A new shipper adopts the closed one's spool and delivers it.
        with fast_shipper(model, ESConfig(url=proxy.url), spool_root) as again:
            deliver_rest(es, model, again, pids)
        docs = sources(es, model, pids)
        assert_no_plaintext([json.dumps(d) for d in docs.values()])
        for d in docs.values():
            assert d[s.INPUTS].get("a") == 1
