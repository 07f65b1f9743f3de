"""Unit tests of the PII rules."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from predwatch.shipper._pii import PiiRules

from predwatch.errors import ConfigError


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
