"""Aggregation requests for one model and one time window, and their parsing.

The public face of four small pure modules: `query_features` (the aggregations of each
feature kind), `query_predictions` (predictions, latency, trend, versions), `query_plan`
(the search bodies of a window) and `query_parse` (responses into the value objects of
`aggregates.py`; `category_fold` folds categorical counts). `fetch.py` sends the bodies.
"""

from __future__ import annotations

from predwatch.analyzers.category_fold import CategoryFold
from predwatch.analyzers.query_features import (
    NEW_VALUES_ROOM,
    OOV_SHARD_SIZE,
    TERMS_CAP,
    UNSEEN_TOP,
    Body,
    feature_aggs,
    oov_terms_agg,
    terms_size,
)
from predwatch.analyzers.query_parse import (
    Parsed,
    composite_page,
    median_from_bins,
    oov_terms_exact,
    parse,
    parse_latency,
    with_feature,
)
from predwatch.analyzers.query_plan import (
    COMPOSITE_PAGE,
    FEATURES_PER_REQUEST,
    Request,
    composite_body,
    latency_request,
    plan,
    window_query,
)
from predwatch.analyzers.query_predictions import (
    MAX_TREND_BUCKETS,
    MAX_VERSIONS,
    NO_VERSION,
    PERCENTS,
    latency_aggs,
    prediction_aggs,
    trend_interval,
)

__all__ = [
    "COMPOSITE_PAGE",
    "FEATURES_PER_REQUEST",
    "MAX_TREND_BUCKETS",
    "MAX_VERSIONS",
    "NEW_VALUES_ROOM",
    "NO_VERSION",
    "OOV_SHARD_SIZE",
    "PERCENTS",
    "TERMS_CAP",
    "UNSEEN_TOP",
    "Body",
    "CategoryFold",
    "Parsed",
    "Request",
    "composite_body",
    "composite_page",
    "feature_aggs",
    "latency_aggs",
    "latency_request",
    "median_from_bins",
    "oov_terms_agg",
    "oov_terms_exact",
    "parse",
    "parse_latency",
    "plan",
    "prediction_aggs",
    "terms_size",
    "trend_interval",
    "window_query",
    "with_feature",
]
