"""The score histograms CBPE needs, from Elasticsearch aggregations (no document is read).

Per window (a `date_range` bucket on @timestamp; several windows share one request), per
model version (`terms`, documents without a version under "(none)"), a `range`
aggregation of the score on the baseline's bin edges (`estimate_edges.estimation_edges`:
the calibration map's knots, the threshold and split ramps; baselines of old: the 1/1000
grid) with a `sum` of the score per range, so each bin's mean score is known. Ranges are
[from, to), the same bins as `score_calibration.bin_index`. Rows without a score are not
in any range. Memory and time are O(windows x versions x bins), whatever
the number of predictions.

Binary classifiers: one histogram of the positive class's score (`prediction.value`, or
`prediction.scores.<positive>` for models that log class scores). Multiclass: per class
c, the histogram of `prediction.scores.<c>` among rows whose `prediction.label` is c, and
among the others (`estimate.ClassBins`), each class on its own map's edges.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from elasticsearch import Elasticsearch

from predwatch import es as es_mod
from predwatch import schema as s
from predwatch.analyzers.aggregates import Window, iso
from predwatch.config import ESConfig

FloatArray = npt.NDArray[np.float64]
ALL_VERSIONS = "*"
NO_VERSION = "(none)"
MAX_VERSIONS = 1000
BUCKET_BUDGET = 50_000
# Only what `parse` reads: each range bucket's from/to would double the response.
FILTER_PATH = [
    "aggregations.**.buckets.key",
    "aggregations.**.buckets.doc_count",
    "aggregations.**.buckets.sum.value",
]


@dataclass
class Histogram:
    """Rows and score sum per bin of `edges` (len(edges) + 1 bins)."""

    counts: FloatArray
    sums: FloatArray

    @classmethod
    def empty(cls, bins: int) -> Histogram:
        return cls(np.zeros(bins), np.zeros(bins))

    def add(self, other: Histogram) -> None:
        self.counts += other.counts
        self.sums += other.sums

    @property
    def rows(self) -> int:
        return int(self.counts.sum())


@dataclass
class ClassHistograms:
    """One class's score: rows predicted as the class, and the other rows."""

    predicted: Histogram
    other: Histogram

    def add(self, other: ClassHistograms) -> None:
        self.predicted.add(other.predicted)
        self.other.add(other.other)


@dataclass
class WindowHistograms:
    """Per version (and ALL_VERSIONS): the binary histogram or the per-class ones."""

    binary: dict[str, Histogram] = field(default_factory=dict)
    classes: dict[str, dict[str, ClassHistograms]] = field(default_factory=dict)


def _ranges(field_name: str, edges: Sequence[float]) -> dict[str, Any]:
    e = [float(x) for x in edges]
    ranges: list[dict[str, Any]] = [{"key": "0", "to": e[0]}]
    ranges += [
        {"key": str(i + 1), "from": a, "to": b} for i, (a, b) in enumerate(itertools.pairwise(e))
    ]
    ranges.append({"key": str(len(e)), "from": e[-1]})
    return {
        "range": {"field": field_name, "ranges": ranges, "keyed": False},
        "aggs": {"sum": {"sum": {"field": field_name}}},
    }


def score_field(positive: str | None = None, use_scores: bool = False) -> str:
    """The field holding the positive class's score."""
    if use_scores and positive is not None:
        return f"{s.PREDICTION_SCORES}.{positive}"
    return s.PREDICTION_VALUE


def _class_edges(
    edges: Sequence[float],
    classes: Sequence[str],
    class_edges: Mapping[str, Sequence[float]] | None,
) -> list[Sequence[float]]:
    """Each class's edges: its own (its calibration map's) where given, else `edges`."""
    return [class_edges[c] if class_edges and c in class_edges else edges for c in classes]


def request(
    edges: Sequence[float],
    *,
    field_name: str | None = None,
    classes: Sequence[str] = (),
    class_edges: Mapping[str, Sequence[float]] | None = None,
) -> dict[str, Any]:
    """The aggregations of one window (binary with `field_name`, multiclass with `classes`)."""
    sub: dict[str, Any] = {}
    if field_name is not None:
        sub["score"] = _ranges(field_name, edges)
    for i, (c, e) in enumerate(
        zip(classes, _class_edges(edges, classes, class_edges), strict=True)
    ):
        f = f"{s.PREDICTION_SCORES}.{c}"
        sub[f"c{i}"] = {
            "filters": {
                "filters": {"predicted": {"term": {s.PREDICTION_LABEL: c}}},
                "other_bucket_key": "other",
            },
            "aggs": {"score": _ranges(f, e)},
        }
    return {
        "versions": {
            "terms": {"field": s.MODEL_VERSION, "size": MAX_VERSIONS, "missing": NO_VERSION},
            "aggs": sub,
        }
    }


def _histogram(agg: dict[str, Any], bins: int) -> Histogram:
    h = Histogram.empty(bins)
    for b in agg.get("buckets", []):
        i = int(b["key"])
        h.counts[i] = float(b["doc_count"])
        h.sums[i] = float(b.get("sum", {}).get("value") or 0.0)
    return h


def parse(
    body: dict[str, Any],
    bins: int,
    *,
    binary: bool,
    classes: Sequence[str] = (),
    class_bins: Sequence[int] | None = None,
) -> WindowHistograms:
    """Histograms per version from the response, plus their sum under ALL_VERSIONS
    (`class_bins`: each class's number of bins, when the classes have their own edges)."""
    out = WindowHistograms()
    total_b = Histogram.empty(bins)
    cb = list(class_bins) if class_bins is not None else [bins] * len(classes)
    total_c = {
        c: ClassHistograms(Histogram.empty(k), Histogram.empty(k))
        for c, k in zip(classes, cb, strict=True)
    }
    versions = body.get("aggregations", {}).get("versions", {}).get("buckets", [])
    for v in versions:
        key = str(v["key"])
        if binary:
            h = _histogram(v.get("score", {}), bins)
            out.binary[key] = h
            total_b.add(h)
        if classes:
            per: dict[str, ClassHistograms] = {}
            for i, c in enumerate(classes):
                f = v.get(f"c{i}", {}).get("buckets", {})
                ch = ClassHistograms(
                    _histogram(f.get("predicted", {}).get("score", {}), cb[i]),
                    _histogram(f.get("other", {}).get("score", {}), cb[i]),
                )
                per[c] = ch
                total_c[c].add(ch)
            out.classes[key] = per
    if binary:
        out.binary[ALL_VERSIONS] = total_b
    if classes:
        out.classes[ALL_VERSIONS] = total_c
    return out


def histograms(
    es: Elasticsearch,
    cfg: ESConfig,
    model: str,
    window: Window,
    edges: Sequence[float],
    *,
    field_name: str | None = s.PREDICTION_VALUE,
    classes: Sequence[str] = (),
    class_edges: Mapping[str, Sequence[float]] | None = None,
) -> WindowHistograms:
    """One request: the window's score histograms per model version."""
    return histograms_many(
        es,
        cfg,
        model,
        [window],
        edges,
        field_name=field_name,
        classes=classes,
        class_edges=class_edges,
    )[0]


def _search(
    es: Elasticsearch, cfg: ESConfig, model: str, query: dict[str, Any], aggs: dict[str, Any]
) -> dict[str, Any]:
    r = es_mod.call(
        cfg,
        lambda: es.search(
            index=s.index_pattern("predictions", model),
            size=0,
            query=query,
            aggs=aggs,
            track_total_hits=False,
            filter_path=FILTER_PATH,
            ignore_unavailable=True,
            allow_no_indices=True,
        ),
    )
    return dict(r.body)


def _span(windows: Sequence[Window]) -> dict[str, Any]:
    start = min(w.start for w in windows)
    end = max(w.end for w in windows)
    return {"range": {s.TIMESTAMP: {"gte": iso(start), "lt": iso(end)}}}


def histograms_many(
    es: Elasticsearch,
    cfg: ESConfig,
    model: str,
    windows: Sequence[Window],
    edges: Sequence[float],
    *,
    field_name: str | None = s.PREDICTION_VALUE,
    classes: Sequence[str] = (),
    class_edges: Mapping[str, Sequence[float]] | None = None,
) -> list[WindowHistograms]:
    """The histograms of several windows in as few requests as the bucket limit allows: a
    `date_range` on @timestamp (one bucket per window) above the per-version ranges. The
    number of versions (one small request first) decides how many windows one request holds
    (BUCKET_BUDGET, under Elasticsearch's default search.max_buckets of 65,536)."""
    if not windows:
        return []
    bins = len(edges) + 1
    class_bins = [len(e) + 1 for e in _class_edges(edges, classes, class_edges)]
    per_version = bins * (1 if field_name is not None else 0) + 3 * sum(class_bins) + 1
    # One window needs no budget; several need the versions (a small request). With one
    # version (the usual case) the `terms` level is left out of the large request: under the
    # window buckets it costs ~15 % of the aggregation, and every row has that version.
    versions: list[str] = []
    if len(windows) > 1:
        pre = {
            "versions": {
                "terms": {"field": s.MODEL_VERSION, "size": MAX_VERSIONS, "missing": NO_VERSION}
            }
        }
        found_v = _search(es, cfg, model, _span(windows), pre)
        buckets = found_v.get("aggregations", {}).get("versions", {}).get("buckets", [])
        versions = [str(b["key"]) for b in buckets]
    only = versions[0] if len(versions) == 1 else None
    step = max(1, BUCKET_BUDGET // (per_version * max(len(versions), 1) + 1))
    out: list[WindowHistograms] = []
    inner = request(edges, field_name=field_name, classes=classes, class_edges=class_edges)
    if only is not None:
        inner = inner["versions"]["aggs"]
    for first in range(0, len(windows), step):
        part = windows[first : first + step]
        ranges = [
            {"key": str(i), "from": iso(w.start), "to": iso(w.end)} for i, w in enumerate(part)
        ]
        aggs = {
            "windows": {
                "date_range": {"field": s.TIMESTAMP, "ranges": ranges, "keyed": False},
                "aggs": inner,
            }
        }
        body = _search(es, cfg, model, _span(part), aggs)
        found = {
            str(b["key"]): b
            for b in body.get("aggregations", {}).get("windows", {}).get("buckets", [])
        }
        for i in range(len(part)):
            w = found.get(str(i), {})
            if only is None:
                by_version = w.get("versions", {})
            else:  # the window's bucket is the one version's
                by_version = {"buckets": [{**w, "key": only}] if w.get("doc_count") else []}
            sub = {"aggregations": {"versions": by_version}}
            out.append(
                parse(
                    sub,
                    bins,
                    binary=field_name is not None,
                    classes=classes,
                    class_bins=class_bins,
                )
            )
    return out
