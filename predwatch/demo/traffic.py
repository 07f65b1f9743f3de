"""The demo's week of serving traffic: which scenario runs when, and the requests it sends.

Pure and seeded: the same week end, volume and seed give the same requests. The week is
the 7 days ending at `week_end` (so Kibana's "Last 7 days" shows all of it):

    days 1-2  clean            nothing injected: the contrast, and the drift reference
    day 3     missing          ac_mass and num_engs arrive null (aircraft-registry lookup down)
    day 4     rare_category    SNOW GOOSE, 0.1% of training reports, is in ~40% (migration)
    day 5     new_words        a new reporting app: drone (UAS) reports, words never seen
    day 6     wrong_version    from mid-day the experiment 2.0.0-exp serves instead of 1.4.0
    day 7     latency          a slow dependency adds latency to every request
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from predwatch.demo import model as mdl

DAY = dt.timedelta(days=1)
DAYS = 7
ENDPOINTS = ("logging", "structlog")  # the serving app's two front ends
RARE_SPECIES = "SNOW GOOSE"
RARE_SHARE = 0.4
NEW_WORDS_SHARE = 0.6
VERSION_SWITCH = dt.timedelta(hours=12)  # the wrong version goes live half-way into day 6
# Drone-encounter remarks: real-sounding reports whose jargon the 1990s reports never used.
DRONE_REMARKS = (
    "DJI PHANTOM QUADCOPTER STRUCK RADOME ON FINAL",
    "UAS NEAR MISS, DRONE HOVERING AT {h} FT, DRONE OPERATOR UNIDENTIFIED",
    "QUADCOPTER DEBRIS ON RWY {rw}, LIPO BATTERY FRAGMENTS RECOVERED",
    "MULTIROTOR UAV SIGHTED INSIDE CLASS B AIRSPACE AT {h} FT",
    "SUSPECTED DRONE INGESTION NR 2 ENG, GOPRO MOUNT RECOVERED",
    "FPV DRONE SWARM REPORTED BY TWR, GEOFENCE INACTIVE",
    "OCTOCOPTER WITH CAMERA GIMBAL PASSED LEFT WINGTIP",
    "HOBBYIST DRONE STRUCK WINDSCREEN, CARBON FIBER PROPELLER SHARDS",
    "UAS TELEMETRY LOST, QUADCOPTER FLYAWAY NEAR APCH END",
    "GEOFENCED DRONE ZONE BREACH, LIDAR PAYLOAD DEBRIS ON TWY",
)


@dataclass(frozen=True)
class Scenario:
    """One injected failure (or the clean period), as the story names it."""

    key: str
    title: str
    injected: str
    first_day: int  # 1-based
    last_day: int
    start_offset: dt.timedelta = dt.timedelta(0)  # into first_day

    def window(self, week_start: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) of the whole days the scenario lies in (what the analyzer looks at)."""
        return (week_start + (self.first_day - 1) * DAY, week_start + self.last_day * DAY)

    def active(self, week_start: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) during which the failure is injected."""
        start, end = self.window(week_start)
        return start + self.start_offset, end

    def days(self) -> str:
        if self.first_day == self.last_day:
            return f"day {self.first_day}"
        return f"days {self.first_day}-{self.last_day}"


SCENARIOS = (
    Scenario("clean", "clean period", "nothing: the contrast, and the drift reference", 1, 2),
    Scenario(
        "missing",
        "a feature becomes unavailable",
        "ac_mass and num_engs arrive null (the aircraft-registry lookup is down)",
        3,
        3,
    ),
    Scenario(
        "rare_category",
        "a rare category becomes common",
        f"species {RARE_SPECIES} (0.1% of training reports) in ~{RARE_SHARE:.0%} of reports",
        4,
        4,
    ),
    Scenario(
        "new_words",
        "users type words the model never saw",
        f"a new reporting app: drone (UAS) remarks in ~{NEW_WORDS_SHARE:.0%} of reports",
        5,
        5,
    ),
    Scenario(
        "wrong_version",
        "the wrong model version is deployed",
        f"{mdl.EXPERIMENT_VERSION} (no text, class-balanced) serves instead of {mdl.VERSION} "
        "for the second half of the day",
        6,
        6,
        VERSION_SWITCH,
    ),
    Scenario(
        "latency",
        "latency regresses",
        "a slow dependency adds latency to every request",
        7,
        7,
    ),
)
BY_KEY = {s.key: s for s in SCENARIOS}
CLEAN = BY_KEY["clean"]


@dataclass(frozen=True)
class Request:
    """One HTTP request: its simulated event time, front end and a batch of inputs."""

    time: float  # epoch seconds
    endpoint: str
    records: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Segment:
    """A stretch of the week with one serving state (version, slow dependency on/off)."""

    scenario: str
    start: dt.datetime
    end: dt.datetime
    version: str
    slow: bool
    requests: tuple[Request, ...] = field(default=())

    @property
    def predictions(self) -> int:
        return sum(len(r.records) for r in self.requests)


def week(end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the demo week ending at `end` (rounded down to the minute)."""
    end = end.astimezone(dt.UTC).replace(second=0, microsecond=0)
    return end - DAYS * DAY, end


def diurnal(hour: float) -> float:
    """Relative traffic at UTC `hour` (0-24): low at night, a peak in the afternoon."""
    return 0.25 + math.sin(math.pi * max(0.0, min(1.0, (hour - 5.0) / 18.0))) ** 2


def _times(rng: random.Random, day_start: dt.datetime, n: int) -> list[float]:
    """`n` event times within the 24 hours from `day_start`, following `diurnal`."""
    out: list[float] = []
    peak = 1.25
    base = day_start.timestamp()
    while len(out) < n:
        t = base + rng.uniform(0.0, 86400.0)
        hour = (t % 86400.0) / 3600.0
        if rng.uniform(0.0, peak) <= diurnal(hour):
            out.append(t)
    return sorted(out)


def mutate(scenario: str, rec: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The inputs of one prediction as the scenario changes them (a new dict)."""
    out = dict(rec)
    if scenario == "missing":
        out["ac_mass"] = None
        out["num_engs"] = None
    elif scenario == "rare_category" and rng.random() < RARE_SHARE:
        out["species"] = RARE_SPECIES
    elif scenario == "new_words" and rng.random() < NEW_WORDS_SHARE:
        text = rng.choice(DRONE_REMARKS)
        out["remarks"] = text.format(
            h=rng.choice((200, 300, 400, 800, 1500)), rw=rng.choice(("9L", "27R", "18", "36"))
        )
    return out


def segments(
    week_start: dt.datetime,
    pool: Sequence[dict[str, Any]],
    per_day: int,
    batch: int = 10,
    seed: int = 11,
) -> list[Segment]:
    """Every segment of the week with its requests, in time order."""
    if not pool:
        raise ValueError("the serving pool is empty")
    rng = random.Random(seed)
    bounds = _bounds(week_start)
    requests: dict[int, list[Request]] = {i: [] for i in range(len(bounds))}
    for day in range(DAYS):
        day_start = week_start + day * DAY
        for t in _times(rng, day_start, max(1, per_day // batch)):
            i = next(k for k, b in enumerate(bounds) if b[1] <= t < b[2])
            scenario = bounds[i][0].key
            recs = tuple(mutate(scenario, rng.choice(pool), rng) for _ in range(batch))
            requests[i].append(Request(t, rng.choice(ENDPOINTS), recs))
    out = []
    for i, (sc, start, end, version, slow) in enumerate(bounds):
        out.append(
            Segment(
                sc.key,
                dt.datetime.fromtimestamp(start, dt.UTC),
                dt.datetime.fromtimestamp(end, dt.UTC),
                version,
                slow,
                tuple(requests[i]),
            )
        )
    return out


def _bounds(week_start: dt.datetime) -> list[tuple[Scenario, float, float, str, bool]]:
    """(scenario, start, end, version, slow) per segment; a scenario starting mid-day is
    preceded by a clean segment of its own day."""
    out: list[tuple[Scenario, float, float, str, bool]] = []
    for sc in SCENARIOS:
        start, end = sc.window(week_start)
        active, _ = sc.active(week_start)
        if active > start:
            out.append((CLEAN, start.timestamp(), active.timestamp(), mdl.VERSION, False))
        version = mdl.EXPERIMENT_VERSION if sc.key == "wrong_version" else mdl.VERSION
        out.append((sc, active.timestamp(), end.timestamp(), version, sc.key == "latency"))
    return out


Mutator = Callable[[str, dict[str, Any], random.Random], dict[str, Any]]
