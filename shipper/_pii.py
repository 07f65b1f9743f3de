"""Per-field PII rules, applied on the caller's snapshot before it reaches any queue or spool.

A rule names an input (or served feature) and an action:
- "drop": the field is removed;
- "hash": the value becomes the hex HMAC-SHA256 of its text under a secret key
  (equal values stay joinable and countable; a plain hash of a low-entropy value such
  as a phone number could be reversed by brute force, so a key is required).
A rule matches a top-level key exactly (keys with dots are flat feature names); when no
such key exists, a dotted rule walks nested mappings ("user.email"), copying each nested
mapping it changes so the caller's objects are never modified. None stays None.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from predwatch.errors import ConfigError

ACTIONS = ("drop", "hash")


class PiiRules:
    """Validated PII rules; `apply` edits a fresh snapshot in place."""

    __slots__ = ("_key", "_rules")

    def __init__(self, rules: Mapping[str, str], key: str | bytes | None = None) -> None:
        bad = {f: a for f, a in rules.items() if a not in ACTIONS}
        if bad:
            field, action = next(iter(bad.items()))
            raise ConfigError(
                f"PII action {action!r} for field {field!r} is unknown; use 'drop' or 'hash'"
            )
        if any(a == "hash" for a in rules.values()) and not key:
            raise ConfigError(
                "PII rule 'hash' needs a secret key: pass pii_key=... or set PREDWATCH_PII_KEY"
            )
        self._rules = tuple(rules.items())
        self._key = key.encode() if isinstance(key, str) else key

    def __bool__(self) -> bool:
        return bool(self._rules)

    def hash_value(self, value: Any) -> str:
        data = value if isinstance(value, bytes) else str(value).encode("utf-8", "replace")
        assert self._key is not None
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()

    def apply(self, snap: dict[str, Any]) -> None:
        """Drop or hash the configured fields of `snap` (a copy owned by the shipper)."""
        for field, action in self._rules:
            if field in snap:
                self._act(snap, field, action)
            elif "." in field:
                self._apply_nested(snap, field.split("."), action)

    def _act(self, container: dict[str, Any], key: str, action: str) -> None:
        if action == "drop":
            del container[key]
        elif container[key] is not None:
            container[key] = self.hash_value(container[key])

    def _apply_nested(self, snap: dict[str, Any], parts: list[str], action: str) -> None:
        cur = snap
        for part in parts[:-1]:
            nxt = cur.get(part)
            if not isinstance(nxt, Mapping):
                return
            copy = dict(nxt)
            cur[part] = copy
            cur = copy
        if parts[-1] in cur:
            self._act(cur, parts[-1], action)
