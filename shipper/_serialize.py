"""Turn anything a serving app logs into JSON, without ever failing.

`clean` walks a value once and returns a tree of plain JSON types (new containers,
shared immutable leaves), recording in `Flags` what it had to change. A value that cannot
be stored loses only itself, never its document:

| input                                   | becomes                                          |
|-----------------------------------------|--------------------------------------------------|
| NaN, +-inf, sNaN (float, numpy, Decimal)| null, `nonfinite` flag                           |
| numpy scalars / arrays, pandas Series   | Python numbers / lists (arrays capped)           |
| datetime, date, time                    | ISO 8601 text; timedelta -> seconds              |
| Decimal                                 | float                                            |
| bytes                                   | UTF-8 text, or "base64:..." when not UTF-8       |
| set, frozenset, tuple, deque            | list (sets sorted when sortable)                 |
| pandas NA / NaT                         | null                                             |
| Enum                                    | its value                                        |
| int beyond the double range             | its decimal text, `unserializable` count         |
| anything else, or a value whose         | `repr()` text, else `<unserializable T>`,        |
| conversion raised                       | `unserializable` count                           |
| strings longer than `max_string`        | cut, `truncated` flag                            |
| containers over `max_items` / `max_depth` | cut, `truncated` flag                          |

Mapping keys become field names by one rule (`schema.free_field_name`): text keys stay as
they are (dots, spaces, capitals included); other keys become their text (a key whose text
cannot be had becomes `(unnamed T)`, counted); "" and white-space-only keys become
`(empty)`; keys over `schema.MAX_FIELD_NAME` characters are cut (flagged); a key whose
name is already taken in the same mapping gets ` (2)`, ` (3)`, ... in iteration order, so
`{1: "a", "1": "b"}` keeps both values, as "1" and "1 (2)".

`dumps` then encodes with the C json encoder (no `default=` hook needed; lone surrogates
become "?"). orjson is not used: for documents of a few dozen fields the stdlib C encoder
is within a few microseconds, and the encoding runs on the worker thread, never the caller's.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import json
import math
import sys
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from predwatch.schema import MAX_FIELD_NAME, free_field_name, unique_field_name

_EPOCH_MAX = 253402300799.0  # 9999-12-31T23:59:59Z
_MS_THRESHOLD = 1e11  # epoch numbers above this are milliseconds (year 5138 in seconds)
# Ints past this have no double (Elasticsearch maps numbers as double): they become text.
# (Python also refuses to print ints over 4,300 digits, which would fail the encoder.)
MAX_JSON_INT = int(sys.float_info.max)


@dataclass(frozen=True)
class Limits:
    """Size limits applied while cleaning values."""

    max_string: int = 8192
    max_items: int = 1000
    max_depth: int = 12


class Flags:
    """What `clean` had to change in one document."""

    __slots__ = ("nested", "nonfinite", "truncated", "unserializable")

    def __init__(self) -> None:
        self.nonfinite = False
        self.truncated = False
        self.unserializable = 0  # values stored as text or a placeholder instead of themselves
        self.nested = False  # a mapping or a sequence was cleaned (the field cap counts leaves)


def clean(v: Any, fl: Flags, lim: Limits, depth: int = 0) -> Any:
    """`v` as plain JSON types; never raises."""
    t = type(v)
    if t is str:
        if len(v) > lim.max_string:
            fl.truncated = True
            return v[: lim.max_string]
        return v
    if t is int:
        if -MAX_JSON_INT <= v <= MAX_JSON_INT:
            return v
        return _unserializable(v, fl, lim)
    if t is bool or v is None:
        return v
    if t is float:
        if v - v == 0.0:  # false for NaN and +-inf
            return v
        fl.nonfinite = True
        return None
    try:
        return _clean_other(v, fl, lim, depth)
    except Exception:
        return _unserializable(v, fl, lim)


def clean_group(v: Any, fl: Flags, lim: Limits, known: set[str] | None = None) -> dict[str, Any]:
    """A top-level group (inputs, features, labels) as a mapping of field names.

    Unlike nested mappings, a group is not cut at `max_items` (the document's field cap
    decides what is indexed). Anything but a mapping is kept as the one value `_value`
    (flagged `truncated`) so the document still ships. `known`: names already found
    plain, kept by the caller across documents (a model sends the same names each time,
    and a set look-up of them is cheaper than checking them again)."""
    if v is None:
        return {}
    if type(v) is dict:  # the usual case: no key needs the name rule
        if known is not None and known.issuperset(v):
            return {k: clean(val, fl, lim, 1) for k, val in v.items()}
        if _plain_names(v):
            if known is not None and len(known) < _MAX_KNOWN:
                known.update(v)
            return {k: clean(val, fl, lim, 1) for k, val in v.items()}
    if isinstance(v, Mapping):
        try:
            return _clean_items(list(v.items()), fl, lim, 0, len(v) + 1)
        except Exception:
            pass
    fl.truncated = True
    return {"_value": clean(v, fl, lim, 1)}


def clean_number(v: Any, fl: Flags) -> float | None:
    """`v` as a finite float, or None (non-finite values set `nonfinite`; values that are
    no number, except text, count as `unserializable`)."""
    try:
        x = float(v)
    except (TypeError, ValueError, OverflowError):
        if v is not None and not isinstance(v, str):
            fl.unserializable += 1
        return None
    if x - x == 0.0:
        return x
    fl.nonfinite = True
    return None


def key_text(k: Any) -> str | None:
    """The text of a mapping key (before the field-name rule), or None when it has none."""
    if isinstance(k, str):
        return str.__str__(k)  # a str subclass's own __str__ may raise; its text cannot
    scratch = Flags()
    c = clean(k, scratch, _KEY_LIMITS, 1)
    if not scratch.unserializable:
        return c if type(c) is str else str(c)
    try:
        text = str(k)
    except Exception:
        return None
    return text if type(text) is str else None


_MAX_KNOWN = 100_000  # names remembered as plain; past it names are checked each time
_KEY_LIMITS = Limits(max_string=MAX_FIELD_NAME + 1, max_items=20, max_depth=3)


def _unserializable(v: Any, fl: Flags, lim: Limits) -> str:
    fl.unserializable += 1
    return _safe_repr(v, lim, fl)


def _clean_other(v: Any, fl: Flags, lim: Limits, depth: int) -> Any:
    if depth >= lim.max_depth:
        fl.truncated = True
        return _safe_repr(v, lim)
    if isinstance(v, Mapping):
        return _clean_items(list(v.items()), fl, lim, depth, lim.max_items)
    if isinstance(v, (list, tuple)):
        return _clean_seq(v, fl, lim, depth)
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, enum.Enum):
        return clean(v.value, fl, lim, depth + 1)
    if isinstance(v, int):
        return clean(int(v), fl, lim, depth)
    if isinstance(v, float):
        return clean(float(v), fl, lim, depth)
    if isinstance(v, str):
        return clean(str.__str__(v), fl, lim, depth)
    if _is_missing_sentinel(v):
        return None
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return v.total_seconds()
    if isinstance(v, Decimal):
        if not v.is_finite():  # NaN, sNaN (float() would raise), +-Infinity
            fl.nonfinite = True
            return None
        return clean(float(v), fl, lim, depth)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return clean(_bytes_text(bytes(v)), fl, lim, depth)
    if isinstance(v, (set, frozenset)):
        try:
            items: list[Any] = sorted(v)
        except TypeError:
            items = list(v)
        return _clean_seq(items, fl, lim, depth)
    if isinstance(v, uuid.UUID):
        return str(v)
    numpyish = _numpy_value(v, lim, fl)
    if numpyish is not _NOT_NUMPY:
        return clean(numpyish, fl, lim, depth + 1)
    if isinstance(v, complex):
        return str(v)
    if isinstance(v, deque):
        return _clean_seq(list(v), fl, lim, depth)
    return _unserializable(v, fl, lim)


def _clean_items(
    items: list[tuple[Any, Any]], fl: Flags, lim: Limits, depth: int, max_items: int
) -> dict[str, Any]:
    fl.nested = True
    out: dict[str, Any] = {}
    if len(items) > max_items:
        fl.truncated = True
        items = items[:max_items]
    for k, val in items:
        if type(k) is str and 0 < len(k) <= MAX_FIELD_NAME and not k.isspace():
            name = k
        else:
            name = _field_name(k, fl)
        if name in out:
            name = unique_field_name(name, out)
        out[name] = clean(val, fl, lim, depth + 1)
    return out


def _plain_names(d: dict[Any, Any]) -> bool:
    """Every key is text the name rule keeps as it is (two passes in C, no Python loop)."""
    try:  # str.strip refuses keys that are not text; "" and blank keys strip to ""
        return all(map(str.strip, d)) and max(map(len, d), default=0) <= MAX_FIELD_NAME
    except TypeError:
        return False


def _field_name(k: Any, fl: Flags) -> str:
    text = key_text(k)
    if text is None:
        fl.unserializable += 1
        return f"(unnamed {type(k).__name__})"
    name, cut = free_field_name(text)
    if cut:
        fl.truncated = True
    return name


def _clean_seq(v: Any, fl: Flags, lim: Limits, depth: int) -> list[Any]:
    fl.nested = True
    if len(v) > lim.max_items:
        fl.truncated = True
        v = v[: lim.max_items]
    return [clean(x, fl, lim, depth + 1) for x in v]


_NOT_NUMPY = object()


def _numpy_value(v: Any, lim: Limits, fl: Flags) -> Any:
    """numpy/pandas scalars and arrays as Python values (numpy is never imported here)."""
    module = type(v).__module__ or ""
    if not module.startswith(("numpy", "pandas")):
        return _NOT_NUMPY
    name = type(v).__name__
    if name == "datetime64" or name == "timedelta64":
        text = str(v)
        return None if text == "NaT" else text
    if getattr(v, "ndim", 0):  # ndarray, Series, Index, DataFrame, extension arrays
        if v.size > lim.max_items:
            fl.truncated = True
            flat = v.to_numpy().ravel() if hasattr(v, "to_numpy") else v.ravel()
            return flat[: lim.max_items].tolist()
        # pandas' tolist keeps Timestamps (numpy's would give integer nanoseconds).
        return v.tolist() if hasattr(v, "tolist") else v.to_numpy().tolist()
    if hasattr(v, "item"):
        return v.item()
    if hasattr(v, "tolist"):
        return v.tolist()
    return _NOT_NUMPY


def _is_missing_sentinel(v: Any) -> bool:
    name = type(v).__name__
    return name in ("NAType", "NaTType")


def _bytes_text(b: bytes) -> str:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(b).decode("ascii")


def _safe_repr(v: Any, lim: Limits, fl: Flags | None = None) -> str:
    try:
        text = repr(v)
    except Exception:  # e.g. an int over 4,300 digits, a __repr__ that raises
        return f"<unserializable {type(v).__name__}>"
    if type(text) is not str:
        return f"<unserializable {type(v).__name__}>"
    if len(text) > lim.max_string:
        if fl is not None:
            fl.truncated = True
        return text[: lim.max_string]
    return text


# --- time -----------------------------------------------------------------------------
def to_epoch(ts: Any, now: float) -> float:
    """Event time of `ts` (None, epoch s/ms, datetime, date, ISO text, numpy/pandas) in
    seconds; `now` when it cannot be read or lies outside years 1970..9999."""
    try:
        x = _to_epoch(ts, now)
    except Exception:
        return now
    if not (0.0 <= x <= _EPOCH_MAX):
        return now
    return x


def _to_epoch(ts: Any, now: float) -> float:
    if ts is None:
        return now
    if isinstance(ts, dt.datetime):
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=dt.UTC)
        return float(ts.timestamp())
    if isinstance(ts, dt.date):
        return dt.datetime(ts.year, ts.month, ts.day, tzinfo=dt.UTC).timestamp()
    if isinstance(ts, str):
        return _to_epoch(dt.datetime.fromisoformat(ts.strip().replace("Z", "+00:00")), now)
    if type(ts).__name__ == "datetime64":
        return _to_epoch(str(ts)[:26], now)
    x = float(ts)
    if math.isnan(x):
        return now
    return x / 1000.0 if x > _MS_THRESHOLD else x


class IsoClock:
    """ISO 8601 UTC text with milliseconds for epoch seconds, caching the second part."""

    __slots__ = ("_prefix", "_sec")

    def __init__(self) -> None:
        self._sec = -1
        self._prefix = ""

    def __call__(self, t: float) -> str:
        sec, ms = divmod(round(t * 1000), 1000)
        if sec != self._sec:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
            self._sec = sec
        return f"{self._prefix}.{ms:03d}Z"


# --- encoding -------------------------------------------------------------------------
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


def dumps(doc: Any) -> bytes:
    """Compact UTF-8 JSON of an already-cleaned document."""
    return _ENCODER.encode(doc).encode("utf-8", "replace")
