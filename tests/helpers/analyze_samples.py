"""Small baselines and Elasticsearch-shaped aggregation responses for the analyzer unit tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from predwatch import schema
from predwatch.analyzers import job, queries
from predwatch.analyzers.aggregates import Window
from predwatch.analyzers.compare import baseline_reference
from predwatch.analyzers.report import Report
from predwatch.baseline import (
    Baseline,
    CategoricalProfile,
    FeatureProfile,
    NumericProfile,
    PredictionProfile,
    TextProfile,
    Tokenizer,
)

T = schema.FeatureType
START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
END = dt.datetime(2026, 3, 1, 13, 0, tzinfo=dt.UTC)


def numeric(
    counts: tuple[float, ...] = (100, 300, 400, 200), edges=(0.0, 1.0, 2.0)
) -> NumericProfile:
    n = int(sum(counts))
    return NumericProfile(edges=edges, counts=counts, mean=1.2, var=0.8, min=-2.0, max=4.0, n=n)


def baseline(
    *,
    model: str = "m1",
    vocab_truncated: bool = False,
    rows: int = 1100,
) -> Baseline:
    """One feature of each type (1,000 values each, 100 missing) and a regression prediction."""
    cat = CategoricalProfile(
        {"a": 500, "b": 300, "c": 150},
        other=50,
        vocabulary=frozenset("abcde"),
        n=1000,
        vocabulary_truncated=vocab_truncated,
        singletons=0,  # no value seen once: no unseen values expected without drift
    )
    text = TextProfile(
        Tokenizer(), {"hello": 600, "world": 400}, 0.05, numeric((100, 300, 400, 200)), 1000
    )
    return Baseline(
        model=model,
        version="1",
        trained_at="2026-01-01T00:00:00Z",
        hash=None,
        created_at="2026-02-01T00:00:00Z",
        rows=rows,
        features=(
            FeatureProfile("age", T.NUMERIC, rows, rows - 1000, numeric=numeric()),
            FeatureProfile("user.Country code", T.CATEGORICAL, rows, rows - 1000, categorical=cat),
            FeatureProfile("comment", T.TEXT, rows, rows - 1000, text=text),
        ),
        prediction=PredictionProfile(
            "regression", value=NumericProfile((0.5,), (600.0, 500.0), 0.5, 0.1, 0.0, 1.0, rows)
        ),
    )


def ext_stats(
    count: float,
    avg: float | None = None,
    var: float | None = None,
    lo: float | None = None,
    hi: float | None = None,
    total: float = 0.0,
) -> dict[str, Any]:
    return {
        "count": count,
        "avg": avg,
        "variance_sampling": var,
        "min": lo,
        "max": hi,
        "sum": total,
        "std_deviation_sampling": None if var is None else var**0.5,
    }


def range_buckets(counts: list[float], below: float = 0, above: float = 0) -> dict[str, Any]:
    buckets: dict[str, Any] = {str(i): {"doc_count": c} for i, c in enumerate(counts)}
    buckets["below"], buckets["above"] = {"doc_count": below}, {"doc_count": above}
    return {"buckets": buckets}


def terms(pairs: list[tuple[str, float]], other: float = 0.0) -> dict[str, Any]:
    return {
        "doc_count_error_upper_bound": 0,
        "sum_other_doc_count": other,
        "buckets": [{"key": k, "doc_count": c} for k, c in pairs],
    }


def response(total: float, aggs: dict[str, Any]) -> dict[str, Any]:
    return {
        "hits": {"total": {"value": total, "relation": "eq"}},
        "aggregations": aggs,
        "_shards": {"total": 1, "successful": 1, "failed": 0},
    }


def feature_response(total: float = 1000.0) -> dict[str, Any]:
    """What the node returns for the features of `baseline()` (aggregations f0..f2)."""
    return response(
        total,
        {
            "f0_bins": range_buckets([90, 310, 390, 200], below=1, above=2),
            "f0_stats": ext_stats(990, 1.21, 0.79, -1.5, 3.9),
            "f1_terms": terms(
                [("a", 480), ("b", 310), ("c", 140), ("d", 30), ("zz", 20), ("yy", 5)]
            ),
            "f2_len": ext_stats(1000, 10.0, 4.0, 1, 20, total=10_000),
            "f2_oovtok": {"value": 3000.0},
            "f2_present": {"doc_count": 950},
            "f2_oovterms": terms([("foo", 300), ("bar", 100)]),
        },
    )


def prediction_response(total: float = 1000.0) -> dict[str, Any]:
    start_ms = int(START.timestamp() * 1000)
    return response(
        total,
        {
            "nonfinite": {"value": 4.0},
            "trained_at": {"value": 1767225600000.0, "value_as_string": "2026-01-01T00:00:00.000Z"},
            "latency": {"values": {"50.0": 10.0, "90.0": 20.0, "95.0": 25.0, "99.0": 40.0}},
            "latency_stats": {"count": 1000, "avg": 12.0, "max": 80.0, "min": 1.0, "sum": 12000.0},
            "pv_bins": range_buckets([500, 496]),
            "pv_stats": ext_stats(996, 0.49, 0.1, 0.0, 1.0),
            "pv_nonfinite": {"doc_count": 4},
            "trend": {
                "buckets": [
                    {
                        "key": start_ms,
                        "doc_count": 600,
                        "stats": ext_stats(598, 0.5, 0.1, 0.0, 1.0),
                        "median": {"values": {"50.0": 0.5}},
                    },
                    {
                        "key": start_ms + 1_800_000,
                        "doc_count": 0,
                        "stats": ext_stats(0),
                        "median": {"values": {"50.0": None}},
                    },
                ]
            },
            "versions": {
                "buckets": [
                    {
                        "key": "1",
                        "doc_count": 700,
                        "pv_stats": ext_stats(700, 0.5, 0.1),
                        "pv_bins": range_buckets([350, 350]),
                        "trained_at": {"value": 1767225600000.0},
                    },
                    {
                        "key": "2",
                        "doc_count": 300,
                        "pv_stats": ext_stats(296, 0.45, 0.1),
                        "pv_bins": range_buckets([150, 146]),
                        "trained_at": {"value": None},
                    },
                ]
            },
        },
    )


WINDOW = Window(START, END)


def sample_report(**config: object) -> Report:
    """A run on canned responses: age fine, unseen categories, OOV text, 4 NaN predictions."""
    b = baseline()
    reqs = queries.plan(b, WINDOW)
    resp = [feature_response(), prediction_response()]
    current = queries.parse(b, WINDOW, reqs, resp).aggregates
    cfg = job.AnalyzeConfig(model="m1", window=WINDOW, **config)  # type: ignore[arg-type]
    ref = baseline_reference(b)
    return job.build_report(b, cfg, current, ref, current, END)
