"""Reading and writing rule files (.yaml/.yml or .json; the format is described in
`predwatch.alerts.rules`). The only I/O of the rule modules."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from predwatch.alerts.model import RulesError, RuleSet
from predwatch.alerts.validation import rules_from_dict


def _yaml() -> Any:
    try:
        import yaml
    except ImportError:  # pragma: no cover - pyyaml is a dependency
        raise RulesError("reading YAML rule files needs PyYAML (pip install pyyaml)") from None
    return yaml


def load_rules(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> RuleSet:
    """Read a rule file (.yaml/.yml or .json)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"cannot read rule file {p}: {exc.strerror}") from None
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            yaml = _yaml()
            data = yaml.safe_load(text)
    except ValueError as exc:  # json.JSONDecodeError and yaml.YAMLError's messages
        raise RulesError(f"{p} is not valid JSON: {exc}") from None
    except Exception as exc:
        raise RulesError(f"{p} is not valid YAML: {str(exc).splitlines()[0]}") from None
    return rules_from_dict(data, env, str(p))


def dumps_rules(ruleset: RuleSet, fmt: str = "yaml") -> str:
    data = ruleset.to_dict()
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    header = (
        "# predwatch alert rules (predwatch alerts rules ...). Edit thresholds freely;\n"
        "# `${VAR}` in destinations is read from the environment.\n"
    )
    return header + str(_yaml().safe_dump(data, sort_keys=False, allow_unicode=True, width=100))


def save_rules(ruleset: RuleSet, path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(dumps_rules(ruleset, "json" if p.suffix.lower() == ".json" else "yaml"), "utf-8")
    return p
