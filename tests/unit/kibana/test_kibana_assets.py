"""The committed NDJSON under kibana/ is what the generator makes for the demo model's real
baseline (demo_model.baseline.json: written by `predwatch demo`, FAA bird-strike reports).

Regenerate after changing the generator or the demo's features (copy the demo's
predwatch-demo-output/baseline.json over demo_model.baseline.json first):
    PREDWATCH_REGEN_KIBANA=1 .venv/bin/pytest tests/unit/kibana/test_kibana_assets.py
"""

from __future__ import annotations

import os
from pathlib import Path

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
        """kibana/predwatch-demo.ndjson equals a fresh generation (set PREDWATCH_REGEN_KIBANA=1
        to rewrite it)."""
        path = asset_dir("kibana") / ASSET
        objects = saved_objects(demo_baseline(), DEMO_MODEL)
        if os.environ.get("PREDWATCH_REGEN_KIBANA"):
            ndjson.write(path, objects)
        assert path.read_text(encoding="utf-8") == ndjson.dumps(objects), (
            "kibana/predwatch-demo.ndjson is stale; rerun with PREDWATCH_REGEN_KIBANA=1"
        )

    def test_committed_file_keeps_the_contract(self) -> None:
        """The committed objects parse and pass the contract checks."""
        objects = ndjson.read(asset_dir("kibana") / ASSET)
        assert contract.check(objects, DEMO_MODEL, demo_baseline()) == []
