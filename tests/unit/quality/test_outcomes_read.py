"""Reading outcome files and turning rows into outcome documents (no server)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predwatch.analyzers import outcomes as oc


class TestReadRows:
    def test_csv_in_chunks(self, tmp_path: Path) -> None:
        """A CSV is streamed in chunks; ids stay text (leading zeros kept)."""
        p = tmp_path / "o.csv"
        pd.DataFrame({"prediction_id": ["007", "008", "009"], "actual": [1, 0, 1]}).to_csv(
            p, index=False
        )
        chunks = list(oc.read_rows(p, oc.Columns(), chunk_rows=2))
        assert [len(c) for c in chunks] == [2, 1]
        assert chunks[0][0] == ("007", 1, None)

    def test_parquet_with_timestamps(self, tmp_path: Path) -> None:
        """Parquet batches carry the timestamp column as datetimes."""
        p = tmp_path / "o.parquet"
        t = pd.Timestamp("2025-03-01T12:00:00Z")
        pd.DataFrame({"id": ["a"], "y": ["spam"], "at": [t]}).to_parquet(p)
        rows = [r for c in oc.read_rows(p, oc.Columns("id", "y", "at")) for r in c]
        assert rows[0][:2] == ("a", "spam")
        assert oc.epoch_seconds(rows[0][2], 0.0) == t.timestamp()

    def test_missing_column(self, tmp_path: Path) -> None:
        """A missing column is named with the columns the file has."""
        p = tmp_path / "o.csv"
        p.write_text("id,label\n1,0\n")
        with pytest.raises(oc.OutcomeFileError, match=r"no column 'prediction_id'.*id, label"):
            next(oc.read_rows(p, oc.Columns()))

    def test_unknown_format_and_missing_file(self, tmp_path: Path) -> None:
        """Unknown extensions need --format; a missing file is named."""
        with pytest.raises(oc.OutcomeFileError, match="--format"):
            next(oc.read_rows(tmp_path / "o.xlsx", oc.Columns()))
        with pytest.raises(oc.OutcomeFileError, match="does not exist"):
            next(oc.read_rows(tmp_path / "o.csv", oc.Columns()))


class TestOutcomeFields:
    @pytest.mark.parametrize(
        ("actual", "fields"),
        [
            (1, {"value": 1.0, "label": "1"}),
            (np.int64(0), {"value": 0.0, "label": "0"}),
            (1.0, {"value": 1.0, "label": "1"}),
            (2.5, {"value": 2.5}),
            (True, {"value": 1.0, "label": "true"}),
            ("spam", {"label": "spam"}),
            (None, None),
            (float("nan"), None),
            ("", None),
        ],
    )
    def test_like_the_shipper(self, actual: object, fields: dict[str, object] | None) -> None:
        """The same value/label the shipper's log_outcome writes."""
        assert oc.outcome_fields(actual) == fields


class TestEpochSeconds:
    def test_forms(self) -> None:
        """ISO text, epoch seconds or milliseconds, datetimes; missing means now."""
        t = dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC).timestamp()
        assert oc.epoch_seconds("2025-03-01T12:00:00Z", 0.0) == t
        assert oc.epoch_seconds("2025-03-01T12:00:00", 0.0) == t  # naive is UTC
        assert oc.epoch_seconds(t, 0.0) == t
        assert oc.epoch_seconds(t * 1000, 0.0) == t
        assert oc.epoch_seconds(None, 42.0) == 42.0
        assert oc.epoch_seconds(pd.NaT, 42.0) == 42.0

    def test_unreadable(self) -> None:
        """Text that is no time is refused (the row is skipped and counted)."""
        assert oc.epoch_seconds("yesterday", 0.0) is None


class TestDocId:
    def test_long_ids_are_hashed(self) -> None:
        """Ids over Elasticsearch's 512-byte limit become their SHA-256, like the shipper."""
        assert oc.doc_id("abc") == "abc"
        assert len(oc.doc_id("x" * 600)) == 64


class TestCsvValue:
    @pytest.mark.parametrize(
        ("text", "value"),
        [("1", 1), ("2.5", 2.5), ("True", True), ("false", False), ("", None), ("NA", None),
         ("spam", "spam"), ("007x", "007x")],
    )  # fmt: skip
    def test_typed_per_value(self, text: str, value: object) -> None:
        """CSV cells are typed one by one, so chunks never disagree about a value's type."""
        assert oc.csv_value(text) == value
        assert type(oc.csv_value(text)) is type(value)
