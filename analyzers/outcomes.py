"""Bulk-load ground truth (`predwatch outcomes load`): a CSV or Parquet file of
prediction_id, actual (and optionally a timestamp) into predwatch-outcomes-<model>-YYYY.MM.DD.

The file is streamed in chunks (CSV through pandas, Parquet through pyarrow record batches)
and indexed with the bulk helper; memory is O(chunk). Each outcome becomes the document
`Shipper.log_outcome` writes: @timestamp (the timestamp column, else the load time; it
chooses the daily index), prediction_id, model.name (+ model.version with --model-version),
outcome.value (numbers and booleans) and outcome.label (integral numbers, booleans, text).

Corrections: documents are indexed with op_type "index" and _id = prediction_id, so loading
an outcome again replaces the earlier one in the same daily index; in another daily index both
are kept and the quality join takes the newest (`quality_join`). (The shipper's
`log_outcome` uses op_type "create": there the first outcome of a day wins.)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from elasticsearch import Elasticsearch, helpers

from predwatch import es as es_mod
from predwatch import schema
from predwatch.baseline import category_key
from predwatch.config import ESConfig
from predwatch.errors import PredwatchError
from predwatch.results_store import ensure_index

CHUNK_ROWS = 10_000
BULK_CHUNK = 1_000
MAX_ID_BYTES = 512  # Elasticsearch's _id limit; longer ids are hashed, like the shipper does
MS_THRESHOLD = 1e11  # epoch numbers above this are milliseconds (as the shipper reads them)
EPOCH_MAX = 253402300799.0
FORMATS = ("auto", "csv", "parquet")
MAX_ERRORS = 5


class OutcomeFileError(PredwatchError):
    """The outcome file cannot be read: missing, unknown format, missing column."""


@dataclass
class LoadResult:
    """What a load did; `failed` documents were refused by Elasticsearch."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    failed: int = 0
    skipped_no_id: int = 0
    skipped_no_actual: int = 0
    bad_timestamp: int = 0
    indices: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)

    @property
    def indexed(self) -> int:
        return self.created + self.updated

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "indexed": self.indexed,
            "created": self.created,
            "updated": self.updated,
            "failed": self.failed,
            "skipped": {
                "no_prediction_id": self.skipped_no_id,
                "no_actual": self.skipped_no_actual,
                "bad_timestamp": self.bad_timestamp,
            },
            "indices": sorted(self.indices),
            "errors": self.errors,
        }


@dataclass(frozen=True)
class Columns:
    id: str = "prediction_id"
    actual: str = "actual"
    timestamp: str | None = None

    def names(self) -> list[str]:
        return [c for c in (self.id, self.actual, self.timestamp) if c]


# --- reading ------------------------------------------------------------------------------
def file_format(path: Path, fmt: str = "auto") -> str:
    if fmt not in FORMATS:
        raise OutcomeFileError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if fmt != "auto":
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".parquet", ".pq"):
        return "parquet"
    if any(s in (".csv", ".tsv", ".txt") for s in suffixes):
        return "csv"
    raise OutcomeFileError(
        f"cannot tell the format of {path.name}: name it .csv or .parquet, or give --format"
    )


def _header(path: Path, fmt: str) -> list[str]:
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return list(pq.ParquetFile(path).schema_arrow.names)
        return [str(c) for c in pd.read_csv(path, nrows=0, sep=_sep(path)).columns]
    except FileNotFoundError:
        raise OutcomeFileError(f"outcome file {path} does not exist") from None
    except Exception as exc:  # pandas / pyarrow parse errors have many types
        raise OutcomeFileError(f"cannot read {path} as {fmt}: {str(exc)[:200]}") from None


def _sep(path: Path) -> str:
    return "\t" if ".tsv" in [s.lower() for s in path.suffixes] else ","


def read_rows(
    path: str | Path, columns: Columns, fmt: str = "auto", chunk_rows: int = CHUNK_ROWS
) -> Iterator[list[tuple[Any, Any, Any]]]:
    """(id, actual, timestamp) tuples in chunks; OutcomeFileError for a missing column."""
    p = Path(path)
    kind = file_format(p, fmt)
    header = _header(p, kind)
    missing = [c for c in columns.names() if c not in header]
    if missing:
        raise OutcomeFileError(
            f"{p.name} has no column {', '.join(repr(c) for c in missing)}; its columns are "
            f"{', '.join(header[:20])} (choose others with --id-column / --actual-column / "
            "--timestamp-column)"
        )
    want = columns.names()
    if kind == "parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(p).iter_batches(batch_size=chunk_rows, columns=want):
            data = batch.to_pydict()
            yield _tuples(data, columns)
        return
    # Everything is read as text and typed per value: pandas' per-chunk type inference
    # would make the same "1" a number in one chunk and text in another.
    reader = pd.read_csv(
        p, sep=_sep(p), usecols=want, dtype=str, keep_default_na=False, chunksize=chunk_rows
    )
    with reader:
        for frame in reader:
            data = {c: frame[c].tolist() for c in want}
            data[columns.actual] = [csv_value(v) for v in data[columns.actual]]
            yield _tuples(data, columns)


def csv_value(text: str) -> Any:
    """A CSV cell typed like JSON: integer, number, true/false, else the text itself."""
    raw = text.strip()
    low = raw.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("", "na", "nan", "null", "none"):
        return None
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        return text


def _tuples(data: dict[str, list[Any]], columns: Columns) -> list[tuple[Any, Any, Any]]:
    ids, actual = data[columns.id], data[columns.actual]
    ts = data[columns.timestamp] if columns.timestamp else [None] * len(ids)
    return list(zip(ids, actual, ts, strict=True))


# --- documents ----------------------------------------------------------------------------
def _missing(v: Any) -> bool:
    if v is None or v is pd.NaT or v is pd.NA:
        return True
    return (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


def outcome_fields(actual: Any) -> dict[str, Any] | None:
    """`outcome.value` / `outcome.label` as the shipper writes them; None when missing."""
    if hasattr(actual, "item") and not isinstance(actual, str | bytes):
        actual = actual.item()  # numpy scalars
    if _missing(actual):
        return None
    if isinstance(actual, bool):
        return {"value": 1.0 if actual else 0.0, "label": category_key(actual)}
    if isinstance(actual, int | float):
        if not math.isfinite(actual):
            return None
        out: dict[str, Any] = {"value": float(actual)}
        if isinstance(actual, int) or float(actual).is_integer():
            out["label"] = category_key(actual)
        return out
    return {"label": str(actual)[: schema.KEYWORD_IGNORE_ABOVE]}


def epoch_seconds(ts: Any, now: float) -> float | None:
    """The timestamp in epoch seconds (`now` when absent), None when unreadable."""
    if hasattr(ts, "to_pydatetime"):
        ts = ts.to_pydatetime()  # pandas Timestamp
    if _missing(ts):
        return now
    try:
        if isinstance(ts, dt.datetime):
            t = (ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)).timestamp()
        elif isinstance(ts, dt.date):
            t = dt.datetime(ts.year, ts.month, ts.day, tzinfo=dt.UTC).timestamp()
        elif isinstance(ts, str):
            raw = ts.strip()
            value = dt.datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith("Z") else raw)
            return epoch_seconds(value, now)
        else:
            x = float(ts)
            t = x / 1000.0 if x > MS_THRESHOLD else x
    except (TypeError, ValueError, OverflowError):
        return None
    return t if 0.0 <= t <= EPOCH_MAX else None


def doc_id(pid: str) -> str:
    raw = pid.encode("utf-8", "replace")
    return pid if len(raw) <= MAX_ID_BYTES else hashlib.sha256(raw).hexdigest()


def _iso(t: float) -> str:
    d = dt.datetime.fromtimestamp(t, dt.UTC)
    return d.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- loading ------------------------------------------------------------------------------
def _ensure_index(es: Elasticsearch, cfg: ESConfig, index: str) -> None:
    """Create a daily index with the outcomes mapping unless it exists (templates may be absent)."""
    ensure_index(es, cfg, index, "outcomes")


def load(
    es: Elasticsearch,
    cfg: ESConfig,
    path: str | Path,
    model: str,
    *,
    columns: Columns | None = None,
    fmt: str = "auto",
    model_version: str | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> LoadResult:
    """Stream the file into the model's outcome indices; refreshes them at the end."""
    schema.validate_model_name(model)
    columns = columns or Columns()
    result = LoadResult()
    chunks = read_rows(path, columns, fmt, chunk_rows)  # a bad file fails before any request
    first = next(chunks, None)
    model_field = {"name": model, **({"version": model_version} if model_version else {})}
    now = time.time()

    def actions() -> Iterator[dict[str, Any]]:
        if first is not None:
            yield from _chunk_actions(first)
        for chunk in chunks:
            yield from _chunk_actions(chunk)

    def _chunk_actions(chunk: list[tuple[Any, Any, Any]]) -> Iterator[dict[str, Any]]:
        for raw_id, actual, ts in chunk:
            result.rows += 1
            if _missing(raw_id):
                result.skipped_no_id += 1
                continue
            outcome = outcome_fields(actual)
            if outcome is None:
                result.skipped_no_actual += 1
                continue
            t = epoch_seconds(ts, now)
            if t is None:
                result.bad_timestamp += 1
                continue
            pid = str(raw_id)
            index = schema.index_name("outcomes", model, dt.datetime.fromtimestamp(t, dt.UTC))
            if index not in result.indices:
                _ensure_index(es, cfg, index)
                result.indices.add(index)
            yield {
                "_op_type": "index",
                "_index": index,
                "_id": doc_id(pid),
                "_source": {
                    schema.TIMESTAMP: _iso(t),
                    schema.PREDICTION_ID: pid[: schema.KEYWORD_IGNORE_ABOVE],
                    "model": model_field,
                    "outcome": outcome,
                },
            }
        if progress is not None:
            progress(result.rows)

    def bulk() -> None:
        for ok, item in helpers.streaming_bulk(
            es,
            actions(),
            chunk_size=BULK_CHUNK,
            raise_on_error=False,
            max_retries=3,
        ):
            info = item.get("index", {})
            if ok:
                if info.get("result") == "updated":
                    result.updated += 1
                else:
                    result.created += 1
                continue
            result.failed += 1
            if len(result.errors) < MAX_ERRORS:
                err = info.get("error", {})
                reason = err.get("reason", err) if isinstance(err, dict) else err
                result.errors.append(f"{info.get('_id')}: {str(reason)[:200]}")

    es_mod.call(cfg, bulk)
    if result.indices:
        es_mod.call(cfg, lambda: es.indices.refresh(index=",".join(sorted(result.indices))))
    return result
