"""The committed NDJSON under kibana/ is what the generator makes for the demo model's real
baseline (demo_model.baseline.json: written by `predwatch demo`, FAA bird-strike reports).

The test only compares; it never rewrites the committed file. Regenerate it with
    .venv/bin/python scripts/regen_assets.py
(docs/contributing.md, "Regenerating assets").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from predwatch.assets import asset_dir
from predwatch.baseline import Baseline, load_baseline
from predwatch.kibana import contract, ndjson
from predwatch.kibana.objects import saved_objects

ASSET = "predwatch-demo.ndjson"
DEMO_MODEL = "demo"


def demo_baseline() -> Baseline:
    return load_baseline(Path(__file__).with_name("demo_model.baseline.json"))


class TestDemoAsset:
    def test_committed_file_matches_the_generator(self) -> None:
        """kibana/predwatch-demo.ndjson equals a fresh generation in this process."""
        path = asset_dir("kibana") / ASSET
        objects = saved_objects(demo_baseline(), DEMO_MODEL)
        assert path.read_text(encoding="utf-8") == ndjson.dumps(objects), (
            "kibana/predwatch-demo.ndjson is stale; regenerate it with "
            "`python scripts/regen_assets.py`, review the diff and commit it"
        )

    @pytest.mark.contract
    def test_committed_file_keeps_the_contract(self) -> None:
        """The committed objects parse and pass the contract checks (predwatch's model of
        Kibana, not a running Kibana)."""
        objects = ndjson.read(asset_dir("kibana") / ASSET)
        assert contract.check(objects, DEMO_MODEL, demo_baseline()) == []
