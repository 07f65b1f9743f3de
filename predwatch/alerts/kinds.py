"""The rule kinds: what each needs (a feature of which types, a band) and what its value
means. Adding a kind starts here; conditions, queries and renderers follow from it."""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("info", "warning", "critical")


@dataclass(frozen=True)
class KindSpec:
    """What a rule kind needs and means (the registry below documents every kind)."""

    title: str
    feature_types: tuple[str, ...] = ()  # non-empty: the rule needs a feature of these types
    band: bool = False  # threshold is [low, high]
    unit: str = ""
    # Where the rule's signal lives: "elasticsearch" (Watcher, Kibana and `alerts check`
    # search for it; Prometheus renders it where the shipper's metrics carry it too) or
    # "prometheus" (only the shipper's metrics see it; the Elasticsearch targets skip it).
    source: str = "elasticsearch"


KINDS: dict[str, KindSpec] = {
    "drift": KindSpec("drift detected (analyzer results)", unit="drifted features"),
    # From `analyze --segment-by` (record_type "segment" in predwatch-drift-<model>).
    "segment_drift": KindSpec("drift in a segment (analyzer results)", unit="drifted segments"),
    # From `predwatch quality` (record_type "metric" in predwatch-drift-<model>).
    "quality_regression": KindSpec("prediction quality regressed", unit="regressed metrics"),
    # `predwatch quality --estimate`: estimated (CBPE) metrics whose interval dropped below
    # the baseline's reference, before any label arrived.
    "estimated_quality": KindSpec(
        "estimated quality dropped (before labels)", unit="dropped estimates"
    ),
    "oov_rate": KindSpec("out-of-vocabulary rate spike", ("categorical", "text"), unit="rate"),
    "missing_rate": KindSpec(
        "missing-rate spike (feature vanished)", ("numeric", "categorical", "text"), unit="rate"
    ),
    "unseen": KindSpec("unseen categorical values", ("categorical",), unit="rate"),
    "prediction_mean": KindSpec("prediction mean outside the baseline band", band=True),
    "nonfinite": KindSpec("non-finite values (NaN/inf)", unit="predictions"),
    "version_change": KindSpec("model version differs from the baseline's", unit="predictions"),
    "multiple_versions": KindSpec("more than one model version live", unit="versions"),
    "no_traffic": KindSpec("no traffic", unit="predictions"),
    "latency_p95": KindSpec("latency p95 above the bound", unit="ms"),
    "deadletter": KindSpec("dead letters appearing", unit="documents"),
    # From predwatch-deployments (the shipper's deployment documents): distinct values per
    # model version in the window.
    "dependency_change": KindSpec(
        "dependencies changed within a model version", unit="fingerprints"
    ),
    "model_hash_change": KindSpec("model hash changed within a model version", unit="hashes"),
    "staleness": KindSpec("stale model serving (trained before max_age)", unit="predictions"),
    # Shipper health: dropped records never reach Elasticsearch, and the delivery lag is the
    # age of what has not reached it yet. Only the shipper's Prometheus metrics see them.
    "dropped": KindSpec("records dropped by the shipper", unit="records", source="prometheus"),
    "delivery_lag": KindSpec(
        "delivery lag (oldest unsent record)", unit="seconds", source="prometheus"
    ),
}
