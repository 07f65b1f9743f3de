"""Baseline files on disk: strict JSON, written atomically, read with validation."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from predwatch.baseline_model import Baseline, BaselineError


def save_baseline(baseline: Baseline, path: str | os.PathLike[str]) -> Path:
    """Write `baseline` as strict JSON, atomically (a reader never sees half a file)."""
    target = Path(path)
    text = json.dumps(baseline.to_dict(), allow_nan=False, ensure_ascii=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    # A unique sibling opened with "x" (not mkstemp) so the file gets the usual umask mode.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tmp.open("x", encoding="utf-8") as fh:
            fh.write(text + "\n")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def load_baseline(path: str | os.PathLike[str]) -> Baseline:
    """Read and validate a baseline file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise BaselineError(f"baseline file {p} does not exist") from None
    except OSError as exc:
        raise BaselineError(f"cannot read baseline file {p}: {exc.strerror}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BaselineError(f"{p} is not JSON: it is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{p} is not JSON: {exc.msg} (line {exc.lineno})") from None
    return Baseline.from_dict(data, source=str(p))
