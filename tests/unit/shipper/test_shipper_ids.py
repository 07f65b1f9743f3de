"""Unit tests of the prediction id generator."""

from __future__ import annotations

import time
import uuid

from predwatch.shipper._ids import IdGenerator


class TestIdGenerator:
    def test_is_uuid7(self) -> None:
        """Ids parse as RFC 9562 UUIDs of version 7."""
        u = uuid.UUID(IdGenerator()(time.time()))
        assert u.version == 7
        assert u.variant == uuid.RFC_4122

    def test_time_sortable(self) -> None:
        """Ids of later milliseconds sort after earlier ones, and within one ms by counter."""
        gen = IdGenerator()
        ids = [gen(1_700_000_000.0 + i / 1000) for i in range(50)]
        ids += [gen(1_700_000_000.2) for _ in range(50)]
        assert ids == sorted(ids)

    def test_unique(self) -> None:
        """A burst of ids in one millisecond has no duplicate."""
        gen = IdGenerator()
        now = time.time()
        ids = {gen(now) for _ in range(100_000)}
        assert len(ids) == 100_000

    def test_timestamp_embedded(self) -> None:
        """The first 48 bits are the Unix time in milliseconds."""
        u = uuid.UUID(IdGenerator()(1_700_000_000.123))
        assert u.int >> 80 == 1_700_000_000_123

    def test_reseed_changes_node(self) -> None:
        """After reseed (as in a forked child) ids differ in their node part."""
        gen = IdGenerator()
        a = gen(1.0)
        gen.reseed()
        assert gen(1.0)[-12:] != a[-12:]

    def test_cached_template_matches_fresh_layout(self) -> None:
        """Ids from the cached per-millisecond template equal the full layout built by hand."""
        gen = IdGenerator()
        for now in (1.0, 1_700_000_000.123, 1_700_000_000.123, 1_700_000_000.124, 1.0):
            u = uuid.UUID(gen(now))
            assert u.int >> 80 == int(now * 1000)
            assert str(u)[-12:] == gen._tail

    def test_reseed_drops_cached_node(self) -> None:
        """A reseed within the same millisecond uses the new node part, not the cached one."""
        gen = IdGenerator()
        gen(5.0)
        gen.reseed()
        assert gen(5.0)[-12:] == gen._tail
