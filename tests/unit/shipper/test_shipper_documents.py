"""Unit tests of document building and bulk lines."""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np
import pytest

from predwatch import schema as s
from predwatch.shipper._documents import OUTCOME, PREDICTION, DocBuilder
from predwatch.shipper._enrich import Annotator

T = 1_700_000_000.25  # 2023-11-14T22:13:20.250Z


def builder(baseline: Any = None, **kw: Any) -> DocBuilder:
    return DocBuilder(
        model="credit",
        model_version="3.1.0",
        annotator=Annotator(baseline) if baseline else None,
        **kw,
    )


def rec(inputs: Any = None, prediction: Any = None, **kw: Any) -> Any:
    return (
        PREDICTION,
        kw.get("pid", "p1"),
        T,
        kw.get("ts"),
        inputs,
        prediction,
        kw.get("latency"),
        kw.get("extra"),
    )


def pred(p: Any, baseline: Any = None) -> dict[str, Any]:
    doc: dict[str, Any] = builder(baseline).prediction(rec({}, p))[2]
    return doc.get("prediction", {})


class TestPredictionDocument:
    def test_fields_and_index(self, baseline: Any) -> None:
        """The document has the schema's fields; index and _id follow time and id."""
        b = builder(baseline, service={"name": "api", "environment": "prod"})
        index, doc_id, doc = b.prediction(rec({"age": 41}, 0.83, latency=12.5))
        assert index == "predwatch-predictions-credit-2023.11.14"
        assert doc_id == "p1"
        assert doc[s.TIMESTAMP] == "2023-11-14T22:13:20.250Z"
        assert s.get_path(doc, s.MODEL_NAME) == "credit"
        assert s.get_path(doc, s.MODEL_VERSION) == "3.1.0"
        assert s.get_path(doc, s.SERVICE_NAME) == "api"
        assert s.get_path(doc, s.HOST_NAME)
        assert s.get_path(doc, s.PROCESS_PID) == os.getpid()
        assert doc[s.INPUTS] == {"age": 41}
        assert s.get_path(doc, s.PREDICTION_VALUE) == 0.83
        assert doc[s.LATENCY_MS] == 12.5
        assert s.get_path(doc, s.NONFINITE) == 0 and s.get_path(doc, s.TRUNCATED) == 0
        assert s.get_path(doc, s.BASELINE) == "credit@3.1.0"

    def test_dotted_feature_names_stay_flat(self) -> None:
        """Feature names with dots stay flat keys inside `inputs`."""
        doc = builder().prediction(rec({"user.age": 41}))[2]
        assert doc["inputs"] == {"user.age": 41}

    def test_event_time_decides_index(self) -> None:
        """The caller's timestamp sets @timestamp and the daily index."""
        index, _, doc = builder().prediction(rec({}, ts="2024-02-29T23:59:59Z"))
        assert index.endswith("2024.02.29") and doc["@timestamp"] == "2024-02-29T23:59:59.000Z"

    def test_without_baseline_unannotated(self) -> None:
        """Without a baseline only the serialisation flags are written."""
        doc = builder().prediction(rec({"age": math.nan}))[2]
        assert doc["monitor"] == {
            "nonfinite": 1,
            "truncated": 0,
            "unserializable": 0,
            "unindexed_count": 0,
        }
        assert doc["inputs"] == {"age": None}

    def test_non_mapping_inputs_flagged(self) -> None:
        """Inputs that are not a mapping ship as one value, flagged."""
        doc = builder().prediction(rec([1, 2, 3]))[2]
        assert doc["inputs"] == {"_value": [1, 2, 3]}
        assert doc["monitor"]["truncated"] == 1

    def test_extra_fields(self) -> None:
        """features, labels, per-call model_version and log fields land where expected."""
        extra = {
            "features": {"f": 1},
            "labels": {"ab": "b"},
            "model_version": "4",
            "msg": "scored %s",
            "args": ("x",),
            "logger": "predictions",
            "level": "INFO",
        }
        doc = builder().prediction(rec({}, extra=extra))[2]
        assert doc[s.FEATURES] == {"f": 1}
        assert doc["labels"] == {"ab": "b"}
        assert s.get_path(doc, s.MODEL_VERSION) == "4"
        assert doc["message"] == "scored x"
        assert doc["log"] == {"logger": "predictions", "level": "INFO"}

    def test_bad_message_format(self) -> None:
        """A message whose arguments do not fit is shipped as text, not raised."""
        doc = builder().prediction(rec({}, extra={"msg": "%d", "args": ("x",)}))[2]
        assert "%d" in doc["message"]

    def test_long_id_hashed(self) -> None:
        """Ids over 512 bytes use their SHA-256 as _id."""
        _, doc_id, doc = builder().prediction(rec({}, pid="x" * 600))
        assert len(doc_id) == 64 and doc["prediction_id"].startswith("xxx")

    def test_encode_lines(self) -> None:
        """encode gives a create action and the document, newline terminated."""
        data = builder().encode(rec({"a": 1}, 0.5))
        action, source, end = data.split(b"\n")
        assert end == b""
        assert json.loads(action) == {
            "create": {"_index": "predwatch-predictions-credit-2023.11.14", "_id": "p1"}
        }
        assert json.loads(source)["inputs"] == {"a": 1}


class TestPredictionShapes:
    def test_number_label_bool(self) -> None:
        """Numbers are values; strings and bools are labels."""
        assert pred(0.5) == {"value": 0.5}
        assert pred(np.float64(0.5)) == {"value": 0.5}
        assert pred("yes") == {"label": "yes"}
        assert pred(True) == {"label": "true"}

    def test_int_label_with_classification_baseline(self, baseline: Any) -> None:
        """An int that is one of the baseline's classes is a label."""
        assert pred(1, baseline) == {"label": "1"}
        assert pred(1) == {"value": 1.0}

    def test_scores(self) -> None:
        """A dict of class scores gives scores, the top label and the positive score."""
        assert pred({"no": 0.2, "yes": 0.8}) == {
            "scores": {"no": 0.2, "yes": 0.8},
            "label": "yes",
            "value": 0.8,
        }
        three = pred({"a": 0.5, "b": 0.2, "c": 0.3})
        assert three["label"] == "a" and three["value"] == 0.5

    def test_array_scores_use_classes(self, baseline: Any) -> None:
        """An array of scores is keyed by the baseline's classes when lengths agree."""
        out = pred(np.array([[0.3, 0.7]]), baseline)
        assert out["scores"] == {"0": 0.3, "1": 0.7} and out["label"] == "1"
        assert pred(np.array([0.3, 0.3, 0.4]))["scores"] == {"0": 0.3, "1": 0.3, "2": 0.4}
        assert pred([0.9]) == {"value": 0.9}

    def test_explicit(self) -> None:
        """A dict of value/label/scores is taken as given."""
        assert pred({"value": 0.1, "label": "a"}) == {"value": 0.1, "label": "a"}

    def test_nonfinite_prediction(self) -> None:
        """A NaN prediction is stored as null and flagged."""
        doc = builder().prediction(rec({}, math.nan))[2]
        assert doc["prediction"] == {"value": None}
        assert doc["monitor"]["nonfinite"] == 1


class TestOutcome:
    @pytest.mark.parametrize(
        ("actual", "expected"),
        [
            (1, {"value": 1.0, "label": "1"}),
            (0.5, {"value": 0.5}),
            ("yes", {"label": "yes"}),
            (True, {"value": 1.0, "label": "true"}),
            (None, {}),
        ],
    )
    def test_outcome_document(self, actual: Any, expected: dict[str, Any]) -> None:
        """Outcomes go to the daily outcomes index, keyed by prediction_id."""
        r = (OUTCOME, "p1", T, None, None, actual, None, None)
        index, doc_id, doc = builder().outcome(r)
        assert index == "predwatch-outcomes-credit-2023.11.14" and doc_id == "p1"
        assert doc["outcome"] == expected
        assert doc["model"] == {"name": "credit", "version": "3.1.0"}
        assert doc["prediction_id"] == "p1"


class BadStr:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class TestBadValues:
    def test_top_level_key_without_text(self) -> None:
        """A top-level key whose __str__ raises loses only its name, not the document."""
        doc = builder().prediction(rec({BadStr(): 1, "age": 41}, 0.5))[2]
        assert doc["inputs"] == {"(unnamed BadStr)": 1, "age": 41}
        assert doc["monitor"]["unserializable"] == 1
        json.loads(builder().encode(rec({BadStr(): 1}, 0.5)).split(b"\n")[1])

    def test_huge_prediction_flagged(self) -> None:
        """prediction=10**400 is no value (null), counted; the inputs stay as they are."""
        doc = builder().prediction(rec({"age": 41}, 10**400))[2]
        assert doc["prediction"] == {"value": None}
        assert doc["inputs"] == {"age": 41}
        assert doc["monitor"]["unserializable"] == 1 and doc["monitor"]["truncated"] == 0

    def test_int_over_4300_digits_in_inputs(self) -> None:
        """An input int Python cannot print still gives a document with the other inputs."""
        data = builder().encode(rec({"huge": 10**5000, "age": 41}, 0.5))
        doc = json.loads(data.split(b"\n")[1])
        assert doc["inputs"] == {"huge": "<unserializable int>", "age": 41}
        assert doc["monitor"]["unserializable"] == 1

    def test_odd_logger_and_version(self) -> None:
        """A structlog `logger` object or a model_version without text cannot fail the document."""
        extra = {"logger": object(), "level": "info", "model_version": BadStr(), "msg": "x"}
        data = builder().encode(rec({"a": 1}, 0.5, extra=extra))
        doc = json.loads(data.split(b"\n")[1])
        assert doc["log"]["logger"].startswith("<object")
        assert s.get_path(doc, s.MODEL_VERSION) == "3.1.0"
        assert doc["monitor"]["unserializable"] == 2


class TestFieldCap:
    def test_keys_past_the_cap_unindexed(self) -> None:
        """Free-form keys past the cap move to unindexed.<group>, counted."""
        inputs = {f"f{i}": i for i in range(10)}
        extra = {"features": {"g": 1, "h": 2}, "labels": {"l": "x"}}
        doc = builder(field_cap=8).prediction(rec(inputs, 0.5, extra=extra))[2]
        assert doc["inputs"] == {f"f{i}": i for i in range(8)}
        assert doc[s.UNINDEXED] == {
            "inputs": {"f8": 8, "f9": 9},
            "features": {"g": 1, "h": 2},
            "labels": {"l": "x"},
        }
        assert s.get_path(doc, s.UNINDEXED_COUNT) == 5

    def test_baseline_features_never_moved(self, baseline: Any) -> None:
        """Features the baseline names are mapped already: always indexed, never counted."""
        inputs = {"x1": 1, "age": 41, "x2": 2, "marital_status": "single"}
        doc = builder(baseline, field_cap=1).prediction(rec(inputs, 0.5))[2]
        assert doc["inputs"] == {"x1": 1, "age": 41, "marital_status": "single"}
        assert doc[s.UNINDEXED] == {"inputs": {"x2": 2}}
        assert s.get_path(doc, s.UNINDEXED_COUNT) == 1

    def test_nested_values_cost_their_leaves(self) -> None:
        """A nested mapping costs one field per leaf."""
        inputs = {"a": 1, "wide": {f"k{i}": i for i in range(5)}, "b": 2}
        doc = builder(field_cap=3).prediction(rec(inputs, 0.5))[2]
        assert doc["inputs"] == {"a": 1, "b": 2}
        assert list(doc[s.UNINDEXED]["inputs"]) == ["wide"]

    def test_default_cap_from_the_template_limit(self) -> None:
        """Without a cap nothing moves; the Shipper's cap derives from the fields limit."""
        from predwatch import mappings

        doc = builder().prediction(rec({f"f{i}": i for i in range(5000)}, 0.5))[2]
        assert len(doc["inputs"]) == 5000 and s.UNINDEXED not in doc
        cap = mappings.extra_fields_cap(1000)
        assert 0 < cap < 1000 - mappings.count_fields(mappings.prediction_common_mapping())
        assert mappings.extra_fields_cap(2000) > cap

    def test_same_builder_later_documents(self) -> None:
        """Names remembered from earlier documents do not skip the rule or the cap later."""
        b = builder(field_cap=3)
        b.prediction(rec({"a": 1, "b": 2}, 0.5))
        doc = b.prediction(rec({"a": 1, "": 2, 1: 3, "1": 4}, 0.5))[2]
        assert doc["inputs"] == {"a": 1, "(empty)": 2, "1": 3}
        assert doc[s.UNINDEXED] == {"inputs": {"1 (2)": 4}}
        doc = b.prediction(rec({"a": {"x": 1, "y": 2}, "b": [{"p": 1}, {"q": 2}]}, 0.5))[2]
        assert doc["inputs"] == {"a": {"x": 1, "y": 2}}
        assert s.get_path(doc, s.UNINDEXED_COUNT) == 1

    def test_labels_and_version_that_refuse_bool(self) -> None:
        """Labels or a model_version that refuse bool() (arrays) cannot fail the document."""
        extra = {"labels": np.array([1, 2]), "model_version": np.array([3, 4]), "features": None}
        data = builder().encode(rec({"a": 1}, 0.5, extra=extra))
        doc = json.loads(data.split(b"\n")[1])
        assert doc["labels"] == {"_value": [1, 2]} and doc["inputs"] == {"a": 1}
        assert s.get_path(doc, s.MODEL_VERSION) == "[3, 4]"
