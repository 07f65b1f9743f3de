"""Aggregations of one window's predictions: distribution, non-finite counts, latency,
staleness (the newest `model.trained_at`), a `date_histogram` of basic statistics and
`terms` on `model.version` with per-version statistics and bins. Pure."""

from __future__ import annotations

import datetime as dt

from predwatch import schema as s
from predwatch.analyzers.aggregates import Window
from predwatch.analyzers.query_features import Body, numeric_aggs, terms, terms_size
from predwatch.baseline import Baseline

PERCENTS = (50.0, 90.0, 95.0, 99.0)
MAX_VERSIONS = 20
MAX_TREND_BUCKETS = 48
NO_VERSION = "(unknown)"
_NICE = (
    "1m",
    "2m",
    "5m",
    "10m",
    "15m",
    "30m",
    "1h",
    "2h",
    "3h",
    "6h",
    "12h",
    "1d",
    "2d",
    "7d",
    "14d",
    "30d",
)
_NICE_SECONDS = {"m": 60, "h": 3600, "d": 86400}


def trend_interval(window: Window) -> str:
    """The smallest round interval giving at most MAX_TREND_BUCKETS buckets."""
    seconds = window.length.total_seconds()
    for text in _NICE:
        step = int(text[:-1]) * _NICE_SECONDS[text[-1]]
        if seconds / step <= MAX_TREND_BUCKETS:
            return text
    return _NICE[-1]


def _interval_ms(text: str) -> int:
    return int(text[:-1]) * _NICE_SECONDS[text[-1]] * 1000


def _ms(t: dt.datetime) -> int:
    return round(t.timestamp() * 1000)


def prediction_aggs(
    baseline: Baseline, window: Window, *, trend: bool = True, versions: bool = True
) -> Body:
    """Prediction distribution, non-finite counts, latency, staleness, trend, versions."""
    pred = baseline.prediction
    value = pred.value if pred else None
    label = pred.label if pred else None
    aggs: Body = {
        "nonfinite": {"sum": {"field": s.NONFINITE}},
        "trained_at": {"max": {"field": s.MODEL_TRAINED_AT}},
        **latency_aggs(),
    }
    per_bucket: Body = {}
    if value is not None:
        aggs.update(numeric_aggs("pv", s.PREDICTION_VALUE, value, out_of_range=False))
        aggs["pv_nonfinite"] = {
            "filter": {
                "bool": {
                    "filter": [{"term": {s.NONFINITE: 1}}],
                    "must_not": [{"exists": {"field": s.PREDICTION_VALUE}}],
                }
            }
        }
        per_bucket = {
            "stats": {"extended_stats": {"field": s.PREDICTION_VALUE}},
            "median": {"percentiles": {"field": s.PREDICTION_VALUE, "percents": [50.0]}},
        }
    if label is not None:
        aggs["pl_terms"] = terms(s.PREDICTION_LABEL, terms_size(label))
    if trend:
        interval = trend_interval(window)
        step = _interval_ms(interval)
        bounds = {"min": _ms(window.start), "max": _ms(window.end) - 1}
        aggs["trend"] = {
            "date_histogram": {
                "field": s.TIMESTAMP,
                "fixed_interval": interval,
                # Buckets start at the window start, not at epoch multiples.
                "offset": f"+{_ms(window.start) % step}ms",
                "min_doc_count": 0,
                "extended_bounds": bounds,
            },
            "aggs": per_bucket,
        }
    if versions:
        sub: Body = {"trained_at": {"max": {"field": s.MODEL_TRAINED_AT}}}
        if value is not None:
            sub.update(numeric_aggs("pv", s.PREDICTION_VALUE, value, out_of_range=False))
        if label is not None:
            sub["pl_terms"] = terms(s.PREDICTION_LABEL, terms_size(label))
        aggs["versions"] = {
            "terms": {"field": s.MODEL_VERSION, "size": MAX_VERSIONS, "missing": NO_VERSION},
            "aggs": sub,
        }
    return aggs


def segment_aggs(baseline: Baseline) -> Body:
    """What one segment's bucket aggregates of the predictions: value bins and summary,
    label counts (the inputs of the prediction drift tests)."""
    pred = baseline.prediction
    aggs: Body = {}
    if pred is not None and pred.value is not None:
        aggs.update(numeric_aggs("pv", s.PREDICTION_VALUE, pred.value, out_of_range=False))
    if pred is not None and pred.label is not None:
        aggs["pl_terms"] = terms(s.PREDICTION_LABEL, terms_size(pred.label))
    return aggs


def latency_aggs() -> Body:
    """Latency percentiles and stats (also what counts the documents of an empty plan)."""
    return {
        "latency": {"percentiles": {"field": s.LATENCY_MS, "percents": list(PERCENTS)}},
        "latency_stats": {"stats": {"field": s.LATENCY_MS}},
    }
