"""Run a snippet in fresh interpreters, for determinism checks across processes.

Two calls in one process share the hash seed, the id counters and every cache, so they agree
even when the output depends on set order or on process state; two interpreters with
different PYTHONHASHSEED values do not.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SEEDS = (1, 2)
# `python -c` puts its working directory first on sys.path: `tests.helpers` imports there.
REPO = Path(__file__).resolve().parents[2]


def outputs(code: str, seeds: tuple[int, ...] = SEEDS) -> list[str]:
    """What `code` prints in a fresh interpreter per hash seed, in the order of `seeds`."""
    out = []
    for seed in seeds:
        env = {**os.environ, "PYTHONHASHSEED": str(seed)}
        done = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        out.append(done.stdout)
    return out
