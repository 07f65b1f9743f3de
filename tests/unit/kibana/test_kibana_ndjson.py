"""NDJSON dump and load."""

from __future__ import annotations

from pathlib import Path

import pytest

from predwatch.kibana import ndjson
from predwatch.kibana.context import KibanaError

OBJ = {"type": "index-pattern", "id": "x", "attributes": {"title": "ü-*"}, "references": []}


class TestNdjson:
    def test_round_trip_through_a_file(self, tmp_path: Path) -> None:
        """Objects written and read back are equal; one line each, UTF-8 kept."""
        path = ndjson.write(tmp_path / "sub" / "o.ndjson", [OBJ, {**OBJ, "id": "y"}])
        text = path.read_text(encoding="utf-8")
        assert text.count("\n") == 2 and "ü-*" in text
        assert ndjson.read(path) == [OBJ, {**OBJ, "id": "y"}]

    def test_keys_are_sorted(self) -> None:
        """Sorted keys keep regenerated files diff-friendly."""
        assert ndjson.dumps([OBJ]).startswith('{"attributes"')

    def test_export_summary_line_is_skipped(self) -> None:
        """The summary Kibana's export appends is not a saved object."""
        text = ndjson.dumps([OBJ]) + '{"exportedCount":1,"missingRefCount":0}\n'
        assert ndjson.loads(text) == [OBJ]

    def test_bad_line_names_its_number(self) -> None:
        """A broken line is reported with its line number."""
        with pytest.raises(KibanaError, match="line 2 is not JSON"):
            ndjson.loads(ndjson.dumps([OBJ]) + "{nope\n")

    def test_non_object_is_refused(self) -> None:
        """A line without type/id/attributes is not a saved object."""
        with pytest.raises(KibanaError, match="no 'type'"):
            ndjson.loads('{"id": "x", "attributes": {}}')

    def test_missing_file(self, tmp_path: Path) -> None:
        """A missing file is one clear error."""
        with pytest.raises(KibanaError, match="does not exist"):
            ndjson.read(tmp_path / "nope.ndjson")
