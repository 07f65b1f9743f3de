"""Validation of JSON values at a path: the building blocks of `baseline_format`.

Each check returns the value in its Python shape or raises `Invalid` naming the path of the
bad field (`features[0].count: expected a count, got string`), which is what a user needs
to fix a hand-edited or truncated file. Pure; no dependency on the baseline model, so the
model can validate its own metrics with `read_metrics`.
"""

from __future__ import annotations

import datetime as dt
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
