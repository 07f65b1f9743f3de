"""Adopting the spools of dead processes that shared this worker's spool root."""

from __future__ import annotations

from ._spool import SpoolDir, orphan_candidates
from ._worker_state import WorkerState, log


class Adoption(WorkerState):
    """Finds orphaned spools (their process is gone) and takes them over for sending."""

    def _adopt(self) -> None:
        own = self._own.path if self._own else None
        held = {sp.path for sp in self._adopted}
        for path in orphan_candidates(self.root, exclude=own):
            if path in held:
                continue
            sp = SpoolDir.try_adopt(path, self.segment_bytes)
            if sp is None:
                continue
            if sp.drained:
                sp.close(remove_if_drained=True)
                continue
            with self._state:
                self._adopted.append(sp)
                self._adopted_records += sp.pending_records
            self.stats.add(adopted_spools=1)
            log.info("predwatch adopted the spool %s (%d records)", path, sp.pending_records)
