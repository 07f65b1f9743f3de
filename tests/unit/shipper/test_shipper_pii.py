"""Unit tests of the PII rules."""

from __future__ import annotations

import hashlib
import hmac
from types import MappingProxyType
from typing import Any

import pandas as pd
import pytest

from predwatch.errors import ConfigError
from predwatch.shipper._pii import PiiRules, snapshot_call


class TestPiiRules:
    def test_drop_and_hash(self) -> None:
        """Dropped fields vanish; hashed ones become the keyed HMAC-SHA256 of their text."""
        rules = PiiRules({"email": "drop", "phone": "hash"}, key="k")
        snap = {"email": "a@b.c", "phone": 5551234, "age": 3}
        rules.apply(snap)
        expected = hmac.new(b"k", b"5551234", hashlib.sha256).hexdigest()
        assert snap == {"phone": expected, "age": 3}

    def test_none_stays_none(self) -> None:
        """A missing value stays missing."""
        snap = {"phone": None}
        PiiRules({"phone": "hash"}, key="k").apply(snap)
        assert snap == {"phone": None}

    def test_nested_copy(self) -> None:
        """Dotted rules reach into nested mappings without changing the caller's objects."""
        user = {"email": "a@b.c", "age": 3}
        snap = {"user": user}
        PiiRules({"user.email": "drop"}).apply(snap)
        assert snap == {"user": {"age": 3}}
        assert user == {"email": "a@b.c", "age": 3}

    def test_flat_dotted_key_wins(self) -> None:
        """A flat key with dots (a feature name) is matched before nested paths."""
        snap = {"user.email": "x"}
        PiiRules({"user.email": "drop"}).apply(snap)
        assert snap == {}

    def test_hash_needs_key(self) -> None:
        """Hashing without a key is refused with a clear error."""
        with pytest.raises(ConfigError, match="secret key"):
            PiiRules({"phone": "hash"})

    def test_unknown_action(self) -> None:
        """Unknown actions are refused."""
        with pytest.raises(ConfigError, match="unknown"):
            PiiRules({"phone": "mask"})


class Pairs:
    """An object with items() only."""

    def __init__(self, d: dict[str, Any]) -> None:
        self._d = d

    def items(self) -> Any:
        return self._d.items()


class KeysOnly:
    """An object with keys() and __getitem__ only."""

    def __init__(self, d: dict[str, Any]) -> None:
        self._d = d

    def keys(self) -> Any:
        return self._d.keys()

    def __getitem__(self, k: str) -> Any:
        return self._d[k]


class EmailKey:
    def __str__(self) -> str:
        return "email"

    def __hash__(self) -> int:
        return 1


RULES = PiiRules({"email": "drop", "phone": "hash", "user.email": "drop"}, key="k")
PHONE = hmac.new(b"k", b"555-1234", hashlib.sha256).hexdigest()


def containers() -> list[Any]:
    d = {"email": "a@b.c", "phone": "555-1234", "age": 3}
    return [
        d,
        MappingProxyType(d),
        pd.Series(d, dtype=object),
        Pairs(d),
        KeysOnly(d),
        list(d.items()),
    ]


class TestSnapshotCall:
    @pytest.mark.parametrize("value", containers(), ids=lambda v: type(v).__name__)
    def test_every_container_type(self, value: Any) -> None:
        """Inputs, features and labels of any mapping type are copied and the rules applied."""
        extra: dict[str, Any] = {"features": value, "labels": value}
        snap = snapshot_call(value, extra, RULES)
        for group in (snap, extra["features"], extra["labels"]):
            assert type(group) is dict
            assert group == {"phone": PHONE, "age": 3}

    def test_nested_any_type_and_lists(self) -> None:
        """A dotted rule walks nested mappings of any type and lists of them; no caller
        object changes."""
        inner = {"email": "a@b.c", "age": 3}
        value = {
            "user": MappingProxyType(inner),
            "users": [pd.Series(inner, dtype=object), inner],
            "user.email": "flat@b.c",
        }
        rules = PiiRules({"user.email": "drop", "users.email": "drop"})
        snap = snapshot_call(value, None, rules)
        assert snap["user"] == {"age": 3} and "user.email" not in snap
        assert snap["users"] == [{"age": 3}, {"age": 3}]
        assert inner == {"email": "a@b.c", "age": 3}

    def test_keys_matched_by_text(self) -> None:
        """A key that is not a string matches a rule by its text."""
        snap = snapshot_call({EmailKey(): "a@b.c", "age": 3}, None, RULES)
        assert snap == {"age": 3}

    def test_non_mapping_withheld(self) -> None:
        """With rules on, a group that is not a mapping is withheld, not shipped as is."""
        snap = snapshot_call(["a@b.c"], {"features": "a@b.c"}, RULES)
        assert "a@b.c" not in repr(snap)
        without = snapshot_call(["x"], None, None)
        assert without == ["x"]

    def test_hash_of_value_without_text_drops_it(self) -> None:
        """A value to hash that has no text is dropped, never shipped in clear."""

        class NoText:
            def __str__(self) -> str:
                raise RuntimeError("no")

            def __repr__(self) -> str:
                raise RuntimeError("no")

        snap = snapshot_call({"phone": NoText(), "age": 3}, None, RULES)
        assert snap == {"age": 3}
