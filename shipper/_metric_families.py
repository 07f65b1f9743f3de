"""The Prometheus metrics of shippers as plain data (pure: no prometheus-client here).

`families(shippers)` reads each shipper's `stats()` and model statistics once and returns
every metric family: name, type, help, the multiprocess mode of a gauge, and its samples.
Two writers render them: `_metrics.ShipperCollector` (a scrape of this process) and
`_multiprocess.FileExporter` (prometheus-client's per-process files, pre-fork servers).
docs/prometheus.md has the reference table; a unit test checks it names every family.

Labels: `model` and `version` on every family (the shipper's version for its self-metrics;
for the model statistics the version each record carried), plus `reason`, `state`,
`label`, `feature` or `le` where named.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import TYPE_CHECKING

from . import _stats as st
from ._model_stats import LATENCY_BUCKETS_MS, OTHER, Histogram, VersionStats

if TYPE_CHECKING:
    from ._shipper import Shipper

Labels = tuple[tuple[str, str], ...]

COUNTERS = {
    "enqueued": "records enqueued by log calls",
    "acked": "records Elasticsearch acknowledged",
    "duplicates": "records Elasticsearch already had (409 on create: a replay)",
    "retried": "records retried after a retryable per-item error",
    "dead_lettered": "records written to predwatch-deadletter",
    "replayed_records": "records delivered from a disk spool",
    "spooled_records": "records written to the disk spool",
    "spooled_bytes": "bytes written to the disk spool",
    "batches": "successful _bulk requests",
    "failed_requests": "failed _bulk requests",
    "handler_errors": "log records a logging front end failed to hand over (never raised)",
}
# metric suffix -> (stats() key, help, multiprocess mode: how processes combine)
GAUGES = {
    "pending": ("pending", "records not settled yet (memory + spool)", "livesum"),
    "queue_depth": ("queue_depth", "records in memory waiting to be sent", "livesum"),
    "spool_pending_records": (
        "spool_pending_records",
        "records on disk waiting to be sent",
        "livesum",
    ),
    "spool_bytes": ("spool_disk_bytes", "bytes of the disk spool", "livesum"),
    "oldest_unsent_age_seconds": (
        "oldest_unsent_age_s",
        "age of the oldest unsent record",
        "livemax",
    ),
}
STATES = ("idle", "ok", "spilling", "backoff", "error", "closed")
DROP_REASONS = (
    st.QUEUE_FULL,
    st.SPOOL_FULL,
    st.SPOOL_ERROR,
    st.SPOOL_CORRUPT,
    st.SPOOL_TORN,
    st.DEADLETTER_REJECTED,
    st.INTERNAL_ERROR,
    st.CLOSED,
)
FEATURE_COUNTS = {
    "missing": "predictions whose input was missing (absent, null, NaN, empty, not a number)",
    "oov": "predictions whose categorical input was not in the training vocabulary",
    "out_of_range": "predictions whose numeric input was outside the training [min, max]",
    "text_tokens": "words of a text input (the baseline's tokenizer)",
    "text_oov_tokens": "words of a text input not in the training vocabulary",
}


@dataclass
class HistogramSeries:
    """One labelled histogram: upper bounds, non-cumulative counts (+Inf last), sum."""

    labels: Labels
    bounds: tuple[float, ...]
    buckets: list[int]
    sum: float


@dataclass
class Family:
    """A metric family. `name` has no `_total` (a counter's sample adds it)."""

    name: str
    kind: str  # "counter", "gauge" or "histogram"
    help: str
    mode: str = ""  # a gauge's multiprocess mode
    samples: list[tuple[Labels, float]] = field(default_factory=list)
    histograms: list[HistogramSeries] = field(default_factory=list)

    def add(self, labels: Labels, value: float) -> None:
        self.samples.append((labels, float(value)))


def le_text(bound: float) -> str:
    """A bucket bound as prometheus-client writes `le` ("0.5", "10.0", "1e+07", "+Inf"):
    the same text whichever writer rendered it, so series from both line up."""
    d = float(bound)
    if d == float("inf"):
        return "+Inf"
    if d == float("-inf"):
        return "-Inf"
    text = repr(d)
    dot = text.find(".")
    if d > 0 and dot > 6:  # Go switches to exponents sooner than Python
        mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1 :]}".rstrip("0.")
        return f"{mantissa}e+0{dot - 1}"
    return text


def families(shippers: Sequence[Shipper]) -> list[Family]:
    """Every metric family of these shippers, read now."""
    counters = {
        k: Family(f"predwatch_shipper_{k}", "counter", f"predwatch shipper: {doc}")
        for k, doc in COUNTERS.items()
    }
    dropped = Family(
        "predwatch_shipper_dropped",
        "counter",
        "predwatch shipper: records not delivered, by reason",
    )
    gauges = {
        k: Family(f"predwatch_shipper_{k}", "gauge", f"predwatch shipper: {doc}", mode)
        for k, (_, doc, mode) in GAUGES.items()
    }
    state = Family(
        "predwatch_shipper_state",
        "gauge",
        "predwatch shipper: 1 for the current delivery state (processes in it, multiprocess)",
        "livesum",
    )
    predictions = Family(
        "predwatch_predictions", "counter", "predictions logged (counted by the worker)"
    )
    latency = Family(
        "predwatch_prediction_latency_ms", "histogram", "latency_ms of the logged predictions"
    )
    score = Family(
        "predwatch_prediction_score",
        "histogram",
        "prediction.value of the logged predictions (buckets: the baseline's quantile edges)",
    )
    labels = Family("predwatch_prediction_labels", "counter", "predicted labels (prediction.label)")
    features = {
        k: Family(f"predwatch_feature_{k}", "counter", doc) for k, doc in FEATURE_COUNTS.items()
    }
    baseline = Family(
        "predwatch_baseline_score_ratio",
        "gauge",
        "share of the baseline's training predictions at or below `le`",
        "livemax",
    )
    for sh in shippers:
        stats = sh.stats()
        lv: Labels = (("model", sh.model), ("version", sh.model_version))
        for k, family in counters.items():
            family.add(lv, stats.get(k) or 0)
        reasons = dict.fromkeys(DROP_REASONS, 0) | dict(stats.get("dropped") or {})
        for reason, n in reasons.items():
            dropped.add((*lv, ("reason", reason)), n)
        for k, (key, _, _) in GAUGES.items():
            gauges[k].add(lv, stats.get(key) or 0)
        for name in STATES:
            state.add((*lv, ("state", name)), 1.0 if stats.get("state") == name else 0.0)
        model_stats = sh._model_stats()
        limits = model_stats.limits
        for version, vs in sorted(model_stats.snapshot().items()):
            v: Labels = (("model", sh.model), ("version", version))
            predictions.add(v, vs.count)
            latency.histograms.append(_series(v, LATENCY_BUCKETS_MS, vs.latency))
            score.histograms.append(_series(v, limits.score_bounds, vs.score))
            for label, n in _label_counts(vs, limits.classes):
                labels.add((*v, ("label", label)), n)
            for i, f in enumerate(limits.features):
                fl = (*v, ("feature", f.name))
                features["missing"].add(fl, vs.missing[i])
                if f.oov:
                    features["oov"].add(fl, vs.oov[i])
                if f.out_of_range:
                    features["out_of_range"].add(fl, vs.out_of_range[i])
                if f.text:
                    features["text_tokens"].add(fl, vs.tokens[i])
                    features["text_oov_tokens"].add(fl, vs.oov_tokens[i])
        if sh.baseline is not None and limits.score_shares:
            bl: Labels = (("model", sh.model), ("version", sh.baseline.version))
            for bound, share in zip(limits.score_bounds, limits.score_shares, strict=True):
                baseline.add((*bl, ("le", le_text(bound))), share)
            baseline.add((*bl, ("le", "+Inf")), 1.0)
    return [
        *counters.values(),
        dropped,
        *gauges.values(),
        state,
        predictions,
        latency,
        score,
        labels,
        *features.values(),
        baseline,
    ]


def _series(labels: Labels, bounds: tuple[float, ...], h: Histogram) -> HistogramSeries:
    return HistogramSeries(labels, bounds, list(h.buckets), h.sum)


def _label_counts(vs: VersionStats, classes: tuple[str, ...]) -> Iterable[tuple[str, int]]:
    """Every class of the baseline (0 when not predicted yet), then the labels seen."""
    counts = dict.fromkeys(classes, 0) | vs.labels
    return sorted(counts.items(), key=lambda kv: (kv[0] == OTHER, kv[0]))


def cumulative_buckets(h: HistogramSeries) -> list[tuple[str, float]]:
    """(le, cumulative count) of a histogram, +Inf last, as the exposition format has them."""
    running = list(accumulate(h.buckets))
    out = [(le_text(b), float(c)) for b, c in zip(h.bounds, running, strict=False)]
    out.append(("+Inf", float(running[-1])))
    return out
