"""Model checks: windows and durations, staleness, non-finite predictions, latency, trend."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy import stats as sps

from predwatch.analyzers import checks
from predwatch.analyzers.aggregates import (
    Latency,
    NumericAggs,
    PredictionAggs,
    TrendBucket,
    VersionGroup,
    Window,
    format_duration,
    parse_duration,
    parse_time,
)
from predwatch.analyzers.stats import Summary
from predwatch.errors import ConfigError

NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


class TestWindows:
    @pytest.mark.parametrize(
        ("text", "seconds"),
        [("15m", 900), ("1h", 3600), ("7d", 604800), ("90s", 90), ("2w", 1209600)],
    )
    def test_parse_duration(self, text: str, seconds: int) -> None:
        """Durations are a number and a unit."""
        assert parse_duration(text).total_seconds() == seconds
        assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)

    @pytest.mark.parametrize("text", ["", "1", "h", "1y", "-5m", "0m"])
    def test_bad_duration(self, text: str) -> None:
        """Malformed or zero durations are a ConfigError naming the value."""
        with pytest.raises(ConfigError):
            parse_duration(text)

    def test_parse_time(self) -> None:
        """ISO 8601 with Z, offsets or none (UTC)."""
        assert parse_time("2026-03-01T12:00:00Z") == NOW
        assert parse_time("2026-03-01T13:00:00+01:00") == NOW
        assert parse_time("2026-03-01T12:00") == NOW
        with pytest.raises(ConfigError, match="ISO 8601"):
            parse_time("yesterday")

    def test_window(self) -> None:
        """Windows are [start, end); previous is the same length right before."""
        w = Window.ending(NOW, dt.timedelta(hours=1))
        assert w.previous() == Window(NOW - dt.timedelta(hours=2), NOW - dt.timedelta(hours=1))
        assert Window.parse_range("2026-03-01T10:00Z..2026-03-01T12:00Z").end == NOW
        with pytest.raises(ConfigError, match="after its start"):
            Window(NOW, NOW)
        with pytest.raises(ConfigError, match=r"START\.\.END"):
            Window.parse_range("2026-03-01")


class TestStaleness:
    def test_trained_at_from_predictions(self) -> None:
        """A served version older than max_age is stale; its age comes from model.trained_at."""
        groups = [
            VersionGroup("1", 10, None, (), {}, NOW - 40 * DAY),
            VersionGroup("2", 10, None, (), {}, NOW - 2 * DAY),
        ]
        st = checks.staleness(NOW - 2 * DAY, groups, None, "2", NOW, 30 * DAY)
        assert st.stale and st.stale_versions == ("1",) and st.source == "predictions"
        assert st.to_dict()["age_days"] == 2.0 and st.to_dict()["max_age"] == "30d"

    def test_falls_back_to_the_baseline(self) -> None:
        """Without model.trained_at in the documents the baseline's trained_at is used."""
        st = checks.staleness(None, [], "2026-01-01T12:00:00Z", "1", NOW, 30 * DAY)
        assert st.source == "baseline" and st.stale and st.stale_versions == ("1",)

    def test_no_max_age_only_reports(self) -> None:
        """Without --max-age the age is reported, never judged."""
        st = checks.staleness(NOW - 400 * DAY, [], None, "1", NOW, None)
        assert not st.stale and st.age == 400 * DAY
        assert checks.staleness(None, [], None, "1", NOW, DAY).source == "unknown"


class TestNonFinite:
    def test_flagged_for_numeric_predictions(self) -> None:
        """Any prediction without a finite value is a finding; label-only models are exempt."""
        value = NumericAggs((1.0,), Summary(1, 0.5, float("nan")), 10, 0)
        assert checks.nonfinite(PredictionAggs(value, None, None, 3, 2), 10).flagged
        assert not checks.nonfinite(PredictionAggs(value, None, None, 3, 0), 10).flagged
        assert not checks.nonfinite(PredictionAggs(None, None, None, 3, 2), 10).flagged
        assert checks.nonfinite(None, 0).to_dict()["rate"] is None


class TestLatency:
    def _lat(self, p95: float | None, count: float = 100) -> Latency:
        return Latency(count, {"50": 10.0, "95": p95})

    def test_regression(self) -> None:
        """p95 more than the tolerance above the previous window's, with more latencies
        above the previous p95 than chance explains, is a regression."""
        assert checks.latency_check(self._lat(40), self._lat(20), above=40).regressed
        assert not checks.latency_check(self._lat(24), self._lat(20), above=40).regressed

    def test_a_large_ratio_within_chance_is_not_a_regression(self) -> None:
        """5 of 100 latencies above the previous p95 is what the same distribution gives:
        the ratio alone does not flag, and without the count nothing is judged."""
        within = checks.latency_check(self._lat(40), self._lat(20), above=5)
        assert within.beyond_tolerance and not within.regressed
        assert within.p_value is not None and within.p_value > 0.3
        assert not checks.latency_check(self._lat(40), self._lat(20)).regressed

    @staticmethod
    def _run(rng: np.random.Generator, n: int, scale: float) -> checks.LatencyCheck:
        prev = rng.lognormal(3.0, 1.0, n)
        cur = rng.lognormal(3.0, 1.0, n) * scale
        p95 = float(np.percentile(prev, 95))
        lat = [Latency(n, {"95": float(np.percentile(x, 95))}) for x in (cur, prev)]
        return checks.latency_check(lat[0], lat[1], above=float((cur > p95).sum()))

    def test_false_alarms_of_heavy_tailed_latency_stay_under_alpha(self) -> None:
        """A/A with lognormal (sigma 1) latencies, 20 to 300 per window: the ratio alone
        passes 1.25 in 10-35 % of runs; the verdict flags at most alpha (99.9 % bound of
        a 5 % rate over 1,000 runs per size; fixed seed)."""
        rng = np.random.default_rng(7)
        bound = int(sps.binom.ppf(0.999, 1000, 0.05))
        for n in (20, 50, 300):
            runs = [self._run(rng, n, 1.0) for _ in range(1000)]
            assert sum(r.beyond_tolerance for r in runs) > 90  # the old rule's alarms
            assert sum(r.regressed for r in runs) <= bound, n

    def test_a_real_slowdown_is_caught(self) -> None:
        """Every latency 1.6 times slower, 300 per window: flagged in most runs."""
        rng = np.random.default_rng(8)
        runs = [self._run(rng, 300, 1.6) for _ in range(200)]
        assert sum(r.regressed for r in runs) >= 150

    def test_insufficient(self) -> None:
        """Too few latencies or an undefined p95 never flag."""
        assert "insufficient" in checks.latency_check(self._lat(40, 5), self._lat(20)).note
        assert not checks.latency_check(self._lat(None), self._lat(20)).regressed
        assert not checks.latency_check(self._lat(40), None).regressed

    def test_note_names_the_empty_window(self) -> None:
        """An empty previous window is named as such (the note used to say "a window" or
        "no latency measured" although the current window had latencies)."""
        empty = Latency(0.0, {"50": None, "95": None})
        assert checks.latency_check(self._lat(40), empty).note == (
            "insufficient data: no latencies in the previous window"
        )
        assert checks.latency_check(self._lat(40), None).note.endswith("the previous window")
        assert checks.latency_check(empty, self._lat(20)).note.endswith("in the window")
        few = checks.latency_check(self._lat(40), self._lat(20, 5)).note
        assert few == "insufficient data: 5 latencies in the previous window, need 20"


class TestTrend:
    def test_slope_per_hour(self) -> None:
        """The count-weighted slope of bucket means is in units per hour."""
        buckets = [
            TrendBucket(
                NOW + i * dt.timedelta(minutes=30), 10, 1.0 + 0.5 * i, None, None, None, None
            )
            for i in range(4)
        ]
        assert checks.trend_slope(buckets) == pytest.approx(1.0)
        empty = TrendBucket(NOW, 0, None, None, None, None, None)
        assert checks.trend_slope([buckets[0], empty]) is None
