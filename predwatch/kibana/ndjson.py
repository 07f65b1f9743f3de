"""NDJSON, the file format of Kibana's saved-object export and import: one object a line.

Written with sorted keys so a regenerated file only differs where an object changed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from predwatch.kibana.context import KibanaError

Obj = dict[str, Any]


def dumps(objects: Iterable[Obj]) -> str:
    lines = [
        json.dumps(o, sort_keys=True, ensure_ascii=False, separators=(",", ":")) for o in objects
    ]
    return "\n".join(lines) + "\n" if lines else ""


def loads(text: str, source: str = "NDJSON") -> list[Obj]:
    """The saved objects of an NDJSON text (an export's trailing summary line is skipped)."""
    out: list[Obj] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise KibanaError(f"{source} line {n} is not JSON: {exc.msg}") from None
        if not isinstance(obj, dict):
            raise KibanaError(f"{source} line {n} is not a JSON object")
        if "exportedCount" in obj and "type" not in obj:
            continue  # the summary line Kibana's export appends
        for key in ("type", "id", "attributes"):
            if key not in obj:
                raise KibanaError(f"{source} line {n} is not a saved object (no {key!r})")
        out.append(obj)
    return out


def write(path: str | os.PathLike[str], objects: Iterable[Obj]) -> Path:
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(dumps(objects), encoding="utf-8")
    except OSError as exc:
        raise KibanaError(f"cannot write {target}: {exc.strerror}") from None
    return target


def read(path: str | os.PathLike[str]) -> list[Obj]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KibanaError(f"{p} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KibanaError(f"cannot read {p}: {exc}") from None
    return loads(text, source=str(p))
