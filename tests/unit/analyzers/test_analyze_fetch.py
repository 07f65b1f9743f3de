"""Fetching aggregations, with a fake client: msearch layout, failures, composite paging,
mapping checks. (The same paths run against a real node in tests/integration/analyzers.)"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from predwatch import schema
from predwatch.analyzers import fetch, queries
from predwatch.analyzers.aggregates import CategoricalAggs, TextAggs, Window
from predwatch.config import ESConfig
from tests.helpers import analyze_samples as smp

CFG = ESConfig()
WINDOW = Window(smp.START, smp.END)


class FakeES:
    """Answers msearch from a queue of responses and records every search body."""

    def __init__(
        self,
        responses: list[dict[str, Any]],
        mapping: dict[str, Any] | None = None,
        indices: list[str] | None = None,
    ) -> None:
        self.responses = responses
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, Any]] = []
        self.resolved = {"indices": [{"name": i} for i in (indices or [])]}
        self.indices = SimpleNamespace(
            get_field_mapping=lambda **kw: SimpleNamespace(body=mapping or {}),
        )

    def perform_request(self, method: str, path: str, **_: Any) -> SimpleNamespace:
        assert (method, path.rsplit("/", 1)[0]) == ("GET", "/_resolve/index")
        return SimpleNamespace(body=self.resolved)

    def msearch(self, searches: list[dict[str, Any]], **kw: Any) -> SimpleNamespace:
        self.kw = kw
        self.headers += searches[0::2]
        # bodies go out as JSON text (fetch._encode); decoded here, so they must be valid
        bodies = [json.loads(b) if isinstance(b, str) else b for b in searches[1::2]]
        self.bodies += bodies
        out = [self.responses.pop(0) for _ in bodies]
        return SimpleNamespace(body={"responses": out})


def _page(pairs: list[tuple[str, float]], after: str | None) -> dict[str, Any]:
    agg: dict[str, Any] = {"buckets": [{"key": {"v": k}, "doc_count": c} for k, c in pairs]}
    if after:
        agg["after_key"] = {"v": after}
    return smp.response(0, {"values": agg})


class TestAggregate:
    def test_one_msearch_for_all_windows(self) -> None:
        """Current, reference and previous-latency bodies go out in one _msearch."""
        b = smp.baseline()
        specs = [fetch.WindowSpec(WINDOW), fetch.WindowSpec(WINDOW.previous(), latency_only=True)]
        latency = smp.response(
            5, {"latency": {"values": {"95.0": 3.0}}, "latency_stats": {"count": 5}}
        )
        es = FakeES([smp.feature_response(), smp.prediction_response(), latency])
        cur, prev = fetch.aggregate(es, CFG, b, specs)  # type: ignore[arg-type]
        assert len(es.bodies) == 3 and all(body["size"] == 0 for body in es.bodies)
        assert {tuple(h["index"]) for h in es.headers} == {("predwatch-predictions-m1-2026.03.01",)}
        assert cur.total == 1000 and prev.latency is not None
        assert prev.latency.percentiles["95"] == 3.0

    def test_incomplete_terms_are_paged(self) -> None:
        """When terms miss values, composite pages count them exactly, folded page by page."""
        b = smp.baseline()
        feats = smp.feature_response()
        feats["aggregations"]["f1_terms"] = smp.terms([("a", 480)], other=505)
        pages = [
            _page([("a", 480), ("b", 310)], "b"),
            _page([("c", 140), ("d", 30)], "d"),
            _page([("yy", 5), ("zz", 20)], "zz"),
            _page([], None),
        ]
        es = FakeES([feats, *pages])
        (agg,) = fetch.aggregate(es, CFG, b, [fetch.WindowSpec(WINDOW, predictions=False)])  # type: ignore[arg-type]
        cat = agg.features["user.Country code"]
        assert isinstance(cat, CategoricalAggs)
        assert dict(cat.top) == {"a": 480, "b": 310, "c": 140}
        assert (cat.other, cat.unseen, cat.missing) == (30, 25, 15)
        assert es.bodies[2]["aggs"]["values"]["composite"]["after"] == {"v": "b"}

    def test_paging_stops_at_the_cap(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Beyond MAX_COMPOSITE_PAGES the remaining values count as unseen, with a note."""
        monkeypatch.setattr(fetch, "MAX_COMPOSITE_PAGES", 2)
        first = CategoricalAggs({"a": 0, "b": 0, "c": 0}, 0, 100, 100, 0)
        es = FakeES([_page([("a", 10)], "a"), _page([("b", 20)], "b")])
        cat = fetch.page_categories(es, CFG, smp.baseline(), WINDOW, "user.Country code", first)  # type: ignore[arg-type]
        assert cat.unseen == 70 and "distinct values" in cat.note and cat.n == 100

    def test_inexact_oov_terms_are_paged(self) -> None:
        """Top OOV terms the terms error bounds cannot prove exact are recounted by paging."""
        b = smp.baseline()
        feats = smp.feature_response()
        name = next(k for k in feats["aggregations"] if k.endswith("_oovterms"))
        buckets = [
            {"key": f"t{i}", "doc_count": 50, "doc_count_error_upper_bound": 0} for i in range(10)
        ]
        feats["aggregations"][name] = {"doc_count_error_upper_bound": 60, "buckets": buckets}
        pages = [
            _page([("missed", 70), ("t0", 50)], "t0"),
            _page([(f"t{i}", 50) for i in range(1, 10)] + [("u", 3)], "u"),
            _page([], None),
        ]
        es = FakeES([feats, *pages])
        (agg,) = fetch.aggregate(es, CFG, b, [fetch.WindowSpec(WINDOW, predictions=False)])  # type: ignore[arg-type]
        text = agg.features["comment"]
        assert isinstance(text, TextAggs)
        assert text.oov_terms[0] == ("missed", 70)
        assert [t for t, _ in text.oov_terms[1:]] == [f"t{i}" for i in range(9)]
        assert es.bodies[1]["aggs"]["values"]["composite"]["sources"][0]["v"]["terms"][
            "field"
        ] == schema.text_field("comment", schema.TEXT_OOV_TERMS)


class TestCompositeBody:
    def test_composite_body_is_size_zero(self) -> None:
        """Composite paging asks for buckets only."""
        body = queries.composite_body("inputs.c", WINDOW, None)
        assert body["size"] == 0 and "after" not in body["aggs"]["values"]["composite"]


class TestEncode:
    def test_bodies_are_the_same_json_and_a_shared_tree_is_encoded_once(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Each body goes out as compact JSON equal to the body; an aggregation tree shared
        by several bodies is encoded once; numpy numbers are encoded as the client does."""
        import numpy as np

        calls: list[Any] = []
        plain = fetch._json

        def spy(value: Any) -> str:
            calls.append(value)
            return plain(value)

        monkeypatch.setattr(fetch, "_json", spy)
        aggs = {"h": {"range": {"field": "x", "ranges": [{"from": np.float64(0.5), "to": 1}]}}}
        bodies: list[dict[str, Any]] = [
            {"size": 0, "query": {"term": {"k": f"é{i}"}}, "aggs": aggs} for i in range(3)
        ]
        bodies += [{"size": 0, "track_total_hits": np.int64(7)}, {"aggs": {"n": {}}}]
        encoded: dict[int, str] = {}
        out = [fetch._encode(b, encoded) for b in bodies]
        decoded = [json.loads(o) for o in out]
        assert decoded[:3] == [json.loads(json.dumps(b, default=float)) for b in bodies[:3]]
        assert decoded[3] == {"size": 0, "track_total_hits": 7} and decoded[4] == {
            "aggs": {"n": {}}
        }
        assert sum(c is aggs for c in calls) == 1 and " " not in out[0] and "é0" in out[0]


class TestFailures:
    def test_refused_search(self) -> None:
        """A per-search error becomes AggregationFailed with the root cause."""
        err = {
            "error": {
                "root_cause": [{"reason": "Field [x] of type [keyword] is not supported"}],
                "reason": "all shards failed",
            }
        }
        with pytest.raises(fetch.AggregationFailed, match="not supported"):
            fetch.msearch(FakeES([err]), CFG, "i", [{"size": 0}])  # type: ignore[arg-type]

    def test_shard_failure(self) -> None:
        """Partial shard failures are not silently ignored."""
        resp = smp.response(1, {})
        resp["_shards"] = {"failed": 1, "failures": [{"reason": {"reason": "boom"}}]}
        with pytest.raises(fetch.AggregationFailed, match="boom"):
            fetch.msearch(FakeES([resp]), CFG, "i", [{"size": 0}])  # type: ignore[arg-type]

    def test_failure_in_one_of_several_index_lists(self) -> None:
        """Each body on its own indices; a failure names the list it was searched on."""
        ok, err = smp.response(1, {}), {"error": {"reason": "boom"}}
        es = FakeES([ok, err])
        lists = [["a-2026.03.10"], ["a-2026.03.*", "a-2026.04.01"]]
        with pytest.raises(fetch.AggregationFailed, match=r"a-2026.03.\* .. a-2026.04.01 \(2"):
            fetch.msearch(es, CFG, lists, [{"size": 0}, {"size": 0}])  # type: ignore[arg-type]
        assert [h["index"] for h in es.headers] == lists

    def test_filter_path_keeps_the_failure_fields(self) -> None:
        """The caller's paths go under `responses.`, with the fields failures are read from."""
        es = FakeES([smp.response(1, {})])
        fetch.msearch(es, CFG, "i", [{"size": 0}], filter_path=["aggregations.**.key"])  # type: ignore[arg-type]
        paths = es.kw["filter_path"]
        assert "responses.aggregations.**.key" in paths and "responses.error" in paths
        assert "responses._shards.failures" in paths
        with pytest.raises(ValueError, match="2 bodies but 1 index lists"):
            fetch.msearch(es, CFG, [["i"]], [{"size": 0}, {"size": 0}])  # type: ignore[arg-type]

    def test_never_asks_for_documents(self) -> None:
        """A body with a non-zero size is refused before it is sent."""
        with pytest.raises(ValueError, match="size must be 0"):
            fetch.msearch(FakeES([]), CFG, "i", [{"size": 10}])  # type: ignore[arg-type]

    def test_unknown_model(self) -> None:
        """No prediction index: UnknownModel, exit code 2."""
        with pytest.raises(fetch.UnknownModel, match="no predictions indices") as info:
            fetch.require_model(FakeES([]), CFG, "m1")  # type: ignore[arg-type]
        assert info.value.exit_code == 2
        assert fetch.require_model(FakeES([], indices=["x"]), CFG, "m1") == ["x"]  # type: ignore[arg-type]

    def test_mapping_mismatch(self) -> None:
        """A numeric baseline feature mapped as keyword is a clear mismatch error."""
        mapping = {
            "predwatch-predictions-m1-2026.03.01": {
                "mappings": {
                    "inputs.age": {
                        "full_name": "inputs.age",
                        "mapping": {"age": {"type": "keyword"}},
                    },
                    "inputs.user.Country code": {"mapping": {"x": {"type": "keyword"}}},
                }
            }
        }
        with pytest.raises(fetch.MappingMismatch, match=r"'age' is numeric.*keyword"):
            fetch.check_mapping(FakeES([], mapping), CFG, smp.baseline())  # type: ignore[arg-type]
        ok = {"i": {"mappings": {"inputs.age": {"mapping": {"age": {"type": "double"}}}}}}
        fetch.check_mapping(FakeES([], ok), CFG, smp.baseline())  # type: ignore[arg-type]
