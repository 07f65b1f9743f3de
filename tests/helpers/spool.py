"""Records left on disk by a shipper process that is gone (its spool directories)."""

from __future__ import annotations

from pathlib import Path

from predwatch.shipper._spool import SpoolDir, orphan_candidates


def spooled(root: Path) -> int:
    """Records pending in the spools under `root`; each must be adoptable (its owner gone)."""
    total = 0
    for path in orphan_candidates(root):
        sp = SpoolDir.try_adopt(path)
        assert sp is not None, "the process is gone, its spool must be adoptable"
        total += sp.pending_records
        sp.close(remove_if_drained=False)
    return total
