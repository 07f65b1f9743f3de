"""Unit tests of predwatch.testing: the in-memory sink users test their own logging with."""

from __future__ import annotations

import logging
from typing import Any

from predwatch import schema as s
from predwatch.shipper import ElasticsearchHandler, ShipToElasticsearch
from predwatch.testing import MemorySink, capture_shipper


class TestCaptureShipper:
    def test_documents_land_in_memory(self, baseline: Any) -> None:
        """log_prediction's documents are built and annotated as on the real path."""
        with capture_shipper(model="credit", baseline=baseline, model_version=None) as cap:
            pid = cap.shipper.log_prediction(
                {"age": 120, "marital_status": "widowed"}, "1", latency_ms=3.5
            )
            cap.shipper.log_outcome(pid, actual="0")
        (doc,) = cap.predictions
        assert doc[s.PREDICTION_ID] == pid
        assert s.get_path(doc, s.MODEL_VERSION) == "3.1.0"  # from the baseline
        assert s.get_path(doc, s.PROCESS_PID)
        assert doc["monitor"]["oov"]["marital_status"] == 1
        assert doc["monitor"]["out_of_range"]["age"] == 1
        assert doc["monitor"]["baseline"] == "credit@3.1.0"
        (outcome,) = cap.outcomes
        assert outcome[s.PREDICTION_ID] == pid
        assert cap.shipper.stats()["accounting"]["balanced"]

    def test_pii_rules_apply(self) -> None:
        """PII rules run before the sink sees anything."""
        with capture_shipper(pii={"email": "drop", "phone": "hash"}, pii_key="k") as cap:
            cap.shipper.log_prediction({"email": "a@b.c", "phone": "555", "age": 3}, 0.1)
        (doc,) = cap.predictions
        assert "email" not in doc["inputs"]
        assert doc["inputs"]["phone"] != "555" and doc["inputs"]["age"] == 3

    def test_both_front_ends(self) -> None:
        """The logging handler and the structlog processor ship into the capture."""
        with capture_shipper() as cap:
            log = logging.getLogger("test.capture")
            log.propagate = False
            handler = ElasticsearchHandler(cap.shipper)
            log.addHandler(handler)
            try:
                log.warning("scored %s", "x", extra={"inputs": {"a": 1}, "prediction": 0.5})
            finally:
                log.removeHandler(handler)
            proc = ShipToElasticsearch(cap.shipper)
            ev = proc(None, "info", {"event": "scored", "inputs": {"a": 2}})
            cap.flush()
            messages = sorted(d["message"] for d in cap.predictions)
            assert messages == ["scored", "scored x"]
            assert ev["prediction_id"] in {d[s.PREDICTION_ID] for d in cap.predictions}

    def test_flush_inside_the_block(self) -> None:
        """flush() makes what was logged so far readable before the block ends."""
        with capture_shipper() as cap:
            cap.shipper.log_prediction({"a": 1}, 0.5)
            cap.flush()
            assert len(cap.predictions) == 1
            cap.shipper.log_prediction({"a": 2}, 0.5)
        assert len(cap.predictions) == 2

    def test_closed_after_the_block(self) -> None:
        """Leaving the block closes the shipper (later calls are counted as dropped)."""
        with capture_shipper() as cap:
            pass
        cap.shipper.log_prediction({"a": 1}, 0.5)
        assert cap.shipper.stats()["dropped"] == {"closed": 1}


class TestMemorySink:
    def test_duplicates_answer_409(self) -> None:
        """A repeated (index, _id) is a 409 and is stored once, like op_type=create."""
        sink = MemorySink()
        body = b'{"create":{"_index":"predwatch-predictions-m-2026.12.05","_id":"1"}}\n{"a":1}\n'
        assert [r.status for r in sink.bulk(body * 2, 2)] == [201, 409]
        assert sink.documents() == [{"a": 1}]
        assert sink.indices() == ["predwatch-predictions-m-2026.12.05"]
