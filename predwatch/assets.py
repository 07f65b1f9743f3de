"""Where the JSON/NDJSON assets are: inside the installed wheel (`predwatch/assets/<kind>`)
or, in a source checkout or editable install, the repository's top-level folder."""

from __future__ import annotations

from pathlib import Path

from predwatch.errors import PredwatchError

KINDS = ("elasticsearch", "kibana")


def asset_dir(kind: str) -> Path:
    """The folder holding the `kind` assets ("elasticsearch" or "kibana")."""
    if kind not in KINDS:
        raise ValueError(f"unknown asset kind {kind!r}")
    here = Path(__file__).resolve().parent
    for candidate in (here / "assets" / kind, here.parent / kind):
        if candidate.is_dir():
            return candidate
    raise PredwatchError(
        f"predwatch's {kind} assets are missing (looked in {here / 'assets' / kind} and "
        f"{here.parent / kind}); reinstall predwatch"
    )
