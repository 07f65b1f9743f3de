"""The search bodies that aggregate one window: features in chunks, then predictions.

Pure: `fetch.py` sends them (several bodies in one `msearch` run in parallel on the node),
`query_parse.parse` reads the answers. Every body has `size: 0`: nothing here ever asks
for documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from predwatch import schema as s
from predwatch.analyzers.aggregates import Window, iso
from predwatch.analyzers.query_features import Body, feature_aggs
from predwatch.analyzers.query_predictions import latency_aggs, prediction_aggs, segment_aggs
from predwatch.analyzers.segments import SEGMENT_TERMS_CAP, SegmentSpec, features_per_request
from predwatch.baseline import Baseline

COMPOSITE_PAGE = 1000
FEATURES_PER_REQUEST = 8  # several bodies in one msearch run in parallel on the node


@dataclass(frozen=True)
class Request:
    """One search body and what it covers ("features", "predictions" or "latency")."""

    part: str
    body: Body
    features: tuple[str, ...] = ()


def window_query(window: Window) -> Body:
    """The documents of `window` (start inclusive, end exclusive)."""
    return {
        "bool": {
            "filter": [
                {
                    "range": {
                        s.TIMESTAMP: {
                            "gte": iso(window.start),
                            "lt": iso(window.end),
                            "format": "strict_date_optional_time",
                        }
                    }
                }
            ]
        }
    }


def _search(window: Window, aggs: Body) -> Body:
    return {"size": 0, "track_total_hits": True, "query": window_query(window), "aggs": aggs}


def plan(
    baseline: Baseline,
    window: Window,
    *,
    predictions: bool = True,
    trend: bool = True,
    versions: bool = True,
    per_request: int = FEATURES_PER_REQUEST,
    segments: Sequence[SegmentSpec] = (),
) -> list[Request]:
    """The search bodies that aggregate one window (features in chunks, then predictions).

    With `segments`, each body also holds one `filters` aggregation per segmentation field
    (`seg<i>`) with the same aggregations inside every segment's bucket.
    """
    names = [f.name for f in baseline.features]
    per_request = features_per_request(baseline, segments, per_request)
    out = []
    for chunk in (names[i : i + per_request] for i in range(0, len(names), per_request)):
        aggs = feature_aggs(baseline, chunk)
        if segments:
            sub = feature_aggs(baseline, chunk, segment_cap=SEGMENT_TERMS_CAP)
            aggs.update({f"seg{i}": spec.agg(sub) for i, spec in enumerate(segments)})
        out.append(Request("features", _search(window, aggs), tuple(chunk)))
    if predictions:
        aggs = prediction_aggs(baseline, window, trend=trend, versions=versions)
        sub = segment_aggs(baseline)
        if sub:
            aggs.update({f"seg{i}": spec.agg(sub) for i, spec in enumerate(segments)})
        out.append(Request("predictions", _search(window, aggs)))
    if not out:  # a baseline without features or prediction: still count the documents
        out.append(Request("predictions", _search(window, latency_aggs())))
    return out


def latency_request(window: Window) -> Request:
    """Latency percentiles of a window (the previous one, when it is not the reference)."""
    return Request("latency", _search(window, latency_aggs()))


def composite_body(fld: str, window: Window, after: str | None = None) -> Body:
    """One page of exact value counts of a keyword field (sorted by value)."""
    comp: Body = {"size": COMPOSITE_PAGE, "sources": [{"v": {"terms": {"field": fld}}}]}
    if after is not None:
        comp["after"] = {"v": after}
    return _search(window, {"values": {"composite": comp}})
