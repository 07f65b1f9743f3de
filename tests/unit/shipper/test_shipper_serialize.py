"""Unit tests of value cleaning, timestamps and encoding."""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
import uuid
from collections import deque
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as hs

from predwatch import schema as s
from predwatch.shipper._serialize import Flags, IsoClock, Limits, clean, dumps, to_epoch

LIM = Limits(max_string=10, max_items=5, max_depth=4)


def c(v: Any, lim: Limits = LIM) -> tuple[Any, Flags]:
    fl = Flags()
    return clean(v, fl, lim), fl


class Color(enum.Enum):
    RED = "red"


class Weird:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class TestClean:
    def test_plain_values_pass(self) -> None:
        """Plain JSON values come back as they are, without flags."""
        v, fl = c({"a": 1, "b": "x", "c": None, "d": 1.5, "e": True, "f": [1, 2]}, Limits())
        assert v == {"a": 1, "b": "x", "c": None, "d": 1.5, "e": True, "f": [1, 2]}
        assert not fl.nonfinite and not fl.truncated

    def test_nonfinite_becomes_null(self) -> None:
        """NaN and infinities (float, numpy, Decimal) become null and set the flag."""
        for bad in (math.nan, math.inf, -math.inf, np.float32("nan"), Decimal("NaN")):
            v, fl = c(bad)
            assert v is None and fl.nonfinite

    def test_numpy(self) -> None:
        """numpy scalars become Python numbers and arrays lists (capped and flagged)."""
        assert c(np.int64(3))[0] == 3 and type(c(np.int64(3))[0]) is int
        assert c(np.float32(1.5))[0] == 1.5
        assert c(np.bool_(True))[0] is True
        assert c(np.arange(3))[0] == [0, 1, 2]
        v, fl = c(np.arange(100).reshape(10, 10))
        assert v == [0, 1, 2, 3, 4] and fl.truncated
        assert c(np.array([1.0, np.nan]))[0] == [1.0, None]

    def test_pandas(self) -> None:
        """pandas NA/NaT become null; Timestamps become ISO text."""
        assert c(pd.NA)[0] is None
        assert c(pd.NaT)[0] is None
        assert c(pd.Timestamp("2024-01-02T03:04:05"))[0] == "2024-01-02T03:04:05"

    def test_other_types(self) -> None:
        """datetimes, Decimal, bytes, sets, UUID, Enum, deque and unknown objects serialise."""
        assert c(dt.date(2024, 1, 2))[0] == "2024-01-02"
        assert c(dt.timedelta(seconds=90))[0] == 90.0
        assert c(Decimal("1.25"))[0] == 1.25
        assert c(b"abc")[0] == "abc"
        assert c(b"\xff\xfe")[0].startswith("base64:")
        assert c({3, 1, 2})[0] == [1, 2, 3]
        assert c({1, "a"})[0] in ([1, "a"], ["a", 1])
        u = uuid.uuid4()
        assert c(u, Limits())[0] == str(u)
        assert c(Color.RED)[0] == "red"
        assert c(deque([1, 2]))[0] == [1, 2]
        assert c(Weird())[0] == "<unserializable Weird>"
        assert c(object())[0].startswith("<object")

    def test_long_strings_truncated(self) -> None:
        """Strings over max_string are cut and flagged."""
        v, fl = c("x" * 50)
        assert v == "x" * 10 and fl.truncated

    def test_depth_limited(self) -> None:
        """Nesting deeper than max_depth becomes text and is flagged."""
        deep: Any = 1
        for _ in range(10):
            deep = {"k": deep}
        v, fl = c(deep)
        assert fl.truncated
        json.dumps(v)

    def test_non_string_keys(self) -> None:
        """Mapping keys become text."""
        assert c({1: "a", None: "b"})[0] == {"1": "a", "None": "b"}

    def test_self_reference(self) -> None:
        """A list containing itself does not recurse forever."""
        a: list[Any] = [1]
        a.append(a)
        v, fl = c(a)
        json.dumps(v)
        assert fl.truncated

    @given(
        hs.recursive(
            hs.none() | hs.booleans() | hs.integers() | hs.floats() | hs.text() | hs.binary(),
            lambda kids: (
                hs.lists(kids)
                | hs.dictionaries(hs.text() | hs.integers(), kids)
                | hs.frozensets(hs.integers())
            ),
            max_leaves=30,
        )
    )
    def test_anything_encodes(self, value: Any) -> None:
        """Whatever the value, clean + dumps gives strict JSON (no NaN) that parses."""
        fl = Flags()
        data = dumps(clean(value, fl, Limits()))
        json.loads(data, parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))


class TestToEpoch:
    def test_forms(self) -> None:
        """Seconds, milliseconds, datetimes (naive = UTC), dates and ISO text are read."""
        t = 1_700_000_000.5
        assert to_epoch(t, 0) == t
        assert to_epoch(int(t * 1000), 0) == 1_700_000_000.5
        assert to_epoch(dt.datetime.fromtimestamp(t, dt.UTC), 0) == t
        assert to_epoch(dt.datetime(2023, 11, 14, 22, 13, 20, 500000), 0) == t
        assert to_epoch("2023-11-14T22:13:20.5Z", 0) == t
        assert to_epoch(dt.date(1970, 1, 2), 0) == 86400.0
        assert to_epoch(np.datetime64("2023-11-14T22:13:20.500"), 0) == t
        assert to_epoch(pd.Timestamp("2023-11-14T22:13:20.5Z"), 0) == t

    def test_garbage_is_now(self) -> None:
        """Unreadable or absurd times fall back to the receive time."""
        for bad in ("yesterday", math.nan, -5, 1e30, object(), [1]):
            assert to_epoch(bad, 42.0) == 42.0


class TestIsoClock:
    def test_format(self) -> None:
        """Epoch seconds become UTC ISO 8601 with milliseconds."""
        iso = IsoClock()
        assert iso(0.0) == "1970-01-01T00:00:00.000Z"
        assert iso(1_700_000_000.123) == "2023-11-14T22:13:20.123Z"
        assert iso(1_700_000_001.5) == "2023-11-14T22:13:21.500Z"


class TestDumps:
    def test_surrogates_replaced(self) -> None:
        """Lone surrogates (invalid UTF-8) are replaced instead of failing."""
        assert json.loads(dumps({"a": "x\ud800y"})) == {"a": "x?y"}

    def test_compact_unicode(self) -> None:
        """Output is compact UTF-8."""
        assert dumps({"a": "é"}) == '{"a":"é"}'.encode()


class BadStr:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class TestBadValueLosesOnlyItself:
    def test_huge_int_becomes_text(self) -> None:
        """An int past the double range is stored as its text and counted, not raised."""
        v, fl = c({"big": 10**400, "ok": 1}, Limits())
        assert v["big"] == str(10**400) and v["ok"] == 1
        assert fl.unserializable == 1 and not fl.truncated
        json.loads(dumps(v))

    def test_int_over_4300_digits(self) -> None:
        """An int Python refuses to print becomes a placeholder; the rest encodes."""
        v, fl = c({"huge": 10**5000, "ok": 2}, Limits())
        assert v == {"huge": "<unserializable int>", "ok": 2}
        assert fl.unserializable == 1
        json.loads(dumps(v))

    def test_decimal_snan_and_infinities(self) -> None:
        """Decimal sNaN/NaN/Infinity become null with the non-finite flag."""
        for bad in (Decimal("sNaN"), Decimal("NaN"), Decimal("-Infinity"), Decimal("1e400")):
            v, fl = c(bad)
            assert v is None and fl.nonfinite and fl.unserializable == 0

    def test_pandas_series_and_numpy_arrays_are_lists(self) -> None:
        """A pandas Series or numpy array value becomes a list, NaN inside as null."""
        v, fl = c({"s": pd.Series([1.0, np.nan, 3.0]), "a": np.array([[1, 2], [3, 4]])}, Limits())
        assert v == {"s": [1.0, None, 3.0], "a": [[1, 2], [3, 4]]}
        assert fl.nonfinite and fl.unserializable == 0
        big, fl = c(pd.Series(range(20)))
        assert big == [0, 1, 2, 3, 4] and fl.truncated

    def test_raising_conversions_counted(self) -> None:
        """An object whose conversion raises becomes its repr, else a placeholder, counted."""
        v, fl = c({"w": Weird(), "b": BadStr(), "x": 1}, Limits())
        assert v == {"w": "<unserializable Weird>", "b": "<unserializable BadStr>", "x": 1}
        assert fl.unserializable == 2


class TestFieldNames:
    def test_key_whose_str_raises(self) -> None:
        """A key without text gets a placeholder name; its value and its neighbours stay."""
        v, fl = c({BadStr(): 1, "a": 2}, Limits())
        assert v == {"(unnamed BadStr)": 1, "a": 2}
        assert fl.unserializable == 1

    def test_empty_and_blank_names(self) -> None:
        """ "" and white-space-only keys become (empty), suffixed when several."""
        v, _ = c({"": 1, " ": 2, "\t": 3, "(empty)": 4}, Limits())
        assert v == {"(empty)": 1, "(empty) (2)": 2, "(empty) (3)": 3, "(empty) (4)": 4}

    def test_colliding_names_keep_every_value(self) -> None:
        """{1: a, "1": b} keeps both values; the later key is suffixed deterministically."""
        v, _ = c({1: "a", "1": "b", "1 (2)": "c"}, Limits())
        assert v == {"1": "a", "1 (2)": "b", "1 (2) (2)": "c"}
        again, _ = c({1: "a", "1": "b", "1 (2)": "c"}, Limits())
        assert list(again) == list(v)

    def test_odd_names_kept(self) -> None:
        """Dots, spaces, capitals and dot-only names are kept as they are."""
        names = ["a.b", "A B", "Age", ".", "..", "a..b", ".a", " a "]
        v, fl = c(dict.fromkeys(names, 1), Limits())
        assert list(v) == names and not fl.truncated

    def test_long_names_cut(self) -> None:
        """Names past MAX_FIELD_NAME are cut (flagged) and stay distinct."""
        long_a, long_b = "x" * 300 + "a", "x" * 300 + "b"
        v, fl = c({long_a: 1, long_b: 2}, Limits())
        cut = "x" * s.MAX_FIELD_NAME
        assert v == {cut: 1, f"{cut} (2)": 2} and fl.truncated

    def test_nested_keys_follow_the_rule(self) -> None:
        """Keys of nested mappings follow the same rule."""
        v, _ = c({"user": {"": 1, 2: "x"}}, Limits())
        assert v == {"user": {"(empty)": 1, "2": "x"}}
