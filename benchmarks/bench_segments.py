"""`predwatch analyze --segment-by` vs the same run unsegmented, on the same node and rows.

    .venv/bin/python benchmarks/bench_segments.py                    # 1M rows, 50 segments
    .venv/bin/python benchmarks/bench_segments.py --rows 300000,1000000 --repeat 5
    .venv/bin/python benchmarks/bench_segments.py --rows 100000 --no-results   # a quick look

Workload: bench_analyze's (30 inputs: 20 numeric, 10 categorical; the same served rows in
the same index, model `bench_analyze`, indexed once), segmented by `cat_06`, its input with
50 values (Zipf: the smallest segment holds about 0.3 % of the rows). The baseline is built
from bench_analyze's 100,000 reference rows with `segment_by=["cat_06"], segments=50`, so
skew mode compares every segment against its own training profile.

Timed, each in its own process (peak RSS of that process; the shard request cache cleared
before each run; the median of `--repeat` warm runs of `job.run`, plus the whole CLI once):
the unsegmented run and the run with `--segment-by cat_06 --segments 50`, alternating
A-B / B-A per round so the machine's load hits both alike. The figure judged is the ratio
segmented / unsegmented of the same round (goal: at most 5x), and the segmented run's peak
RSS at each row count (goal: flat in the rows).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_analyze as ba  # noqa: E402  (the shared workload and measuring helpers)

SECTION = "bench_segments"
FIELD, SEGMENTS = "cat_06", 50


def job_child(args: argparse.Namespace) -> None:
    """One warm process: `job.run` `--repeat` times; prints the median seconds."""
    from predwatch import es as es_mod
    from predwatch.analyzers import job
    from predwatch.analyzers.aggregates import Window
    from predwatch.config import ESConfig

    cfg = ESConfig(url=args.es_url, request_timeout=600)
    es = es_mod.client(cfg)
    start, end = ba.window(args.rows)
    seg = (FIELD,) if args.segmented else ()
    config = job.AnalyzeConfig(
        model=ba.MODEL,
        window=Window(start, end),
        baseline_path=args.baseline,
        store=False,
        segment_by=seg,
        segments=SEGMENTS,
    )
    times = []
    for _ in range(args.repeat):
        es.indices.clear_cache(index=f"predwatch-predictions-{ba.MODEL}-*", request=True)
        t0 = time.perf_counter()
        report = job.run(es, cfg, config)
        times.append(time.perf_counter() - t0)
    print(
        json.dumps(
            {
                "seconds": statistics.median(times),
                "all": times,
                "rows": report.documents,
                "segments": len(report.segmented.segments),
                "drifted": sorted(report.drifted_features),
                "drifted_segments": report.drifted_segments,
            }
        )
    )


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    from predwatch import es as es_mod
    from predwatch.analyzers.profile import build_baseline
    from predwatch.baseline import save_baseline
    from predwatch.config import ESConfig

    sizes = sorted(int(x) for x in args.rows.split(","))
    cfg = ESConfig.from_env(url=args.es_url, request_timeout=600)
    es = es_mod.client(cfg)
    cache = ba.REPO / ".cache"
    cache.mkdir(exist_ok=True)
    baseline = build_baseline(
        ba.rows("reference", ba.REFERENCE_ROWS),
        model=ba.MODEL,
        version="1",
        prediction_columns=["score"],
        exclude=["latency_ms"],
        categorical=ba.CATEGORICAL,
        trained_at="2025-01-01T00:00:00Z",
        segment_by=[FIELD],
        segments=SEGMENTS,
    )
    path = save_baseline(baseline, cache / "bench_segments.baseline.json")
    size_kb = path.stat().st_size / 1024
    print(f"indexing up to {sizes[-1] + ba.CHUNK:,} rows into {cfg.url} ...", file=sys.stderr)
    indexed = ba.ensure_indexed(es, cfg, baseline, sizes[-1] + ba.CHUNK)
    me = [sys.executable, str(Path(__file__).resolve())]
    out = []
    for n in sizes:
        common = ["--child", "job", "--rows", str(n), "--baseline", str(path)]
        common += ["--es-url", cfg.url, "--repeat", str(args.repeat)]
        rounds = []
        for r in range(args.rounds):
            order = [False, True] if r % 2 == 0 else [True, False]
            got = {}
            for segmented in order:
                cmd = [*me, *common, *(["--segmented"] if segmented else [])]
                got[segmented] = ba.measure_child(cmd)
            rounds.append(got)
            plain, seg = got[False]["out"]["seconds"], got[True]["out"]["seconds"]
            print(
                f"  {n:,} rows round {r + 1}: {plain:.2f} s vs {seg:.2f} s ({seg / plain:.2f}x)",
                file=sys.stderr,
            )
        ratios = [g[True]["out"]["seconds"] / g[False]["out"]["seconds"] for g in rounds]
        out.append(
            {
                "rows": n,
                "plain_s": statistics.median(g[False]["out"]["seconds"] for g in rounds),
                "segmented_s": statistics.median(g[True]["out"]["seconds"] for g in rounds),
                "ratio": statistics.median(ratios),
                "ratios": ratios,
                "plain_rss_mb": max(g[False]["rss_mb"] for g in rounds),
                "segmented_rss_mb": max(g[True]["rss_mb"] for g in rounds),
                "segments": rounds[0][True]["out"]["segments"],
                "drifted_segments": rounds[0][True]["out"]["drifted_segments"],
                "drifted": rounds[0][True]["out"]["drifted"],
                "index_seconds": indexed,
                "baseline_kb": size_kb,
            }
        )
    return out


def markdown(results: list[dict[str, Any]], command: str, started: str, load: str) -> str:
    lines = [
        f"<!-- {SECTION}:start -->",
        "## analyze --segment-by vs unsegmented (`benchmarks/bench_segments.py`)",
        "",
        f"- command: `{command}`",
        f"- date: {started}; machine: {os.cpu_count()} CPUs, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB RAM, "
        f"Python {platform.python_version()}; load average at start {load} (shared machine)",
        f"- workload: bench_analyze's rows (30 inputs), skew mode, segmented by {FIELD} "
        f"({SEGMENTS} segments + (other)); baseline with 50 segment profiles: "
        f"{results[0]['baseline_kb']:.0f} KB",
        "",
        "| served rows | unsegmented job | segmented job | ratio (median of rounds) | "
        "ratios per round | RSS unsegmented | RSS segmented |",
        "|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in results:
        per = ", ".join(f"{x:.2f}x" for x in r["ratios"])
        lines.append(
            f"| {r['rows']:,} | {r['plain_s']:.2f} s | {r['segmented_s']:.2f} s | "
            f"{r['ratio']:.2f}x | {per} | {r['plain_rss_mb']:.0f} MB | "
            f"{r['segmented_rss_mb']:.0f} MB |"
        )
    last = results[-1]
    lines += [
        "",
        f"Segments compared: {last['segments']}; drifted overall: {last['drifted']}; "
        f"drifted segments: {len(last['drifted_segments'])} (num_00 and cat_00 drift in "
        "every segment of this workload). Goal: segmented within 5x "
        "of the unsegmented run, RSS flat in the rows.",
        f"<!-- {SECTION}:end -->",
    ]
    return "\n".join(lines)


def write_results(text: str) -> None:
    old = ba.RESULTS.read_text(encoding="utf-8") if ba.RESULTS.exists() else ""
    start, end = f"<!-- {SECTION}:start -->", f"<!-- {SECTION}:end -->"
    if start in old and end in old:
        new = old[: old.index(start)] + text + old[old.index(end) + len(end) :]
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    ba.RESULTS.write_text(new, encoding="utf-8")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", default="1000000")
    p.add_argument("--repeat", type=int, default=3, help="warm runs per process (median)")
    p.add_argument("--rounds", type=int, default=2, help="A-B / B-A rounds per row count")
    p.add_argument("--es-url", default=os.environ.get("PREDWATCH_ES_URL", "http://127.0.0.1:9200"))
    p.add_argument("--no-results", action="store_true", help="do not write RESULTS.md")
    p.add_argument("--child", choices=["job"], help=argparse.SUPPRESS)
    p.add_argument("--baseline", help=argparse.SUPPRESS)
    p.add_argument("--segmented", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        args.rows = int(args.rows)
        job_child(args)
        return
    started = dt.datetime.now(dt.UTC).strftime("%a %b %d %H:%M UTC %Y")
    load = f"{os.getloadavg()[0]:.1f}"
    results = run(args)
    text = markdown(
        results,
        "python " + " ".join(["benchmarks/bench_segments.py", *sys.argv[1:]]),
        started,
        load,
    )
    print(text)
    if not args.no_results:
        write_results(text)


if __name__ == "__main__":
    main()
