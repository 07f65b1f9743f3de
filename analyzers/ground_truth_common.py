"""What the ground-truth commands (`outcomes`, `quality`, `skew`) share: the window options,
the model-name check, a client that is closed afterwards and the error guard."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from predwatch import schema
from predwatch.analyzers.aggregates import Window, parse_duration, parse_time
from predwatch.cli_common import fail
from predwatch.config import ESConfig
from predwatch.errors import ConfigError, PredwatchError


def window_option(
    window: str | None, start: str | None, end: str | None, default: str | None
) -> Window | None:
    """`--window D` ending now (or at --end / from --start), or --start/--end."""
    if window and start and end:
        raise ConfigError("give --window or --start/--end, not all three")
    s = parse_time(start) if start else None
    e = parse_time(end) if end else None
    if s and e:
        return Window(s, e)
    if not (window or default or s or e):
        return None
    length = parse_duration(window or default or "1d")
    if s:
        return Window(s, s + length)
    return Window.ending(e or dt.datetime.now(dt.UTC), length)


def model_name(name: str) -> str:
    try:
        return schema.validate_model_name(name)
    except schema.SchemaError as exc:
        raise ConfigError(str(exc)) from None


@contextmanager
def client(cfg: ESConfig) -> Iterator[Any]:
    from predwatch import es as es_mod

    es = es_mod.client(cfg)
    try:
        yield es
    finally:
        es.close()


def guard(fn: Callable[[], int]) -> None:
    """Run a command body: PredwatchError -> one line and its exit code."""
    try:
        code = fn()
    except PredwatchError as exc:
        fail(str(exc), exc.exit_code)
        return
    sys.exit(code)


def fmt_number(x: float | None, digits: int = 4) -> str:
    return "-" if x is None else f"{x:.{digits}g}"
