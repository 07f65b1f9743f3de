"""Reading training data in chunks: CSV (pandas chunks) and Parquet (pyarrow batches).

`FrameSource` can be iterated more than once (each iteration re-opens the file), which is
what lets `build_baseline` make a second pass for exact bin counts in bounded memory.
A rich progress bar goes to stderr only when stderr is a terminal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Collection, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import pandas as pd

from predwatch.baseline import BaselineError

DEFAULT_CHUNKSIZE = 100_000
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zst", ".csv.xz", ".tsv", ".tsv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")


def data_format(path: Path) -> str:
    """ "csv" or "parquet" from the file name."""
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES) or path.is_dir():
        return "parquet"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    raise BaselineError(
        f"{path}: unknown data format; DATA must be a .csv (optionally compressed), .tsv or "
        ".parquet file"
    )


def _progress(enabled: bool | None, label: str, total: float | None) -> Any:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    progress.add_task(label, total=total, rows=0)
    return progress


def iter_frames(
    path: str | os.PathLike[str],
    chunksize: int = DEFAULT_CHUNKSIZE,
    *,
    exclude: Collection[str] = (),
    as_string: Collection[str] = (),
    progress: bool | None = None,
    label: str = "reading",
) -> Iterator[pd.DataFrame]:
    """DataFrames of at most `chunksize` rows from a CSV or Parquet file.

    `exclude` columns are not read; `as_string` CSV columns are read as text (so zip codes
    keep their leading zeros). `progress` None means "on a TTY".
    """
    p = Path(path)
    if not p.exists():
        raise BaselineError(f"data file {p} does not exist")
    fmt = data_format(p)
    with ExitStack() as stack:
        if fmt == "parquet":
            yield from _parquet(p, chunksize, exclude, progress, label, stack)
        else:
            yield from _csv(p, chunksize, exclude, as_string, progress, label, stack)


def _csv(
    p: Path,
    chunksize: int,
    exclude: Collection[str],
    as_string: Collection[str],
    progress: bool | None,
    label: str,
    stack: ExitStack,
) -> Iterator[pd.DataFrame]:
    raw: IO[bytes] = stack.enter_context(p.open("rb"))
    name = p.name.lower()
    compression: Any = next(
        (
            c
            for s, c in ((".gz", "gzip"), (".bz2", "bz2"), (".zst", "zstd"), (".xz", "xz"))
            if name.endswith(s)
        ),
        None,
    )
    skip = set(exclude)
    try:
        reader = pd.read_csv(
            raw,
            chunksize=chunksize,
            sep="\t" if ".tsv" in name else ",",
            compression=compression,
            usecols=(lambda c: c not in skip) if skip else None,
            dtype=dict.fromkeys(as_string, str) or None,
            low_memory=False,
        )
        stack.enter_context(reader)
        bar = _progress(progress, label, float(p.stat().st_size))
        if bar is not None:
            stack.enter_context(bar)
        rows = 0
        for frame in reader:
            rows += len(frame)
            if bar is not None:
                # Bytes consumed from the file (read-ahead makes it approximate).
                bar.update(bar.task_ids[0], completed=raw.tell(), rows=rows)
            yield frame
    except pd.errors.EmptyDataError:
        raise BaselineError(f"{p} is empty (no header line)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BaselineError(f"{p} could not be read as CSV: {msg}") from None


def _parquet(
    p: Path,
    chunksize: int,
    exclude: Collection[str],
    progress: bool | None,
    label: str,
    stack: ExitStack,
) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(p)
        columns = [c for c in pf.schema_arrow.names if c not in set(exclude)]
        bar = _progress(progress, label, float(pf.metadata.num_rows))
        if bar is not None:
            stack.enter_context(bar)
        rows = 0
        for batch in pf.iter_batches(batch_size=chunksize, columns=columns):
            frame = batch.to_pandas()
            rows += len(frame)
            if bar is not None:
                bar.update(bar.task_ids[0], completed=rows, rows=rows)
            yield frame
    except (pa.ArrowException, OSError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BaselineError(f"{p} could not be read as Parquet: {msg}") from None


class FrameSource:
    """The chunks of a data file, re-readable: `for frame in source` opens it anew."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        chunksize: int = DEFAULT_CHUNKSIZE,
        *,
        exclude: Collection[str] = (),
        as_string: Collection[str] = (),
        progress: bool | None = None,
    ) -> None:
        self.path = Path(path)
        self.chunksize = chunksize
        self.exclude = tuple(exclude)
        self.as_string = tuple(as_string)
        self.progress = progress
        self.passes = 0
        if not self.path.exists():
            raise BaselineError(f"data file {self.path} does not exist")
        data_format(self.path)

    def columns(self) -> list[str]:
        """Every column name of the file (before `exclude`)."""
        try:
            if data_format(self.path) == "parquet":
                import pyarrow.parquet as pq

                return [str(c) for c in pq.ParquetFile(self.path).schema_arrow.names]
            sep = "\t" if ".tsv" in self.path.name.lower() else ","
            return [str(c) for c in pd.read_csv(self.path, nrows=0, sep=sep).columns]
        except Exception as exc:  # any reader failure: the chunked read reports it properly
            if isinstance(exc, pd.errors.EmptyDataError):
                raise BaselineError(f"{self.path} is empty (no header line)") from None
            return []

    def __iter__(self) -> Iterator[pd.DataFrame]:
        self.passes += 1
        label = f"{self.path.name} (pass {self.passes})"
        return iter_frames(
            self.path,
            self.chunksize,
            exclude=self.exclude,
            as_string=self.as_string,
            progress=self.progress,
            label=label,
        )
