"""Model-level checks of a run (pure): staleness, non-finite predictions, latency against
the previous window, and the trend of the prediction mean.

Latency: a regression needs both a practical size (p95 more than `tolerance` above the
previous window's) and evidence (the count of this window's latencies above the previous
p95 is improbable for the same distribution, `stats.proportions.quantile_exceedance`,
p < alpha). The ratio of two p95s alone cries wolf: with heavy-tailed latencies (lognormal,
sigma 1) and 300 predictions per window it exceeds 1.25 in about 1 run in 10 with nothing
changed; the p95 of 20 values is nearly their maximum.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from predwatch.analyzers.aggregates import (
    Latency,
    PredictionAggs,
    TrendBucket,
    VersionGroup,
    format_duration,
    iso,
)
from predwatch.analyzers.stats.proportions import quantile_exceedance

LATENCY_PERCENTILE = "95"
LATENCY_TOLERANCE = 0.25  # p95 more than 25% above the previous window's is a regression
LATENCY_ALPHA = 0.05  # ... and more latencies above the previous p95 than chance explains
MIN_LATENCY_COUNT = 20


@dataclass(frozen=True)
class Staleness:
    """How old the served model is (from model.trained_at, else the baseline's)."""

    trained_at: dt.datetime | None
    source: str  # "predictions" | "baseline" | "unknown"
    age: dt.timedelta | None
    max_age: dt.timedelta | None
    stale_versions: tuple[str, ...] = ()

    @property
    def stale(self) -> bool:
        return bool(self.stale_versions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trained_at": iso(self.trained_at) if self.trained_at else None,
            "source": self.source,
            "age_days": None if self.age is None else self.age.total_seconds() / 86400.0,
            "max_age": None if self.max_age is None else format_duration(self.max_age),
            "stale": self.stale,
            "stale_versions": list(self.stale_versions),
        }


def _parse_iso(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def staleness(
    served_trained_at: dt.datetime | None,
    versions: Sequence[VersionGroup],
    baseline_trained_at: str | None,
    baseline_version: str,
    now: dt.datetime,
    max_age: dt.timedelta | None,
) -> Staleness:
    """Stale when any version that served predictions was trained longer than `max_age` ago."""
    trained = served_trained_at
    source = "predictions"
    if trained is None:
        trained, source = _parse_iso(baseline_trained_at), "baseline"
    if trained is None:
        return Staleness(None, "unknown", None, max_age)
    stale: list[str] = []
    if max_age is not None:
        ages = [(g.version, g.trained_at) for g in versions if g.trained_at is not None]
        if not ages:
            ages = [(baseline_version, trained)]
        stale = [v for v, t in ages if now - t > max_age]
    return Staleness(trained, source, now - trained, max_age, tuple(stale))


@dataclass(frozen=True)
class NonFinite:
    """NaN/inf in the window: documents flagged, and predictions that had no finite value."""

    predictions: float
    documents: float
    total: float
    applies: bool  # False for label-only models (no numeric prediction to check)

    @property
    def flagged(self) -> bool:
        return self.applies and self.predictions > 0

    def to_dict(self) -> dict[str, Any]:
        rate = self.predictions / self.total if self.total else None
        return {
            "predictions": self.predictions,
            "documents": self.documents,
            "rate": rate,
            "flagged": self.flagged,
        }


def nonfinite(prediction: PredictionAggs | None, total: float) -> NonFinite:
    if prediction is None:
        return NonFinite(0.0, 0.0, total, False)
    return NonFinite(
        prediction.nonfinite_predictions,
        prediction.nonfinite_docs,
        total,
        prediction.value is not None,
    )


@dataclass(frozen=True)
class LatencyCheck:
    """Latency percentiles now and in the previous window; a p95 regression flag."""

    current: Latency | None
    previous: Latency | None
    tolerance: float
    ratio: float | None
    note: str = ""
    above: float | None = None  # latencies of this window above the previous window's p95
    p_value: float | None = None  # of `above` under "same distribution" (one-sided)
    alpha: float = LATENCY_ALPHA

    @property
    def beyond_tolerance(self) -> bool:
        """p95 up by more than the tolerance: the size worth a significance check."""
        return self.ratio is not None and self.ratio > 1.0 + self.tolerance

    @property
    def regressed(self) -> bool:
        return self.beyond_tolerance and self.p_value is not None and self.p_value < self.alpha

    def to_dict(self) -> dict[str, Any]:
        return {
            "current": self.current.to_dict() if self.current else None,
            "previous": self.previous.to_dict() if self.previous else None,
            "percentile": LATENCY_PERCENTILE,
            "ratio": self.ratio,
            "tolerance": self.tolerance,
            "above_previous_p95": self.above,
            "p_value": self.p_value,
            "alpha": self.alpha,
            "regressed": self.regressed,
            "note": self.note,
        }


def latency_check(
    current: Latency | None,
    previous: Latency | None,
    tolerance: float = LATENCY_TOLERANCE,
    min_count: int = MIN_LATENCY_COUNT,
    above: float | None = None,
    alpha: float = LATENCY_ALPHA,
) -> LatencyCheck:
    """Compare the p95s; `above` (this window's latencies above the previous p95, counted by
    Elasticsearch only when the ratio is beyond the tolerance) gives the p-value. Without
    it nothing is judged a regression."""
    # The note names the window that lacks data: the current one first, then the previous one.
    for lat, where in ((current, "the window"), (previous, "the previous window")):
        count = 0.0 if lat is None else lat.count
        if count < min_count:
            note = (
                f"insufficient data: {count:,.0f} latencies in {where}, need {min_count}"
                if count
                else f"insufficient data: no latencies in {where}"
            )
            return LatencyCheck(current, previous, tolerance, None, note)
    assert current is not None and previous is not None  # both counted above
    now = current.percentiles.get(LATENCY_PERCENTILE)
    before = previous.percentiles.get(LATENCY_PERCENTILE)
    if now is None or before is None or before <= 0:
        return LatencyCheck(current, previous, tolerance, None, "p95 undefined")
    check = LatencyCheck(current, previous, tolerance, now / before, alpha=alpha)
    if above is None or not check.beyond_tolerance:
        return check
    p = quantile_exceedance(above, current.count, previous.count, float(LATENCY_PERCENTILE) / 100)
    return dataclasses.replace(check, above=above, p_value=p)


def trend_slope(buckets: Sequence[TrendBucket]) -> float | None:
    """Count-weighted least-squares slope of the bucket means, per hour (None if < 2 points)."""
    pts = [
        (b.start.timestamp() / 3600.0, b.mean, b.count)
        for b in buckets
        if b.mean is not None and b.count > 0
    ]
    if len(pts) < 2:
        return None
    w = sum(c for _, _, c in pts)
    mx = sum(x * c for x, _, c in pts) / w
    my = sum(y * c for _, y, c in pts) / w
    sxx = sum(c * (x - mx) ** 2 for x, _, c in pts)
    if sxx == 0:
        return None
    slope = sum(c * (x - mx) * (y - my) for x, y, c in pts) / sxx
    return slope if math.isfinite(slope) else None
