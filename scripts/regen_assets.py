"""Regenerate the committed generated assets from the code that makes them.

    .venv/bin/python scripts/regen_assets.py

Today that is kibana/predwatch-demo.ndjson: the saved objects the Kibana generator makes for
the demo model's baseline (tests/unit/kibana/demo_model.baseline.json, written by
`predwatch demo`). Run it after changing the generator or the demo's features (copy the
demo's predwatch-demo-output/baseline.json over that baseline first), review the diff and
commit it. tests/unit/kibana/test_kibana_assets.py fails while the committed file differs
from a fresh generation; it never rewrites the file itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

from predwatch.baseline import load_baseline
from predwatch.kibana import contract, ndjson
from predwatch.kibana.objects import saved_objects

REPO = Path(__file__).resolve().parent.parent
DEMO_BASELINE = REPO / "tests" / "unit" / "kibana" / "demo_model.baseline.json"
DEMO_ASSET = REPO / "kibana" / "predwatch-demo.ndjson"
DEMO_MODEL = "demo"


def demo_asset_text() -> str:
    """The NDJSON text of the demo model's saved objects, as the generator makes it now."""
    baseline = load_baseline(DEMO_BASELINE)
    objects = saved_objects(baseline, DEMO_MODEL)
    problems = contract.check(objects, DEMO_MODEL, baseline)
    if problems:  # never commit objects the contract test would reject
        raise SystemExit(f"error: the generated saved objects break the contract: {problems[0]}")
    return ndjson.dumps(objects)


def main() -> int:
    text = demo_asset_text()
    old = DEMO_ASSET.read_text(encoding="utf-8") if DEMO_ASSET.exists() else None
    if old == text:
        print(f"{DEMO_ASSET.relative_to(REPO)} is up to date")
        return 0
    DEMO_ASSET.write_text(text, encoding="utf-8")
    print(f"rewrote {DEMO_ASSET.relative_to(REPO)}; review `git diff` and commit it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
