"""The JSON/NDJSON assets (index templates, watches, roles, Kibana saved objects).

An installed wheel holds them in the namespace packages predwatch._assets.elasticsearch and
predwatch._assets.kibana (no __init__.py: an __init__.py in the repository's elasticsearch/
folder would make it shadow the client library), found with importlib.resources. An editable
install or a source checkout keeps them in the repository's top-level elasticsearch/ and
kibana/ folders: setuptools' editable finder cannot import a namespace package nested in a
regular one, so there they are found next to the `predwatch` package folder.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from predwatch.errors import PredwatchError

KINDS = ("elasticsearch", "kibana")
PACKAGE = "predwatch._assets"


def asset_dir(kind: str) -> Path:
    """The folder holding the `kind` assets ("elasticsearch" or "kibana")."""
    if kind not in KINDS:
        raise ValueError(f"unknown asset kind {kind!r}")
    package = importlib.resources.files("predwatch")
    installed = package.joinpath(*PACKAGE.split(".")[1:], kind)
    checkout = package.joinpath("..", kind)  # only a checkout has pyproject.toml beside it
    if installed.is_dir():
        return Path(str(installed))
    if checkout.is_dir() and package.joinpath("..", "pyproject.toml").is_file():
        return Path(str(checkout)).resolve()
    raise PredwatchError(
        f"predwatch's {kind} assets are missing (no {PACKAGE}.{kind} in {package}); "
        "reinstall predwatch"
    )
