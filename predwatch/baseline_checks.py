"""Validation of JSON values at a path: the building blocks of `baseline_format`.

Each check returns the value in its Python shape or raises `Invalid` naming the path of the
bad field (`features[0].count: expected a count, got string`), which is what a user needs
to fix a hand-edited or truncated file. Pure; no dependency on the baseline model, so the
model can validate its own metrics with `read_metrics`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Mapping
from typing import Any


class Invalid(Exception):
    """A validation failure at `path` (the message starts with the path)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")


_JSON_TYPES: dict[type, str] = {dict: "object", list: "array", str: "string"}


def type_name(v: Any) -> str:
    return "null" if v is None else _JSON_TYPES.get(type(v), type(v).__name__)


def get(d: Mapping[str, Any], key: str, path: str, *, optional: bool = False) -> Any:
    if key not in d:
        if optional:
            return None
        raise Invalid(f"{path}.{key}" if path else key, "is missing")
    return d[key]


def obj(v: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(v, dict):
        raise Invalid(path, f"expected an object, got {type_name(v)}")
    return v


def string(v: Any, path: str, *, nullable: bool = False) -> str | None:
    if v is None and nullable:
        return None
    if not isinstance(v, str) or not v:
        raise Invalid(path, f"expected a non-empty string, got {type_name(v)}")
    return v


def iso(v: Any, path: str, *, nullable: bool = False) -> str | None:
    s = string(v, path, nullable=nullable)
    if s is not None:
        try:
            dt.datetime.fromisoformat(s)
        except ValueError:
            raise Invalid(path, f"{s!r} is not an ISO 8601 date/time") from None
    return s


def count(v: Any, path: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise Invalid(path, f"expected a count, got {type_name(v)}")
    if not math.isfinite(v) or v < 0 or not float(v).is_integer():
        raise Invalid(path, f"expected a non-negative whole number, got {v!r}")
    return int(v)


def number(v: Any, path: str, *, nullable: bool = False) -> float:
    if v is None and nullable:
        return math.nan
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise Invalid(path, f"expected a finite number, got {v!r}")
    return float(v)


def numbers(v: Any, path: str, expected: int | None = None) -> tuple[float, ...]:
    if not isinstance(v, list):
        raise Invalid(path, f"expected an array of numbers, got {type_name(v)}")
    if expected is not None and len(v) != expected:
        raise Invalid(path, f"expected {expected} numbers, got {len(v)}")
    return tuple(number(x, f"{path}[{i}]") for i, x in enumerate(v))


class Fields:
    """One JSON object at `path`, read key by key: every getter names `path.key` when it fails.

    A getter ending in `_or_none` accepts a missing key or null; `number_or_nan` keeps the key
    required but reads null as NaN (how non-finite statistics are written).
    """

    def __init__(self, v: Any, path: str) -> None:
        self.data = obj(v, path)
        self.path = path

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, *, optional: bool = False) -> Any:
        return get(self.data, key, self.path, optional=optional)

    def obj(self, key: str) -> Fields:
        return Fields(self.get(key), self.at(key))

    def string(self, key: str) -> str:
        return string(self.get(key), self.at(key)) or ""

    def string_or_none(self, key: str) -> str | None:
        return string(self.data.get(key), self.at(key), nullable=True)

    def iso(self, key: str) -> str:
        return iso(self.get(key), self.at(key)) or ""

    def iso_or_none(self, key: str) -> str | None:
        return iso(self.data.get(key), self.at(key), nullable=True)

    def count(self, key: str) -> int:
        return count(self.get(key), self.at(key))

    def count_or_none(self, key: str) -> int | None:
        v = self.data.get(key)
        return None if v is None else count(v, self.at(key))

    def number(self, key: str) -> float:
        return number(self.get(key), self.at(key))

    def number_or_nan(self, key: str) -> float:
        return number(self.get(key), self.at(key), nullable=True)

    def numbers(self, key: str, expected: int | None = None) -> tuple[float, ...]:
        return numbers(self.get(key), self.at(key), expected)

    def counts(self, key: str) -> dict[str, int]:
        """An object of name -> count (frequency tables, vocabularies)."""
        path = self.at(key)
        return {str(k): count(x, f"{path}[{k!r}]") for k, x in obj(self.get(key), path).items()}

    def flag(self, key: str, default: bool | None = None) -> bool:
        """true/false; a missing key or null is `default` (required when None)."""
        v = self.get(key) if default is None else self.data.get(key)
        if v is None and default is not None:
            return default
        if not isinstance(v, bool):
            raise Invalid(self.at(key), "expected true or false")
        return v

    def strings(self, key: str, *, optional: bool = False) -> tuple[str, ...]:
        """An array of strings; with `optional`, a missing key or null is empty."""
        v = self.data.get(key) if optional else self.get(key)
        if v is None and optional:
            return ()
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise Invalid(self.at(key), "expected an array of strings")
        return tuple(v)


def same_n(total: float, n: int, path: str, what: str) -> None:
    if abs(total - n) > 1e-6 * max(1.0, n) + 1e-9:
        raise Invalid(path, f"{what} add up to {total:g} but n is {n}")


def read_metrics(v: Any, rows_raw: Any) -> tuple[dict[str, float], int | None]:
    """Held-out metrics: metric name -> finite number; `metrics_rows` a count or null."""
    metrics: dict[str, float] = {}
    if v is not None:
        for k, x in obj(v, "metrics").items():
            if not isinstance(k, str) or not k.strip():
                raise Invalid("metrics", f"metric names must be non-empty strings, got {k!r}")
            metrics[k] = number(x, f"metrics[{k!r}]")
    rows = None if rows_raw is None else count(rows_raw, "metrics_rows")
    return metrics, rows


ESTIMATION_KINDS = ("binary", "multiclass")


def read_estimation(v: Any, path: str = "estimation") -> dict[str, Any] | None:
    """What `predwatch quality --estimate` needs (`baseline build --target-column`): the
    score field, the score grid and the calibration map's blocks [x_start, x_end,
    probability, rows] (ascending x, non-decreasing probability in [0, 1]) with its bin
    edges; binary: the positive class and threshold; multiclass: the classes and one map per
    class (`per_class`); plus the reference's realized metrics. Returned as the plain dict
    it was (JSON-ready)."""
    if v is None:
        return None
    f = Fields(v, path)
    kind = f.string("kind")
    if kind not in ESTIMATION_KINDS:
        raise Invalid(f.at("kind"), f"expected one of {', '.join(ESTIMATION_KINDS)}, got {kind!r}")
    f.string("score_field")
    grid = f.obj("grid")
    low, high = grid.number("low"), grid.number("high")
    if not low < high:
        raise Invalid(grid.at("high"), f"must be above low ({low}), got {high}")
    if grid.count("bins") < 1:
        raise Invalid(grid.at("bins"), "expected at least 1")
    if kind == "binary":
        f.string("positive")
        threshold = f.number("threshold")
        _calibration(f.obj("calibration"))
        _edges(f, threshold)
    else:
        classes = f.strings("classes")
        if len(classes) < 2:
            raise Invalid(f.at("classes"), "expected at least two classes")
        per = f.obj("per_class")
        for c in classes:
            one = per.obj(c)
            _calibration(one.obj("calibration"))
            _edges(one, None)
    ref = f.obj("reference") if f.data.get("reference") is not None else None
    if ref is not None:
        for key in ("realized", "mean_abs_error_out_of_fold"):
            part = ref.data.get(key)
            if part is not None:
                for name, x in obj(part, ref.at(key)).items():
                    number(x, f"{ref.at(key)}[{name!r}]")
    return dict(f.data)


def _calibration(cal: Fields) -> None:
    method = cal.string("method")
    if method not in ("isotonic", "identity"):
        raise Invalid(cal.at("method"), f"expected isotonic or identity, got {method!r}")
    cal.count("rows")
    blocks = cal.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        raise Invalid(cal.at("blocks"), "expected a non-empty array of [x_start, x_end, p, rows]")
    prev_x, prev_p = -math.inf, -math.inf
    for i, b in enumerate(blocks):
        at = f"{cal.at('blocks')}[{i}]"
        x0, x1, p, m = numbers(b, at, 4)
        if not (prev_x < x0 <= x1) or not (prev_p <= p <= 1.0) or p < 0.0 or m < 0:
            raise Invalid(at, "blocks must have ascending x and non-decreasing p in [0, 1]")
        prev_x, prev_p = x1, p


def _edges(f: Fields, threshold: float | None) -> None:
    """The bins quality --estimate aggregates on (absent in baselines built before them)."""
    edges = f.data.get("edges")
    if edges is None:
        return
    at = f.at("edges")
    if not isinstance(edges, list) or not edges:
        raise Invalid(at, "expected a non-empty array of ascending numbers")
    xs = [number(x, f"{at}[{i}]") for i, x in enumerate(edges)]
    if any(b <= a for a, b in itertools.pairwise(xs)):
        raise Invalid(at, "expected strictly ascending numbers")
    if threshold is not None and threshold not in xs:
        raise Invalid(at, f"the threshold {threshold} must be one of the edges")
