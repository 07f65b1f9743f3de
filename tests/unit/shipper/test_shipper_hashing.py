"""Hashing and fork(): a fork waits for a hash in progress (OpenSSL's locks are not fork-safe)."""

from __future__ import annotations

import ast
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from predwatch.shipper import _hashing

SHIPPER = Path(__file__).resolve().parents[3] / "shipper"


class TestForkDuringHash:
    def test_fork_waits_for_the_hash(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A fork while a shipper thread is hashing happens after the hash, never inside it."""
        inside, release, done = threading.Event(), threading.Event(), []
        real = _hashing.hashlib.sha256

        def slow(data: bytes) -> Any:
            inside.set()
            release.wait(10)
            h = real(data)
            done.append(True)
            return h

        monkeypatch.setattr(_hashing.hashlib, "sha256", slow)
        t = threading.Thread(target=_hashing.sha256_hex, args=(b"x",))
        t.start()
        assert inside.wait(10)
        threading.Timer(0.2, release.set).start()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child only reports what it saw and leaves
            os.write(w, b"1" if done else b"0")
            os._exit(0)
        os.waitpid(pid, 0)
        t.join(10)
        assert os.read(r, 1) == b"1"

    def test_hashing_works_in_the_child(self) -> None:
        """After a fork both processes hash (the lock is released on both sides)."""
        expected = _hashing.sha256_hex(b"abc")
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.write(w, _hashing.sha256_hex(b"abc").encode())
            os._exit(0)
        os.waitpid(pid, 0)
        assert os.read(r, 64).decode() == expected == _hashing.sha256_hex(b"abc")
        assert _hashing.hmac_sha256_hex(b"k", b"v") != _hashing.sha256_hex(b"v")


def test_all_shipper_hashing_goes_through_the_guard() -> None:
    """No shipper module but _hashing imports hashlib or hmac."""
    offenders = []
    for path in sorted(SHIPPER.glob("*.py")):
        if path.name == "_hashing.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n in ("hashlib", "hmac")]
    assert offenders == []
