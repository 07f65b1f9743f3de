"""The demo week's schedule and requests (pure, seeded)."""

from __future__ import annotations

import datetime as dt
import itertools
import random

import pytest

from predwatch.demo import model as mdl
from predwatch.demo import traffic as t
from tests.helpers import processes

END = dt.datetime(2026, 3, 8, 12, 30, 45, tzinfo=dt.UTC)
POOL = [
    {"ac_mass": 4.0, "num_engs": 2.0, "species": "GULLS", "remarks": "NO DAMAGE", "height": 100.0},
    {"ac_mass": 3.0, "num_engs": 2.0, "species": "HAWKS", "remarks": None, "height": None},
]


class TestWeek:
    def test_seven_days_ending_at_the_minute(self) -> None:
        """The week is the 7 days before `end`, rounded down to the minute."""
        start, end = t.week(END)
        assert end == dt.datetime(2026, 3, 8, 12, 30, tzinfo=dt.UTC)
        assert end - start == dt.timedelta(days=7)

    def test_scenarios_in_day_order(self) -> None:
        """Clean days first, then one failure a day, each window inside the week."""
        start, end = t.week(END)
        assert [s.key for s in t.SCENARIOS] == [
            "clean", "missing", "rare_category", "new_words", "wrong_version", "latency",
        ]  # fmt: skip
        windows = [s.window(start) for s in t.SCENARIOS]
        assert windows[0][0] == start and windows[-1][1] == end
        for (_, a_end), (b_start, _) in itertools.pairwise(windows):
            assert a_end == b_start


class TestSegments:
    def test_deterministic(self) -> None:
        """The same seed gives the same requests in processes with different hash seeds."""
        code = (
            "import datetime as dt; from predwatch.demo import traffic as t;"
            f"pool = {POOL!r}; start, _ = t.week({END!r});"
            "print(repr(t.segments(start, pool, 100, batch=5)))"
        )
        first, second = processes.outputs("import datetime;" + code)
        assert first == second
        start, _ = t.week(END)
        assert repr(t.segments(start, POOL, 100, batch=5)) + "\n" == first

    def test_cover_the_week_in_order(self) -> None:
        """Segments are contiguous; every request lies inside its segment."""
        start, end = t.week(END)
        segs = t.segments(start, POOL, 200, batch=10)
        assert segs[0].start == start and segs[-1].end == end
        for a, b in itertools.pairwise(segs):
            assert a.end == b.start
        for s in segs:
            for r in s.requests:
                assert s.start.timestamp() <= r.time < s.end.timestamp()
                assert r.endpoint in t.ENDPOINTS
        assert sum(s.predictions for s in segs) == 7 * 200

    def test_wrong_version_only_in_its_segment(self) -> None:
        """The experiment serves from half-way into day 6; latency is slow only on day 7."""
        start, _ = t.week(END)
        segs = t.segments(start, POOL, 100, batch=10)
        by_version = {s.scenario: s.version for s in segs}
        assert by_version["wrong_version"] == mdl.EXPERIMENT_VERSION
        assert {s.version for s in segs if s.scenario != "wrong_version"} == {mdl.VERSION}
        version_seg = next(s for s in segs if s.scenario == "wrong_version")
        assert version_seg.start == start + 5 * t.DAY + t.VERSION_SWITCH
        assert [s.scenario for s in segs if s.slow] == ["latency"]

    def test_empty_pool_is_refused(self) -> None:
        """Without serving rows there is no traffic to send."""
        with pytest.raises(ValueError):
            t.segments(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), [], 10)


class TestMutate:
    def test_missing_nulls_the_registry_features(self) -> None:
        """The missing scenario nulls ac_mass and num_engs, nothing else."""
        out = t.mutate("missing", POOL[0], random.Random(1))
        assert out["ac_mass"] is None and out["num_engs"] is None
        assert out["species"] == "GULLS" and POOL[0]["ac_mass"] == 4.0

    def test_rare_category_share(self) -> None:
        """About RARE_SHARE of the reports become the rare species."""
        rng = random.Random(2)
        hits = sum(t.mutate("rare_category", POOL[0], rng)["species"] == t.RARE_SPECIES
                   for _ in range(2000))  # fmt: skip
        assert abs(hits / 2000 - t.RARE_SHARE) < 0.05

    def test_new_words_are_drone_remarks(self) -> None:
        """New-word reports carry one of the drone remarks, formatted."""
        rng = random.Random(3)
        texts = {t.mutate("new_words", POOL[1], rng)["remarks"] for _ in range(200)}
        drone = [x for x in texts if x is not None]
        assert drone and all("{" not in x for x in drone)
        assert any("QUADCOPTER" in x or "DRONE" in x for x in drone)

    def test_other_scenarios_leave_inputs_alone(self) -> None:
        """Clean, version and latency segments send the pool's inputs unchanged."""
        for key in ("clean", "wrong_version", "latency"):
            assert t.mutate(key, POOL[0], random.Random(4)) == POOL[0]


class TestDiurnal:
    def test_night_is_quieter_than_afternoon(self) -> None:
        """Traffic follows a day curve (UTC hours)."""
        assert t.diurnal(3.0) < t.diurnal(14.0)
        assert all(0.0 < t.diurnal(h / 2) <= 1.25 for h in range(48))
