"""Loading and validating a baseline needs none of the analyzers' heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from predwatch import schema
from predwatch.baseline import Baseline, CategoricalProfile, FeatureProfile, NumericProfile

HEAVY = ("pandas", "numpy", "scipy", "pyarrow")


def _baseline() -> Baseline:
    num = NumericProfile(edges=(1.0,), counts=(2.0, 2.0), mean=1.0, var=1.0, min=0.0, max=2.0, n=4)
    cat = CategoricalProfile({"a": 3}, other=1, vocabulary=frozenset("ab"), n=4)
    features = (
        FeatureProfile("x", schema.FeatureType.NUMERIC, 4, 0, numeric=num),
        FeatureProfile("c", schema.FeatureType.CATEGORICAL, 4, 0, categorical=cat),
    )
    return Baseline("m", "1", None, None, "2026-01-01T00:00:00Z", 4, features)


class TestLightImport:
    def test_load_and_save_import_no_heavy_library(self, tmp_path: Path) -> None:
        """A fresh interpreter round-trips a baseline file without importing pandas/numpy/scipy."""
        path = tmp_path / "b.json"
        path.write_text(json.dumps(_baseline().to_dict()))
        code = (
            "import sys\n"
            "from predwatch.baseline import load_baseline, save_baseline\n"
            f"b = load_baseline({str(path)!r})\n"
            f"save_baseline(b, {str(tmp_path / 'again.json')!r})\n"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == ""
        assert json.loads((tmp_path / "again.json").read_text()) == json.loads(path.read_text())
