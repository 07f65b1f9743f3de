"""The score histograms CBPE needs, from Elasticsearch aggregations (no document is read).

Per window, per model version (documents without a version under "(none)"), the rows and
score sum per bin of the baseline's edges (`estimate_edges.estimation_edges`: the calibration
map's knots, the threshold and split ramps; baselines of old: the 1/1000 grid). Ranges are
[from, to), the same bins as `score_calibration.bin_index`; rows without a score are in no
bin. Memory and time are O(windows x versions x bins), whatever the number of predictions.

Each histogram is two sibling `range` aggregations over a partition of the bins (`Bins`):
`score`, the bins whose sum the estimate does not need (inside one block of the map, or
beyond it: `estimate_edges.summed_bins`), counts only; and `summed`, the other bins, with a
`sum` of the score. At the top level of a request, a `range` without sub-aggregations is
counted from the index (Elasticsearch's filter-by-filter mode) on every shard whose
documents all fall in the window; only the rows of `summed` bins are then read one by one.
Under a window or version bucket no `range` is counted from the index, and one `range` with
a sum per bin reads each row once: there every bin is in `summed`.

Request shape: one window is the request's query and its histograms sit at the top level;
several windows are a `date_range` bucket each (one request for as many windows as the
bucket limit allows). A `versions` terms aggregation beside them lists the model versions; in
the usual case (one version) that answer is complete. With several versions, the windows are
asked again with the histograms under a `terms` level per version.

Binary classifiers: one histogram of the positive class's score (`prediction.value`, or
`prediction.scores.<positive>` for models that log class scores). Multiclass: per class
c, the histogram of `prediction.scores.<c>` among rows whose `prediction.label` is c, and
among the others (`estimate.ClassBins`), each class on its own map's bins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from elasticsearch import Elasticsearch

from predwatch import es as es_mod
from predwatch import schema as s
from predwatch.analyzers import score_calibration as sc
from predwatch.analyzers.aggregates import Window, iso
from predwatch.analyzers.estimate_edges import summed_bins
from predwatch.config import ESConfig

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ALL_VERSIONS = "*"
NO_VERSION = "(none)"
MAX_VERSIONS = 1000
BUCKET_BUDGET = 50_000
# Only what the readers use: each range bucket's from/to would double the response.
FILTER_PATH = [
    "aggregations.**.buckets.key",
    "aggregations.**.buckets.doc_count",
    "aggregations.**.buckets.sum.value",
]
_VERSIONS = {"terms": {"field": s.MODEL_VERSION, "size": MAX_VERSIONS, "missing": NO_VERSION}}


@dataclass
class Histogram:
    """Rows and score sum per bin (NaN: a bin whose sum was not asked for)."""

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


@dataclass(frozen=True)
class Bins:
    """One score's bins: the inner `edges` (len(edges) + 1 bins) and which of them need the
    sum of their scores (`summed`)."""

    edges: FloatArray
    summed: BoolArray

    @classmethod
    def of(cls, edges: npt.ArrayLike, cal: sc.Calibration | None = None) -> Bins:
        """The bins of `edges` for the map `cal` (`estimate_edges.summed_bins`); without a
        map every bin is summed."""
        e = np.asarray(edges, dtype=np.float64)
        if cal is None:
            return cls(e, np.ones(len(e) + 1, dtype=np.bool_))
        return cls(e, summed_bins(cal, e))

    @property
    def count(self) -> int:
        return len(self.edges) + 1

    def empty(self) -> Histogram:
        h = Histogram.empty(self.count)
        h.sums[~self.summed] = np.nan
        return h

    def aggs(self, field_name: str, *, split: bool = True) -> dict[str, Any]:
        """`score` (bins counted only) and `summed` (bins with their `sum`), each left out
        when it has no bin; a bucket's key is its bin's index. Not `split`: every bin in
        `summed` (one pass over the rows, where no bin can be counted from the index)."""
        e = [float(x) for x in self.edges]
        lo: list[float | None] = [None, *e]
        hi: list[float | None] = [*e, None]
        summed = self.summed if split else np.ones_like(self.summed)

        def ranges(want: bool) -> list[dict[str, Any]]:
            out = []
            for i in np.flatnonzero(summed == want):
                r: dict[str, Any] = {"key": str(i)}
                if lo[i] is not None:
                    r["from"] = lo[i]
                if hi[i] is not None:
                    r["to"] = hi[i]
                out.append(r)
            return out

        out: dict[str, Any] = {}
        if plain := ranges(False):
            out["score"] = {"range": {"field": field_name, "ranges": plain, "keyed": False}}
        if with_sums := ranges(True):
            out["summed"] = {
                "range": {"field": field_name, "ranges": with_sums, "keyed": False},
                "aggs": {"sum": {"sum": {"field": field_name}}},
            }
        return out

    def read(self, bucket: Mapping[str, Any]) -> Histogram:
        """The histogram under `bucket` (the parent of `aggs`' two aggregations)."""
        h = self.empty()
        for b in bucket.get("score", {}).get("buckets", []):
            h.counts[int(b["key"])] = float(b["doc_count"])
        for b in bucket.get("summed", {}).get("buckets", []):
            i = int(b["key"])
            h.counts[i] = float(b["doc_count"])
            h.sums[i] = float(b.get("sum", {}).get("value") or 0.0)
        return h


def score_field(positive: str | None = None, use_scores: bool = False) -> str:
    """The field holding the positive class's score."""
    if use_scores and positive is not None:
        return f"{s.PREDICTION_SCORES}.{positive}"
    return s.PREDICTION_VALUE


@dataclass(frozen=True)
class Request:
    """What one model's histograms are: a binary score (`field_name`), and/or per-class
    scores (`classes`, each on its `class_bins`)."""

    bins: Bins
    field_name: str | None = s.PREDICTION_VALUE
    classes: tuple[str, ...] = ()
    class_bins: tuple[Bins, ...] = ()

    @classmethod
    def of(
        cls,
        bins: Bins,
        *,
        field_name: str | None = s.PREDICTION_VALUE,
        classes: Sequence[str] = (),
        class_bins: Mapping[str, Bins] | None = None,
    ) -> Request:
        """Each class on its own bins where given, else on `bins`."""
        own = class_bins or {}
        return cls(bins, field_name, tuple(classes), tuple(own.get(c, bins) for c in classes))

    def aggs(self, *, top: bool) -> dict[str, Any]:
        """The aggregations of one bucket: the request's top level (`top`), or a window or
        version bucket. Only the binary score's bins at the top level are split
        (`Bins.aggs`): there Elasticsearch counts a `range` without sub-aggregations from its
        index; under a bucket (a window, a version, a class's `filters`) it reads every row
        for each `range`, so one `range` with sums costs less."""
        out: dict[str, Any] = {}
        if self.field_name is not None:
            out.update(self.bins.aggs(self.field_name, split=top))
        for i, (c, b) in enumerate(zip(self.classes, self.class_bins, strict=True)):
            out[f"c{i}"] = {
                "filters": {
                    "filters": {"predicted": {"term": {s.PREDICTION_LABEL: c}}},
                    "other_bucket_key": "other",
                },
                "aggs": b.aggs(f"{s.PREDICTION_SCORES}.{c}", split=False),  # under `filters`
            }
        return out

    @property
    def buckets(self) -> int:
        """Buckets per version and window (the bucket budget's unit)."""
        binary = self.bins.count if self.field_name is not None else 0
        return binary + 3 * sum(b.count for b in self.class_bins) + 1

    def window(self, by_version: Mapping[str, Mapping[str, Any]]) -> WindowHistograms:
        """One window's histograms from its bucket per version, plus their sum under
        ALL_VERSIONS."""
        out = WindowHistograms()
        total_b = self.bins.empty()
        total_c = {
            c: ClassHistograms(b.empty(), b.empty())
            for c, b in zip(self.classes, self.class_bins, strict=True)
        }
        for key, bucket in by_version.items():
            if self.field_name is not None:
                h = self.bins.read(bucket)
                out.binary[key] = h
                total_b.add(h)
            if self.classes:
                per: dict[str, ClassHistograms] = {}
                for i, (c, b) in enumerate(zip(self.classes, self.class_bins, strict=True)):
                    f = bucket.get(f"c{i}", {}).get("buckets", {})
                    ch = ClassHistograms(b.read(f.get("predicted", {})), b.read(f.get("other", {})))
                    per[c] = ch
                    total_c[c].add(ch)
                out.classes[key] = per
        if self.field_name is not None:
            out.binary[ALL_VERSIONS] = total_b
        if self.classes:
            out.classes[ALL_VERSIONS] = total_c
        return out


def histograms(
    es: Elasticsearch,
    cfg: ESConfig,
    model: str,
    window: Window,
    bins: Bins,
    *,
    field_name: str | None = s.PREDICTION_VALUE,
    classes: Sequence[str] = (),
    class_bins: Mapping[str, Bins] | None = None,
) -> WindowHistograms:
    """One window's score histograms per model version (one request; two with several
    versions)."""
    return histograms_many(
        es,
        cfg,
        model,
        [window],
        bins,
        field_name=field_name,
        classes=classes,
        class_bins=class_bins,
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


def _by_window(part: Sequence[Window], aggs: dict[str, Any]) -> dict[str, Any]:
    """`aggs` per window: at the top level for one window (the query is the window), under
    a `date_range` bucket each for several."""
    if len(part) == 1:
        return aggs
    ranges = [{"key": str(i), "from": iso(w.start), "to": iso(w.end)} for i, w in enumerate(part)]
    return {
        "windows": {
            "date_range": {"field": s.TIMESTAMP, "ranges": ranges, "keyed": False},
            "aggs": aggs,
        }
    }


def _window_buckets(body: Mapping[str, Any], part: Sequence[Window]) -> list[dict[str, Any]]:
    """Each window's bucket in the answer to `_by_window(part, ...)`, in `part`'s order."""
    aggs = body.get("aggregations", {})
    if len(part) == 1:
        rows = sum(int(b["doc_count"]) for b in aggs.get("versions", {}).get("buckets", []))
        return [{**aggs, "doc_count": rows}]
    found = {str(b["key"]): b for b in aggs.get("windows", {}).get("buckets", [])}
    return [dict(found.get(str(i), {})) for i in range(len(part))]


def _chunks(windows: Sequence[Window], step: int) -> list[Sequence[Window]]:
    return [windows[i : i + step] for i in range(0, len(windows), step)]


def histograms_many(
    es: Elasticsearch,
    cfg: ESConfig,
    model: str,
    windows: Sequence[Window],
    bins: Bins,
    *,
    field_name: str | None = s.PREDICTION_VALUE,
    classes: Sequence[str] = (),
    class_bins: Mapping[str, Bins] | None = None,
) -> list[WindowHistograms]:
    """The histograms of several windows in as few requests as the bucket limit allows
    (BUCKET_BUDGET, under Elasticsearch's default search.max_buckets of 65,536).

    The first request has no version level, and a `versions` terms aggregation beside the
    windows: with one version (the usual case) it is the whole answer, each window's rows
    being that version's. With several, the windows are asked again per version (as many
    per request as the budget allows with that many versions)."""
    req = Request.of(bins, field_name=field_name, classes=classes, class_bins=class_bins)
    out: list[WindowHistograms] = []
    step = max(1, (BUCKET_BUDGET - MAX_VERSIONS) // (req.buckets + 1))
    for part in _chunks(windows, step):
        inner = req.aggs(top=len(part) == 1)
        body = _search(
            es, cfg, model, _span(part), {**_by_window(part, inner), "versions": _VERSIONS}
        )
        versions = [
            str(b["key"])
            for b in body.get("aggregations", {}).get("versions", {}).get("buckets", [])
        ]
        if len(versions) <= 1:
            for w in _window_buckets(body, part):
                out.append(req.window({versions[0]: w} if w.get("doc_count") else {}))
            continue
        nested = {"versions": {**_VERSIONS, "aggs": req.aggs(top=False)}}
        step_v = max(1, BUCKET_BUDGET // (req.buckets * len(versions) + 1))
        for sub in _chunks(part, step_v):
            body = _search(es, cfg, model, _span(sub), _by_window(sub, nested))
            for w in _window_buckets(body, sub):
                found = w.get("versions", {}).get("buckets", [])
                out.append(req.window({str(b["key"]): b for b in found}))
    return out
