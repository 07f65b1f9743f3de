"""The caller's snapshot of one call, and the per-field PII rules applied to it.

`snapshot_call` is the one normalisation every entry point uses (`Shipper.log_prediction`,
the logging handler and the structlog processor all go through `Shipper.submit_record`):
it copies `inputs`, `features` and `labels` into fresh dicts, whatever mapping type the
app passed (dict, MappingProxyType, pandas Series, any object with `items()` or
`keys()`/`__getitem__`, or a sequence of pairs), then applies the PII rules, before the
record reaches the memory queue, the spool or Elasticsearch.

A rule names an input, served feature or label and an action:
- "drop": the field is removed;
- "hash": the value becomes the hex HMAC-SHA256 of its text under a secret key
  (equal values stay joinable and countable; a plain hash of a low-entropy value such
  as a phone number could be reversed by brute force, so a key is required). A value
  that has no text is dropped instead. None stays None.
A rule matches a top-level key by its text (a key that is not a string matches by its
text, as it will be named in Elasticsearch). A dotted rule ("user.email") also walks nested
mappings of any of the types above, and lists or tuples of them, copying each container it
changes so the caller's objects are never modified. The flat key `user.email` and the nested
path are both handled. With rules configured, a group that is not a mapping (so no field of
it can be told apart) is withheld: it ships as a placeholder and counts as unserializable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from predwatch.errors import ConfigError

from ._hashing import hmac_sha256_hex
from ._serialize import key_text

ACTIONS = ("drop", "hash")
_GROUPS = ("features", "labels")  # of a record's `extra`; `inputs` is the record's own


class Withheld:
    """Stands for a group that could not be read field by field while PII rules are on."""

    __slots__ = ()

    def __repr__(self) -> str:  # the serializer stores this text and counts it unserializable
        return "<withheld: not a mapping while PII rules are on>"


WITHHELD = Withheld()


def as_dict(value: Any) -> dict[Any, Any] | None:
    """A shallow dict copy of a mapping-like `value`, or None when it is not one."""
    if type(value) is dict:
        return value.copy()
    if isinstance(value, (str, bytes)):
        return None
    try:
        if isinstance(value, Mapping):
            return dict(value.items())
        items = getattr(value, "items", None)
        if callable(items):  # pandas Series, DataFrame, mapping look-alikes
            return dict(items())
        keys = getattr(value, "keys", None)
        if callable(keys) and hasattr(value, "__getitem__"):
            return {k: value[k] for k in keys()}
        if isinstance(value, (list, tuple)):
            return dict(value)  # pairs
    except Exception:
        return None
    return None


def snapshot_call(inputs: Any, extra: dict[str, Any] | None, rules: PiiRules | None) -> Any:
    """The inputs to enqueue; `extra`'s features and labels are replaced by copies in place.

    Without rules, a dict is copied with `dict.copy()` (the hot path) and anything that is
    not a mapping is passed on as it is (the worker stores it as `_value`, flagged)."""
    if type(inputs) is dict and rules is None:
        snap: Any = inputs.copy()
    else:
        snap = _group(inputs, rules)
    if extra is not None:
        for key in _GROUPS:
            value = extra.get(key)
            if value is not None:
                extra[key] = _group(value, rules)
    return snap


def _group(value: Any, rules: PiiRules | None) -> Any:
    if value is None:
        return {}
    snap = as_dict(value)
    if snap is None:
        return value if rules is None else {"_value": WITHHELD}
    if rules is not None:
        rules.apply(snap)
    return snap


class PiiRules:
    """Validated PII rules; `apply` edits a fresh snapshot in place."""

    __slots__ = ("_by_name", "_key", "_nested", "_rules")

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
        self._by_name = dict(rules)
        self._nested = tuple((f.split("."), a) for f, a in rules.items() if "." in f)
        self._key = key.encode() if isinstance(key, str) else key

    def __bool__(self) -> bool:
        return bool(self._rules)

    def hash_value(self, value: Any) -> str | None:
        """Hex HMAC-SHA256 of the value's text; None when the value has no text."""
        if type(value) is str:
            data = value.encode("utf-8", "replace")
        elif isinstance(value, bytes):
            data = value
        else:
            text = key_text(value)
            if text is None:
                return None
            data = text.encode("utf-8", "replace")
        assert self._key is not None
        return hmac_sha256_hex(self._key, data)

    def apply(self, snap: dict[Any, Any]) -> None:
        """Drop or hash the configured fields of `snap` (a copy owned by the shipper)."""
        for field, action in self._rules:
            if field in snap:
                self._act(snap, field, action)
        if not _all_text(snap):
            for k in list(snap):
                if type(k) is not str:
                    found = self._by_name.get(key_text(k) or "")
                    if found is not None:
                        self._act(snap, k, found)
        for parts, action in self._nested:
            self._apply_nested(snap, parts, action)

    def _act(self, container: dict[Any, Any], key: Any, action: str) -> None:
        if action == "drop":
            del container[key]
            return
        value = container[key]
        if value is None:
            return
        hashed = self.hash_value(value)
        if hashed is None:
            del container[key]
        else:
            container[key] = hashed

    def _apply_nested(self, cur: dict[Any, Any], parts: list[str], action: str) -> None:
        """Apply the rule at path `parts` inside `cur`, copying what it walks through."""
        head, rest = parts[0], parts[1:]
        if not rest:
            if head in cur:
                self._act(cur, head, action)
            return
        if head not in cur:
            return
        copy = _copy_container(cur[head])
        if copy is None:
            return
        cur[head] = copy
        targets = copy if isinstance(copy, list) else [copy]
        for i, item in enumerate(targets):
            if isinstance(copy, list):
                item = _copy_container(item)
                if not isinstance(item, dict):
                    continue
                copy[i] = item
            self._apply_nested(item, rest, action)


def _copy_container(value: Any) -> dict[Any, Any] | list[Any] | None:
    if isinstance(value, (list, tuple)):
        return list(value)
    return as_dict(value)


def _all_text(snap: dict[Any, Any]) -> bool:
    # str.join runs in C and refuses any key that is not a string: the cheapest test.
    try:
        "".join(snap)
    except TypeError:
        return False
    return True
