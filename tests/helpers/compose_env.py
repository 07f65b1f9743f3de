"""Compose's variable interpolation from .env.example, the way `docker compose config` does it."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}")


def env_example() -> dict[str, str]:
    lines = (REPO / ".env.example").read_text().splitlines()
    return dict(ln.split("=", 1) for ln in lines if ln.strip() and not ln.startswith("#"))


def interpolate(text: str, env: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        value = env.get(m.group(1), "")
        if not value and m.group(2) == ":-":
            return m.group(3) or ""
        if not value and m.group(2) == ":?":
            raise ValueError(f"{m.group(1)}: {m.group(3)}")
        return value

    return _VAR.sub(sub, text)
