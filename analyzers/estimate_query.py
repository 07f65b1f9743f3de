"""The score histograms CBPE needs, from Elasticsearch aggregations (no document is read).

Per window, per model version (documents without a version under "(none)"), the rows and
score sum per bin of the baseline's edges (`estimate_edges.estimation_edges`: the calibration
map's knots, the threshold and split ramps; baselines of old: the 1/1000 grid). Ranges are
[from, to), the same bins as `score_calibration.bin_index`; rows without a score are in no
bin. Memory and time are O(windows x versions x bins), whatever the number of predictions.

Request shape: a search per window, all sent in one `_msearch` (Elasticsearch runs them in
parallel), each on the daily indices its window touches (`schema.window_indices`: the other
days' shards cost a shard request each even when empty), with the histograms at the top
level. A `versions` terms aggregation beside them lists the model versions: in the usual
case (one version) that answer is complete. The windows with several versions are asked
again, with the histograms under a `terms` level per version.

A histogram is one `range` with a `sum` per bin, or, where the window holds every document
of its days' indices (`covers_its_days`), two sibling `range`s over a partition of the bins
(`Bins`): `score`, the bins whose sum the estimate does not need (inside one block of the
map, or beyond it: `estimate_edges.summed_bins`), counts only; and `summed`, the other bins,
with their `sum`. Elasticsearch counts a top-level `range` without sub-aggregations from its
index (filter-by-filter) on a shard whose documents all fall in the window (on large enough
shards: small ones are read either way), so only the rows of the summed bins are read one
by one there. On a shard the window cuts it would read the rows once per `range`; under a
version bucket or a class's `filters` no `range` is counted from the index: there every bin
is in `summed`.

Binary classifiers: one histogram of the positive class's score (`prediction.value`, or
`prediction.scores.<positive>` for models that log class scores). Multiclass: per class
c, the histogram of `prediction.scores.<c>` among rows whose `prediction.label` is c, and
among the others (`estimate.ClassBins`), each class on its own map's bins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from elasticsearch import Elasticsearch

from predwatch import schema as s
from predwatch.analyzers import fetch
from predwatch.analyzers import score_calibration as sc
from predwatch.analyzers.aggregates import Window
from predwatch.analyzers.estimate_edges import summed_bins
from predwatch.analyzers.query_plan import window_query
from predwatch.config import ESConfig

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ALL_VERSIONS = "*"
NO_VERSION = "(none)"
MAX_VERSIONS = 1000
SEARCHES_PER_REQUEST = 100  # searches per _msearch
# Few windows are searched in pieces (Elasticsearch reads each on its own threads; a window
# covering its days is cut at UTC midnights), so that a request has about this many
# searches: its search pool has 1.5 x cores + 1 threads per node (4 on 2 cores).
PARALLEL = 4
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
        plain = bucket.get("score", {}).get("buckets", [])
        summed = bucket.get("summed", {}).get("buckets", [])
        if plain:  # whole arrays at once: item by item costs more than the request's parse
            h.counts[[int(b["key"]) for b in plain]] = [b["doc_count"] for b in plain]
        if summed:
            at = [int(b["key"]) for b in summed]
            h.counts[at] = [b["doc_count"] for b in summed]
            h.sums[at] = [b.get("sum", {}).get("value") or 0.0 for b in summed]
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

    def aggs(self, *, split: bool) -> dict[str, Any]:
        """The histograms' aggregations, with the binary score's bins `split` (`Bins.aggs`)
        or not. Split where Elasticsearch may count a `range` without sub-aggregations from
        its index: at a request's top level, on shards whose documents all fall in the
        window. Elsewhere (a window that cuts its day's index, under a version bucket or a
        class's `filters`) it reads every row for each `range`, so one `range` with sums
        costs less."""
        out: dict[str, Any] = {}
        if self.field_name is not None:
            out.update(self.bins.aggs(self.field_name, split=split))
        for i, (c, b) in enumerate(zip(self.classes, self.class_bins, strict=True)):
            out[f"c{i}"] = {
                "filters": {
                    "filters": {"predicted": {"term": {s.PREDICTION_LABEL: c}}},
                    "other_bucket_key": "other",
                },
                "aggs": b.aggs(f"{s.PREDICTION_SCORES}.{c}", split=False),  # under `filters`
            }
        return out

    def window(self, by_version: Iterable[tuple[str, Mapping[str, Any]]]) -> WindowHistograms:
        """One window's histograms from its buckets per version, plus their sum under
        ALL_VERSIONS; a version met several times (a window searched in pieces) is summed."""
        out = WindowHistograms()
        total_b = self.bins.empty()
        total_c = {
            c: ClassHistograms(b.empty(), b.empty())
            for c, b in zip(self.classes, self.class_bins, strict=True)
        }
        for key, bucket in by_version:
            if self.field_name is not None:
                h = self.bins.read(bucket)
                total_b.add(h)
                if key in out.binary:
                    out.binary[key].add(h)
                else:
                    out.binary[key] = h
            if self.classes:
                per = out.classes.setdefault(key, {})
                for i, (c, b) in enumerate(zip(self.classes, self.class_bins, strict=True)):
                    f = bucket.get(f"c{i}", {}).get("buckets", {})
                    ch = ClassHistograms(b.read(f.get("predicted", {})), b.read(f.get("other", {})))
                    total_c[c].add(ch)
                    if c in per:
                        per[c].add(ch)
                    else:
                        per[c] = ch
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


def _body(window: Window, aggs: dict[str, Any]) -> dict[str, Any]:
    return {"size": 0, "track_total_hits": False, "query": window_query(window), "aggs": aggs}


def covers_its_days(window: Window, now: dt.datetime) -> bool:
    """Whether `window` holds every document of the daily indices it touches (an index
    holds one UTC day, `schema.index_name`): it starts at a UTC midnight and ends at one or
    after `now` (today's index has nothing later yet)."""
    return _midnight(window.start) and (_midnight(window.end) or window.end >= now)


def _midnight(t: dt.datetime) -> bool:
    return t.astimezone(dt.UTC).timetz() == dt.time(tzinfo=dt.UTC)


def _msearch(
    es: Elasticsearch,
    cfg: ESConfig,
    model: str,
    windows: Sequence[Window],
    aggs: Callable[[Window], dict[str, Any]],
) -> list[Mapping[str, Any]]:
    """Each window's `aggregations` (`aggs(window)`): a search per window, on the daily
    indices it touches (`schema.window_indices`), SEARCHES_PER_REQUEST to an _msearch."""
    out: list[Mapping[str, Any]] = []
    for i in range(0, len(windows), SEARCHES_PER_REQUEST):
        part = windows[i : i + SEARCHES_PER_REQUEST]
        indices = [fetch.window_indices(model, w) for w in part]
        bodies = [_body(w, aggs(w)) for w in part]
        answers = fetch.msearch(es, cfg, indices, bodies, filter_path=FILTER_PATH)
        out += [a.get("aggregations", {}) for a in answers]
    return out


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
    """The histograms of several windows, in one _msearch (Elasticsearch runs its searches
    in parallel): a search per window, on the window's own daily indices, with its
    histograms at the top level; when the windows are fewer than PARALLEL, each is searched
    in pieces (`_pieces`), its histograms summed.

    Each search lists the model versions beside the histograms: with one version (the usual
    case) its answer is complete, the window's rows being that version's. The windows with
    several versions (in any piece) are asked again, whole, with the histograms under a
    `terms` level per version."""
    req = Request.of(bins, field_name=field_name, classes=classes, class_bins=class_bins)
    now = dt.datetime.now(dt.UTC)
    form = {split: {**req.aggs(split=split), "versions": _VERSIONS} for split in (True, False)}
    cut = max(1, PARALLEL // max(1, len(windows)))
    pieces = [(i, p) for i, w in enumerate(windows) for p in _pieces(w, now, cut)]
    answers = _msearch(
        es, cfg, model, [p for _, p in pieces], lambda p: form[covers_its_days(p, now)]
    )
    versions: list[set[str]] = [set() for _ in windows]
    parts: list[list[Mapping[str, Any]]] = [[] for _ in windows]
    for (i, _), aggs in zip(pieces, answers, strict=True):
        versions[i].update(str(b["key"]) for b in aggs.get("versions", {}).get("buckets", []))
        parts[i].append(aggs)
    out: list[WindowHistograms] = []
    again: list[int] = []
    for i, (found, piece_aggs) in enumerate(zip(versions, parts, strict=True)):
        if len(found) > 1:  # filled in below
            again.append(i)
            out.append(WindowHistograms())
        else:  # one version (or none): every piece's rows are that version's
            out.append(req.window((v, a) for v in found for a in piece_aggs))
    nested = {"versions": {**_VERSIONS, "aggs": req.aggs(split=False)}}
    answers = _msearch(es, cfg, model, [windows[i] for i in again], lambda _: nested)
    for i, aggs in zip(again, answers, strict=True):
        buckets = aggs.get("versions", {}).get("buckets", [])
        out[i] = req.window([(str(b["key"]), b) for b in buckets])
    return out


def _pieces(window: Window, now: dt.datetime, cut: int) -> list[Window]:
    """`window` in up to `cut` consecutive pieces, searched in parallel (each piece's shards
    are read by their own threads), that partition it exactly. A window covering its days
    is cut at UTC midnights only, so that every piece still covers its days (its bins may be
    counted from the index): a one-day window stays whole. Another window is cut into
    pieces of whole milliseconds."""
    if cut == 1:
        return [window]
    if covers_its_days(window, now):
        start = window.start.astimezone(dt.UTC)
        until = min(window.end, max(now, start))  # no piece for days yet to come
        days = max(1, -(-(until - start) // dt.timedelta(days=1)))  # the last may be today
        n = min(cut, days)
        at = [start + dt.timedelta(days=days * k // n) for k in range(n)]
    else:
        span_ms = (window.end - window.start) // dt.timedelta(milliseconds=1)
        if span_ms < cut:
            return [window]
        at = [window.start + dt.timedelta(milliseconds=span_ms * k // cut) for k in range(cut)]
    return [Window(a, b) for a, b in zip(at, [*at[1:], window.end], strict=True)]
