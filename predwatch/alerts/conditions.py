"""Watcher's `compare` / `array_compare` conditions, and their evaluation in Python with
Watcher's semantics, so `predwatch alerts check` decides exactly as a rendered watch would.

Semantics follow Elasticsearch's ObjectPath (dot paths; a numeric part indexes a list),
LenientCompare (the configured value's type decides; null never compares) and
ArrayCompareCondition (quantifier `some`: true when any element matches; empty -> false).
Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

OPS = ("gt", "gte", "lt", "lte", "eq", "not_eq")
SYMBOLS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "==", "not_eq": "!="}


def resolve(path: str, obj: Any) -> Any:
    """The value at dotted `path` in `obj` (None when any part is missing), like ObjectPath."""
    cur = obj
    for part in path.split(".") if path else ():
        if cur is None:
            return None
        if isinstance(cur, Mapping):
            cur = cur.get(part)
        elif isinstance(cur, list | tuple):
            try:
                cur = cur[int(part)]
            except (ValueError, IndexError):
                return None
        else:
            return None
    return cur


def lenient_compare(v1: Any, v2: Any) -> int | None:
    """-1/0/1 comparing the resolved `v1` with the configured `v2`; None: not comparable."""
    if v1 == v2 and type(v1) is type(v2):
        return 0
    if v1 is None or v2 is None:
        return None
    if any(isinstance(v, float) and math.isnan(v) for v in (v1, v2)):
        return None
    if isinstance(v2, int | float) and not isinstance(v2, bool):
        if isinstance(v1, bool) or not isinstance(v1, int | float):
            try:
                v1 = float(str(v1))
            except ValueError:
                return None
        a, b = float(v1), float(v2)
        return 1 if a > b else -1 if a < b else 0
    if isinstance(v2, str):
        s = str(v1)
        return 1 if s > v2 else -1 if s < v2 else 0
    return None


def apply_op(op: str, v1: Any, v2: Any) -> bool:
    c = lenient_compare(v1, v2)
    if op == "not_eq":
        return c is None or c != 0
    if c is None:
        return False
    return {
        "gt": c > 0,
        "gte": c >= 0,
        "lt": c < 0,
        "lte": c <= 0,
        "eq": c == 0,
    }[op]


@dataclass(frozen=True)
class Check:
    """One condition on a search response, in the watch context (`ctx.payload` = response).

    Without `elem_path` it is a Watcher `compare` on `path`; with it, an `array_compare`
    over the list at `path`, reading `elem_path` in each element (quantifier `some`).
    """

    path: str
    op: str
    value: float
    elem_path: str | None = None

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"unknown comparison {self.op!r}")
        if not self.path.startswith("ctx.payload."):
            raise ValueError("a check path starts with ctx.payload.")

    @property
    def payload_path(self) -> str:
        """The path inside the search response (without `ctx.payload.`)."""
        return self.path.removeprefix("ctx.payload.")

    def watcher_condition(self) -> dict[str, Any]:
        if self.elem_path is None:
            return {"compare": {self.path: {self.op: self.value}}}
        return {
            "array_compare": {
                self.path: {
                    "path": self.elem_path,
                    self.op: {"value": self.value, "quantifier": "some"},
                }
            }
        }

    @classmethod
    def from_watcher(cls, condition: Mapping[str, Any]) -> Check:
        """Read back a rendered watch condition (compare or array_compare, quantifier some)."""
        ((kind, spec),) = condition.items()
        ((path, inner),) = spec.items()
        if kind == "compare":
            ((op, value),) = inner.items()
            return cls(path, op, value)
        if kind == "array_compare":
            (op,) = [k for k in inner if k != "path"]
            if inner[op].get("quantifier", "some") != "some":
                raise ValueError("only quantifier some is used by predwatch")
            return cls(path, op, inner[op]["value"], inner.get("path", ""))
        raise ValueError(f"condition {kind} is not compare/array_compare")

    def mustache_value(self) -> str:
        """A mustache expression for the compared value (first element for arrays)."""
        if self.elem_path is None:
            return "{{" + self.path + "}}"
        return "{{" + f"{self.path}.0.{self.elem_path}" + "}}"

    def evaluate(self, response: Mapping[str, Any]) -> Evaluation:
        ctx = {"ctx": {"payload": response}}
        resolved = resolve(self.path, ctx)
        if self.elem_path is None:
            return Evaluation(apply_op(self.op, resolved, self.value), resolved, True)
        if resolved is not None and not isinstance(resolved, list):
            raise ValueError(f"array path {self.path} did not evaluate to an array")
        values = [resolve(self.elem_path, el) for el in resolved or []]
        hits = [v for v in values if apply_op(self.op, v, self.value)]
        shown = hits[0] if hits else (values[0] if values else None)
        return Evaluation(bool(hits), shown, bool(values))


@dataclass(frozen=True)
class Evaluation:
    """Result of a check: fired, the value compared, and whether there was enough data
    (False when a guarded array is empty: fewer predictions than the rule's min_count)."""

    fired: bool
    value: Any
    enough_data: bool
