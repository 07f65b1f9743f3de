"""The pure parts of benchmarks/bench_calibration.py: Wilson interval, window slicing, BH."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up; imports find it
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    _load("results_md")  # what the script imports from its own folder
    return _load("bench_calibration")


class TestWilson:
    def test_zero_alarms(self, bench: ModuleType) -> None:
        """0 of 100 gives [0, z^2 / (n + z^2)], about 3.7 %."""
        lo, hi = bench.wilson(0, 100)
        assert lo == pytest.approx(0.0, abs=1e-12)
        z = 1.959963984540054
        assert hi == pytest.approx(z**2 / (100 + z**2))

    def test_five_of_hundred(self, bench: ModuleType) -> None:
        """5 of 100 gives the textbook 2.15-11.18 %."""
        lo, hi = bench.wilson(5, 100)
        assert lo == pytest.approx(0.02154, abs=1e-4)
        assert hi == pytest.approx(0.11175, abs=1e-4)

    def test_all_alarms(self, bench: ModuleType) -> None:
        """n of n reaches 1 at the top and mirrors 0 of n at the bottom."""
        lo, hi = bench.wilson(100, 100)
        assert hi == pytest.approx(1.0)
        assert lo == pytest.approx(1 - bench.wilson(0, 100)[1])


class TestSlicing:
    def test_time_range_holds_exactly_the_rows(self, bench: ModuleType) -> None:
        """A window's [start, end) contains rows first..first+rows-1 of its segment only."""
        times = [bench.row_time(seg, i) for seg in (0, 1) for i in range(3000)]
        start, end = bench.time_range(1, 1234, 500)
        inside = [t for t in times if start <= t < end]
        assert len(inside) == 500
        assert inside[0] == bench.row_time(1, 1234) and inside[-1] == bench.row_time(1, 1733)

    def test_a_full_segment_stays_in_its_day(self, bench: ModuleType) -> None:
        """The last row a segment may hold comes before the next segment's first row."""
        last = bench.row_time(0, bench.DAY_ROWS - 1)
        assert last < bench.row_time(1, 0)
        assert bench.DAY_ROWS >= 286_776  # flights' whole serving pool in one segment

    def test_spread_offsets_disjoint_when_they_fit(self, bench: ModuleType) -> None:
        """Ten spans of 100 in 1,000 rows tile it; more spans stay inside and in order."""
        assert bench.spread_offsets(10, 1000, 100) == list(range(0, 1000, 100))
        many = bench.spread_offsets(30, 1000, 100)
        assert many[0] == 0 and many[-1] == 900 and many == sorted(many)

    def test_span_too_long(self, bench: ModuleType) -> None:
        """A span longer than the segment is an error, not a short window."""
        with pytest.raises(ValueError, match="does not fit"):
            bench.spread_offsets(2, 100, 101)

    def test_drift_slots_are_disjoint_and_fit(self, bench: ModuleType) -> None:
        """Drift runs read two adjacent, disjoint windows; runs alternate over the shuffles."""
        slots = bench.aa_slots(7, 2, 10_000, 2000, True)
        assert [s.segment for s in slots] == [0, 1, 0, 1, 0, 1, 0]
        for s in slots:
            assert s.ref_segment == s.segment
            assert abs(s.first - s.ref_first) == 2000
            assert min(s.first, s.ref_first) >= 0 and max(s.first, s.ref_first) + 2000 <= 10_000
        assert bench.disjoint_spans(2, 10_000, 2000, True) == 4

    def test_skew_slots_have_no_reference(self, bench: ModuleType) -> None:
        """Skew runs read one window and compare it with the baseline."""
        slots = bench.aa_slots(3, 1, 5000, 500, False)
        assert [(s.first, s.ref_segment) for s in slots] == [(0, None), (2250, None), (4500, None)]


class TestBenjaminiHochberg:
    def test_step_up(self, bench: ModuleType) -> None:
        """The largest p below its BH line takes every smaller p with it; NaN never rejects."""
        p = [0.01, 0.035, 0.03, 0.2, float("nan")]
        # m = 4 finite: lines 0.0125, 0.025, 0.0375, 0.05; sorted 0.01 (in), 0.03 (out),
        # 0.035 (in: so 0.03 is rejected too), 0.2 (out)
        assert bench.bh_reject(p, 0.05) == [True, True, True, False, False]
        assert bench.bh_reject([0.5, np.nan], 0.05) == [False, False]


class TestVerdictOfSegments:
    def _feature(self, name: str, drifted: bool) -> dict[str, object]:
        tests = [{"name": "ks", "drifted": drifted}]
        return {"feature": name, "drifted": drifted, "tests": tests}

    def test_a_segment_feature_or_the_mix_flags_the_run(self, bench: ModuleType) -> None:
        """A run whose only alarm is inside a segment, or in the segment mix, or a vanished
        segment, is flagged (an A/A false alarm of a segmented run), named where it fired."""
        plain = {"features": [self._feature("x", False)], "predictions": {"drift": []}}
        assert not bench.verdict_of(plain).flagged
        seg = {
            "field": "carrier",
            "value": "UA",
            "drifted": True,
            "drifted_features": ["dest"],
            "features": [self._feature("dest", True)],
            "predictions": [],
        }
        v = bench.verdict_of({**plain, "segment_mix": [], "segments": [seg]})
        assert v.flagged and v.features == ("carrier=UA:dest",)
        assert v.tests == (("carrier=UA:dest", "ks"),)
        mix = {**plain, "segment_mix": [self._feature("carrier", True)], "segments": []}
        assert bench.verdict_of(mix).features == ("mix:carrier",)
        gone = {**seg, "features": [], "drifted_features": []}
        v = bench.verdict_of({**plain, "segment_mix": [], "segments": [gone]})
        assert v.features == ("carrier=UA:(segment)",)
