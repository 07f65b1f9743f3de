"""The Prometheus metric names the dashboard and the alert rules query, in one place.

They are the names the shipper's endpoint exports (`predwatch.shipper`'s metrics module;
reference in docs/prometheus.md). A contract test scrapes a real shipper's endpoint and checks
that every name a generated panel or rule uses is there, so a rename on either side fails a
test instead of leaving an empty panel.

Labels: `model` and `version` on every metric; `reason` on drops, `state` on the state gauge,
`feature` on the per-feature counts, `label` on the predicted-label counts.
"""

from __future__ import annotations

# Shipper health (one series per shipper: the shipper's model and version).
ENQUEUED = "predwatch_shipper_enqueued_total"
ACKED = "predwatch_shipper_acked_total"
DEAD_LETTERED = "predwatch_shipper_dead_lettered_total"
RETRIED = "predwatch_shipper_retried_total"
FAILED_REQUESTS = "predwatch_shipper_failed_requests_total"
DROPPED = "predwatch_shipper_dropped_total"
QUEUE_DEPTH = "predwatch_shipper_queue_depth"
SPOOL_BYTES = "predwatch_shipper_spool_bytes"
SPOOL_PENDING = "predwatch_shipper_spool_pending_records"
OLDEST_UNSENT_AGE = "predwatch_shipper_oldest_unsent_age_seconds"
STATE = "predwatch_shipper_state"

# What the shipper's state gauge reports (1 for the current one; in multiprocess mode the
# number of processes in it), from the least to the most worrying: the dashboard shows the
# worst state any process is in as one coded series (value -> name). The live contract test
# checks the endpoint reports exactly these.
STATES = ("idle", "ok", "closed", "spilling", "backoff", "error")

# Predictions (per record: the version each prediction was logged with).
PREDICTIONS = "predwatch_predictions_total"
LATENCY = "predwatch_prediction_latency_ms"  # histogram: _bucket, _sum, _count

# Model statistics (per model and version; buckets of the score from the baseline's quantiles).
SCORE = "predwatch_prediction_score"  # histogram: _bucket, _sum, _count
LABELS = "predwatch_prediction_labels_total"
FEATURE_MISSING = "predwatch_feature_missing_total"
FEATURE_OOV = "predwatch_feature_oov_total"
FEATURE_OUT_OF_RANGE = "predwatch_feature_out_of_range_total"
# The training CDF of the score at the same bucket bounds (label `le`; `version` is the
# baseline's), exported by shippers that have a baseline.
BASELINE_SCORE_RATIO = "predwatch_baseline_score_ratio"


def bucket(histogram: str) -> str:
    return f"{histogram}_bucket"


def count(histogram: str) -> str:
    return f"{histogram}_count"


def total(histogram: str) -> str:
    return f"{histogram}_sum"


HISTOGRAMS = (LATENCY, SCORE)


def sample_names() -> set[str]:
    """Every sample name above as a scrape shows it (histograms as _bucket, _sum, _count)."""
    names = {v for k, v in globals().items() if k.isupper() and isinstance(v, str)}
    names -= set(HISTOGRAMS)
    for h in HISTOGRAMS:
        names |= {bucket(h), count(h), total(h)}
    return names
