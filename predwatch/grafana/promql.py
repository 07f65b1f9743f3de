"""PromQL text: label selectors with quoted values, and the metric names an expression reads.

`metric_names` is what the contract checks against a scrape: it drops strings, label matchers,
range selectors and grouping lists, then keeps the identifiers that are not functions,
keywords or aggregation modifiers. Enough for the expressions predwatch writes (no `@`
modifiers or subqueries with offsets inside names). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
     "bool", "offset", "inf", "nan"}
)  # fmt: skip
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_BRACES = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENT = re.compile(r"(?<![\w$.])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?")


def quote(value: str) -> str:
    """`value` as a double-quoted PromQL string (backslash and quote escaped)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def selector(metric: str, labels: Mapping[str, str], regex: Mapping[str, str] | None = None) -> str:
    """`metric{a="x", b=~"y"}`: equality matchers from `labels`, regex ones from `regex`.

    A regex value is passed through as written (Grafana variables such as `$version` expand
    to a regex there).
    """
    parts = [f"{k}={quote(v)}" for k, v in labels.items()]
    parts += [f"{k}=~{quote(v)}" for k, v in (regex or {}).items()]
    return f"{metric}{{{', '.join(parts)}}}"


def metric_names(expr: str) -> set[str]:
    """The metric names `expr` reads (functions, keywords and label names excluded)."""
    text = _STRING.sub('""', expr)
    text = _BRACES.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    names: set[str] = set()
    for m in _IDENT.finditer(text):
        name, call = m.group(1), m.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names
