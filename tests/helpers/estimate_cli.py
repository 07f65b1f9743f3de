"""`predwatch quality --estimate` through its click command, for the estimate e2e tests."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from predwatch.analyzers.quality_cli import quality
from predwatch.config import ESConfig
from tests.helpers import quality_data as qd


def run_estimate(
    cfg: ESConfig, model: str, window: tuple[dt.datetime, dt.datetime], base: Path, *extra: str
) -> tuple[int, dict[str, Any]]:
    """Exit code and JSON of `quality --estimate --reference baseline` on `window`."""
    args = ["--model", model, "--start", qd.iso(window[0]), "--end", qd.iso(window[1]),
            "--estimate", "--baseline", str(base), "--reference", "baseline", "--json",
            "--es-url", cfg.url, *extra]  # fmt: skip
    r = CliRunner().invoke(quality, args)
    assert r.exit_code in (0, 1), r.output
    return r.exit_code, json.loads(r.output[r.output.index("{") :])
