"""Join outcomes to predictions by prediction_id, page by page, never the whole window.

Strategy (bounded): one side drives, the other is looked up.
1. Two count requests: predictions in the window [start, end), and outcomes stamped from
   `start - OUTCOME_SLACK` on (ground truth arrives after the prediction; the slack absorbs
   clock skew between the serving app and whatever logs the outcome).
2. The smaller side drives: it is read in pages of `page_size` (default 5,000) through a
   point in time, sorted by prediction_id then @timestamp descending (`search_after`), with
   `_source` filtered to the few fields the metrics need.
3. For each page, one `terms` query on prediction_id against the other side (same window /
   slack filter) with `collapse` on prediction_id, newest @timestamp first, fetches at most
   one match per id.
4. Duplicates: one document per prediction_id on either side, the newest (a corrected
   outcome loaded later replaces the first one, also across daily indices).

The prediction side is searched on the daily indices of the window's days
(`prediction_index`), the outcome side on the model's outcome pattern.

Memory is O(page_size), requests O(rows / page_size); the result is the same whichever side
drives. Outcomes stamped earlier than `start - OUTCOME_SLACK` are not joined.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch

from predwatch import es as es_mod
from predwatch import schema as s
from predwatch.analyzers import fetch
from predwatch.analyzers.aggregates import Window, iso
from predwatch.config import ESConfig
from predwatch.errors import ConfigError

PAGE_SIZE = 5000
MAX_PAGE_SIZE = 10_000  # index.max_result_window: one lookup returns a page's matches at once
OUTCOME_SLACK = dt.timedelta(days=1)
KEEP_ALIVE = "5m"
DRIVERS = ("auto", "predictions", "outcomes")
NO_VERSION = "(none)"


@dataclass(frozen=True, slots=True)
class JoinedRow:
    """One prediction with its outcome; times in epoch milliseconds."""

    prediction_id: str
    version: str
    predicted_at: float
    outcome_at: float
    actual_label: str | None
    actual_value: float | None
    label: str | None
    value: float | None
    scores: dict[str, float] | None


@dataclass(frozen=True)
class _Side:
    index: str
    filters: tuple[dict[str, Any], ...]
    source: tuple[str, ...]


# The prediction side names the window's daily indices, in the URL of each search: at most
# this many characters of them (Elasticsearch refuses a request line past 4 KB,
# http.max_initial_line_length), else the model's pattern.
URL_INDEX_CHARS = 3000


def prediction_index(model: str, window: Window) -> str:
    """The prediction indices of `window`'s days (`fetch.window_indices`), comma-joined:
    the model's other daily indices would each cost a shard request per page; the model's
    pattern where the names would be too long for a request line. The outcome side stays on
    its pattern: an outcome may be stamped any time after its prediction."""
    names = ",".join(fetch.window_indices(model, window))
    return names if len(names) <= URL_INDEX_CHARS else s.index_pattern("predictions", model)


def _sides(model: str, window: Window) -> tuple[_Side, _Side]:
    preds = _Side(
        prediction_index(model, window),
        ({"range": {s.TIMESTAMP: {"gte": iso(window.start), "lt": iso(window.end)}}},),
        (s.PREDICTION_ID, s.MODEL_VERSION, s.PREDICTION),
    )
    outs = _Side(
        s.index_pattern("outcomes", model),
        ({"range": {s.TIMESTAMP: {"gte": iso(window.start - OUTCOME_SLACK)}}},),
        (s.PREDICTION_ID, s.OUTCOME),
    )
    return preds, outs


def _query(side: _Side, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    filters = [*side.filters, *([extra] if extra else [])]
    return {"bool": {"filter": filters}}


def count_predictions(
    es: Elasticsearch, cfg: ESConfig, model: str, window: Window
) -> dict[str, int]:
    """Predictions in the window per model version (one aggregation request)."""
    preds, _ = _sides(model, window)
    aggs: dict[str, Any] = {
        "versions": {"terms": {"field": s.MODEL_VERSION, "size": 1000}},
        "none": {"missing": {"field": s.MODEL_VERSION}},
    }
    r = es_mod.call(
        cfg,
        lambda: es.search(
            index=preds.index,
            size=0,
            query=_query(preds),
            aggs=aggs,
            ignore_unavailable=True,
            allow_no_indices=True,
        ),
    )
    a = r.body.get("aggregations", {})
    out = {str(b["key"]): int(b["doc_count"]) for b in a.get("versions", {}).get("buckets", [])}
    missing = int(a.get("none", {}).get("doc_count", 0))
    if missing:
        out[NO_VERSION] = missing
    return out


def count_outcomes(es: Elasticsearch, cfg: ESConfig, model: str, window: Window) -> int:
    """Outcomes that may belong to predictions of the window."""
    _, outs = _sides(model, window)
    r = es_mod.call(
        cfg,
        lambda: es.count(
            index=outs.index, query=_query(outs), ignore_unavailable=True, allow_no_indices=True
        ),
    )
    return int(r.body.get("count", 0))


def _pages(
    es: Elasticsearch, cfg: ESConfig, side: _Side, page_size: int
) -> Iterator[list[dict[str, Any]]]:
    """The side's documents in pages, sorted by prediction_id then newest first."""
    opened = es_mod.call(
        cfg,
        lambda: es.open_point_in_time(
            index=side.index, keep_alive=KEEP_ALIVE, ignore_unavailable=True
        ),
    )
    pit_id = str(opened.body["id"])
    try:
        after: list[Any] | None = None
        while True:
            kwargs: dict[str, Any] = {
                "pit": {"id": pit_id, "keep_alive": KEEP_ALIVE},
                "query": _query(side),
                "sort": [{s.PREDICTION_ID: "asc"}, {s.TIMESTAMP: "desc"}],
                "size": page_size,
                "source_includes": list(side.source),
                "track_total_hits": False,
                "filter_path": ["pit_id", "hits.hits._source", "hits.hits.sort"],
            }
            if after is not None:
                kwargs["search_after"] = after
            r = es_mod.call(cfg, lambda kw=kwargs: es.search(**kw))  # type: ignore[misc]
            pit_id = str(r.body.get("pit_id", pit_id))
            hits: list[dict[str, Any]] = r.body.get("hits", {}).get("hits", [])
            if not hits:
                return
            yield hits
            if len(hits) < page_size:
                return
            after = hits[-1]["sort"]
    finally:
        es.options(ignore_status=(404,)).close_point_in_time(id=pit_id)


def _lookup(
    es: Elasticsearch, cfg: ESConfig, side: _Side, ids: list[str]
) -> dict[str, dict[str, Any]]:
    """The newest document of each id on `side` (one request, at most len(ids) hits)."""
    r = es_mod.call(
        cfg,
        lambda: es.search(
            index=side.index,
            query=_query(side, {"terms": {s.PREDICTION_ID: ids}}),
            collapse={"field": s.PREDICTION_ID},
            sort=[{s.TIMESTAMP: "desc"}],
            size=len(ids),
            source_includes=list(side.source),
            track_total_hits=False,
            ignore_unavailable=True,
            allow_no_indices=True,
            filter_path=["hits.hits._source", "hits.hits.sort"],
        ),
    )
    out: dict[str, dict[str, Any]] = {}
    for hit in r.body.get("hits", {}).get("hits", []):
        pid = str(hit["_source"].get(s.PREDICTION_ID))
        out.setdefault(pid, hit)
    return out


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _scores(v: Any) -> dict[str, float] | None:
    if not isinstance(v, dict) or not v:
        return None
    out = {}
    for k, x in v.items():
        f = _number(x)
        if f is None:  # a non-finite score: the row has no usable probabilities
            return None
        out[str(k)] = f
    return out


def _row(
    pred_hit: dict[str, Any], pred_ms: float, out_hit: dict[str, Any], out_ms: float
) -> JoinedRow:
    src = pred_hit["_source"]
    p = src.get(s.PREDICTION) or {}
    o = out_hit["_source"].get(s.OUTCOME) or {}
    label = p.get("label") if isinstance(p, dict) else None
    version = s.get_path(src, s.MODEL_VERSION)
    actual_label = o.get("label") if isinstance(o, dict) else None
    return JoinedRow(
        prediction_id=str(src.get(s.PREDICTION_ID)),
        version=str(version) if version is not None else NO_VERSION,
        predicted_at=pred_ms,
        outcome_at=out_ms,
        actual_label=str(actual_label) if actual_label is not None else None,
        actual_value=_number(o.get("value")) if isinstance(o, dict) else None,
        label=str(label) if label is not None else None,
        value=_number(p.get("value")) if isinstance(p, dict) else None,
        scores=_scores(p.get("scores")) if isinstance(p, dict) else None,
    )


def choose_driver(predictions: int, outcomes: int) -> str:
    """Page through the smaller side."""
    return "predictions" if predictions <= outcomes else "outcomes"


def join(
    es: Elasticsearch,
    cfg: ESConfig,
    model: str,
    window: Window,
    *,
    driver: str,
    page_size: int = PAGE_SIZE,
) -> Iterator[list[JoinedRow]]:
    """Joined rows of the window's predictions, one list per driving page."""
    if driver not in DRIVERS[1:]:
        raise ConfigError(f"driver must be 'predictions' or 'outcomes', not {driver!r}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ConfigError(f"page size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
    preds, outs = _sides(model, window)
    drive, other = (preds, outs) if driver == "predictions" else (outs, preds)
    last: str | None = None
    for hits in _pages(es, cfg, drive, page_size):
        firsts: dict[str, dict[str, Any]] = {}
        for hit in hits:
            pid = str(hit["_source"].get(s.PREDICTION_ID))
            if pid == last or pid in firsts:
                continue  # an older duplicate (sorted newest first within an id)
            firsts[pid] = hit
        last = str(hits[-1]["_source"].get(s.PREDICTION_ID))
        if not firsts:
            continue
        found = _lookup(es, cfg, other, list(firsts))
        rows = []
        for pid, hit in firsts.items():
            match = found.get(pid)
            if match is None:
                continue
            d_ms, o_ms = float(hit["sort"][1]), float(match["sort"][0])
            if driver == "predictions":
                rows.append(_row(hit, d_ms, match, o_ms))
            else:
                rows.append(_row(match, o_ms, hit, d_ms))
        yield rows
