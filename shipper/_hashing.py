"""SHA-256 for the shipper, safe across `fork()`.

hashlib and hmac run in OpenSSL, which takes internal locks. If the process forks while one
of the shipper's threads is inside OpenSSL, the child inherits that lock held by a thread that
does not exist there; the child's next hash blocks on it forever while holding the GIL, and the
whole child freezes (a gunicorn worker forked right after `--preload` started a shipper, whose
deployment thread was hashing). Every hash the shipper computes runs under one lock that
`fork()` takes first (`os.register_at_fork`), so a fork waits for a hash in progress (a few
microseconds) instead of splitting it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading

# Re-entrant: the SIGTERM handler runs on the main thread, possibly while that thread hashes.
_lock = threading.RLock()


def sha256_hex(data: bytes) -> str:
    with _lock:
        return hashlib.sha256(data).hexdigest()


def hmac_sha256_hex(key: bytes, data: bytes) -> str:
    with _lock:
        return hmac.new(key, data, hashlib.sha256).hexdigest()


def _before_fork() -> None:
    _lock.acquire()


def _after_fork() -> None:
    _lock.release()  # in the child too: the forking thread is the one that took it


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork, after_in_child=_after_fork)
