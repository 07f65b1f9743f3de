"""Unit tests of the baseline annotations."""

from __future__ import annotations

from typing import Any

from predwatch import schema as s
from predwatch.shipper._enrich import Annotator


def monitor(baseline: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    Annotator(baseline).annotate(inputs, out)
    return out


def m(group: str) -> str:
    return group.split(".", 1)[1]


class TestAnnotator:
    def test_all_known(self, baseline: Any) -> None:
        """Known values: every flag 0, counts 0, baseline id set."""
        out = monitor(baseline, {"age": 41, "marital_status": "married", "comment": "good service"})
        assert out[m(s.MISSING)] == {"age": 0, "marital_status": 0, "comment": 0}
        assert out[m(s.OOV)] == {"marital_status": 0}
        assert out[m(s.OUT_OF_RANGE)] == {"age": 0}
        assert out[m(s.UNSEEN)] == {}
        assert out[m(s.MISSING_COUNT)] == 0 and out[m(s.OOV_COUNT)] == 0
        assert out[m(s.BASELINE)] == "credit@3.1.0"
        text = out[m(s.TEXT)]
        assert text["comment.tokens"] == 2 and text["comment.oov_tokens"] == 0
        assert text["comment.oov_rate"] == 0.0 and "comment.oov_terms" not in text

    def test_missing(self, baseline: Any) -> None:
        """Absent, None and empty values are missing and counted."""
        out = monitor(baseline, {"age": None, "marital_status": ""})
        assert out[m(s.MISSING)] == {"age": 1, "marital_status": 1, "comment": 1}
        assert out[m(s.MISSING_COUNT)] == 3
        assert out[m(s.TEXT)]["comment.tokens"] == 0

    def test_oov_and_unseen(self, baseline: Any) -> None:
        """An unseen category is flagged and its value kept."""
        out = monitor(baseline, {"age": 41, "marital_status": "widowed", "comment": "x"})
        assert out[m(s.OOV)] == {"marital_status": 1}
        assert out[m(s.UNSEEN)] == {"marital_status": "widowed"}
        assert out[m(s.OOV_COUNT)] == 1

    def test_category_key_rule(self, baseline: Any) -> None:
        """Categorical values are compared by baseline.category_key (bools, integral floats)."""
        out = monitor(baseline, {"marital_status": True})
        assert out[m(s.UNSEEN)] == {"marital_status": "true"}

    def test_out_of_range(self, baseline: Any) -> None:
        """Numbers outside the training [min, max] are flagged; bounds are inside."""
        assert monitor(baseline, {"age": 91})[m(s.OUT_OF_RANGE)] == {"age": 1}
        assert monitor(baseline, {"age": 17.9})[m(s.OUT_OF_RANGE)] == {"age": 1}
        assert monitor(baseline, {"age": 18})[m(s.OUT_OF_RANGE)] == {"age": 0}
        assert monitor(baseline, {"age": "90"})[m(s.OUT_OF_RANGE)] == {"age": 0}

    def test_non_number_in_numeric_is_missing(self, baseline: Any) -> None:
        """A numeric feature holding text that is not a number counts as missing."""
        out = monitor(baseline, {"age": "forty"})
        assert out[m(s.MISSING)]["age"] == 1 and out[m(s.OUT_OF_RANGE)]["age"] == 0

    def test_text_oov(self, baseline: Any) -> None:
        """Text tokens outside the vocabulary are counted and the distinct words listed."""
        out = monitor(baseline, {"comment": "Good zzz service zzz qqq"})
        text = out[m(s.TEXT)]
        assert text["comment.tokens"] == 5
        assert text["comment.oov_tokens"] == 3
        assert text["comment.oov_rate"] == 0.6
        assert text["comment.oov_terms"] == ["zzz", "qqq"]

    def test_unknown_inputs_ignored(self, baseline: Any) -> None:
        """Inputs the baseline does not know get no annotation."""
        out = monitor(baseline, {"extra": 1})
        assert "extra" not in out[m(s.MISSING)]
