"""A 60 s Elasticsearch outage at 2,000 predictions/s: peak RSS, spool bytes, zero loss.

    .venv/bin/python benchmarks/bench_outage.py                 # ~3-4 min, writes RESULTS.md
    .venv/bin/python benchmarks/bench_outage.py --outage 10 --no-results   # smoke run

Starts its own throw-away node (`predwatch.devnode.LocalNode`, free port, 1 GiB heap, a
temporary home), sets it up for the 50-feature workload of `bench_shipper.py` (with a
baseline, so documents are enriched), and runs the serving side in a subprocess that
calls `Shipper.log_prediction` at a steady rate and writes `stats()` every second. The
parent samples the child's VmRSS from /proc every 0.2 s, stops the node for `--outage`
seconds (`.stop()`, sleep, `.start()`: the data directory persists), waits until the
backlog is delivered, lets the child flush and exit, and then checks zero loss by
comparing the ids the child got back from `log_prediction` with the unique
`prediction_id`s in Elasticsearch (composite aggregation, exact).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_shipper as bs  # the shared workload and RESULTS.md writer

SECTION = "bench_outage"
MODEL = "bench_outage"


# --- the serving process ------------------------------------------------------------------
def rss_kib(pid: int | str = "self") -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB; (0, 0) once it is gone."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


def child(cfg: dict[str, Any]) -> None:
    """Log at `rate`/s until the stop file appears, then flush and report."""
    from predwatch.shipper import Shipper

    pool = bs.serving_pool(1024)
    sh = Shipper(
        model=MODEL,
        baseline=cfg["baseline"],
        es_url=cfg["url"],
        spool_dir=cfg["spool"],
        handle_sigterm=False,
    )
    rate, stop = cfg["rate"], Path(cfg["stop"])
    out = open(cfg["stats"], "a", buffering=1)  # noqa: SIM115 (lives as long as the loop)
    id_file = open(cfg["ids"], "w")  # noqa: SIM115 (ids go to disk: not counted in RSS)
    ids: list[str] = []
    lp, n = sh.log_prediction, len(pool)
    t0 = time.monotonic()
    next_stats = t0
    logged = 0
    while True:
        now = time.monotonic()
        due = int((now - t0) * rate)
        while logged < due:
            x, p = pool[logged % n]
            ids.append(lp(x, p, latency_ms=3.2))
            logged += 1
        if now >= next_stats:
            next_stats += 1.0
            st = sh.stats()
            rss, hwm = rss_kib()
            keys = (
                "acked",
                "queue_depth",
                "spool_disk_bytes",
                "spool_pending_records",
                "dropped_total",
                "state",
                "oldest_unsent_age_s",
                "retried",
                "duplicates",
                "spooled_records",
                "replayed_records",
                "failed_requests",
            )
            line = {"t": time.time(), "logged": logged, "rss_kib": rss, "hwm_kib": hwm}
            line.update({k: st.get(k) for k in keys})
            out.write(json.dumps(line) + "\n")
            id_file.write("\n".join(ids) + "\n" if ids else "")
            ids.clear()
            if stop.exists():
                break
        time.sleep(0.002)
    t_flush = time.monotonic()
    flushed = sh.flush(timeout=cfg["flush_timeout"])
    flush_s = time.monotonic() - t_flush
    st = sh.stats()
    sh.close()
    id_file.write("\n".join(ids) + "\n" if ids else "")
    id_file.close()
    rss, hwm = rss_kib()
    final = {
        "final": True,
        "logged": logged,
        "seconds": time.monotonic() - t0,
        "flushed": flushed,
        "flush_seconds": flush_s,
        "rss_kib": rss,
        "hwm_kib": hwm,
        "stats": {k: v for k, v in st.items() if k not in ("last_error", "spool_dir")},
        "last_error": st.get("last_error"),
    }
    out.write(json.dumps(final) + "\n")
    out.close()


# --- the parent ------------------------------------------------------------------------
class Sampler(threading.Thread):
    """Samples a process's VmRSS every `period` seconds."""

    def __init__(self, pid: int, period: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.period = pid, period
        self.samples: list[tuple[float, int]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            rss, _ = rss_kib(self.pid)
            if rss:
                self.samples.append((time.time(), rss))
            self.done.wait(self.period)


def read_stats(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):  # the line being written
            out.append(json.loads(line))
    return out


def unique_ids(es: Any, index: str) -> set[str]:
    """Every distinct prediction_id in `index` (composite aggregation, paged: exact)."""
    from predwatch import schema

    es.indices.refresh(index=index)
    seen: set[str] = set()
    after: dict[str, Any] | None = None
    while True:
        comp: dict[str, Any] = {
            "size": 10_000,
            "sources": [{"id": {"terms": {"field": schema.PREDICTION_ID}}}],
        }
        if after:
            comp["after"] = after
        res = es.search(index=index, size=0, aggs={"ids": {"composite": comp}})
        agg = res["aggregations"]["ids"]
        seen.update(b["key"]["id"] for b in agg["buckets"])
        after = agg.get("after_key")
        if not agg["buckets"] or not after:
            return seen


def wait_until(pred: Any, timeout: float, step: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return bool(pred())


def run(args: argparse.Namespace) -> dict[str, Any]:
    from predwatch import devnode, schema
    from predwatch import es as es_mod
    from predwatch.baseline import save_baseline
    from predwatch.config import ESConfig
    from predwatch.setup_es import setup_elasticsearch

    work = Path(tempfile.mkdtemp(prefix="bench-outage-"))
    work.chmod(0o755)  # the node runs as an unprivileged user when we are root
    home = work / "node"
    home.mkdir()
    home.chmod(0o755)
    node = devnode.LocalNode(home=home, port=devnode.free_port(), heap=args.heap)
    res: dict[str, Any] = {"work": str(work)}
    proc: subprocess.Popen[bytes] | None = None
    try:
        print(f"starting a node in {home} ...", file=sys.stderr)
        t = time.monotonic()
        info = node.start()
        res["first_start_s"] = time.monotonic() - t
        cfg = ESConfig(url=info.url)
        es = es_mod.client(cfg, max_retries=0)
        nodes = es.nodes.info(node_id="_local", filter_path="nodes.*.version")
        res["es_version"] = next(iter(nodes["nodes"].values()))["version"]
        baseline = bs.build_bench_baseline(MODEL)
        setup_elasticsearch(es, cfg, [baseline])
        bpath = work / "baseline.json"
        save_baseline(baseline, bpath)
        files = {k: str(work / f"{k}.txt") for k in ("stats", "ids", "stop")}
        ccfg = {
            "url": info.url,
            "baseline": str(bpath),
            "spool": str(work / "spool"),
            "rate": args.rate,
            "flush_timeout": args.flush_timeout,
            **files,
        }
        stats_path = Path(files["stats"])
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(ccfg)]
        )
        sampler = Sampler(proc.pid)
        sampler.start()
        marks: dict[str, float] = {"child_start": time.time()}
        time.sleep(args.before)
        print("stopping the node ...", file=sys.stderr)
        marks["stop_called"] = time.time()
        node.stop()
        marks["stopped"] = time.time()
        time.sleep(args.outage)
        print("starting the node again ...", file=sys.stderr)
        marks["start_called"] = time.time()
        node.start()
        marks["answering"] = time.time()

        def drained() -> bool:
            rows = [r for r in read_stats(stats_path) if not r.get("final")]
            if not rows:
                return False
            last = rows[-1]
            # Nothing older than 2 s waits anywhere (queue, outbox, spool).
            return bool(
                last["t"] > marks["answering"] + 1
                and last["state"] == "ok"
                and (last["oldest_unsent_age_s"] or 0) <= 2.0
            )

        ok = wait_until(drained, args.recover_timeout)
        marks["drained"] = time.time()
        res["drained_in_time"] = ok
        time.sleep(args.after)
        Path(files["stop"]).touch()
        marks["stop_logging"] = time.time()
        proc.wait(timeout=args.flush_timeout + 60)
        marks["child_exit"] = time.time()
        sampler.done.set()
        sampler.join()
        rows = read_stats(stats_path)
        final = next((r for r in rows if r.get("final")), None)
        rows = [r for r in rows if not r.get("final")]
        res.update(marks=marks, rows=rows, final=final, rss=sampler.samples)
        if final is not None:
            order = Path(files["ids"]).read_text().split()
            expected = set(order)
            found = unique_ids(es, schema.index_pattern("predictions", MODEL))
            lost = [i for i, x in enumerate(order) if x not in found]
            res["lost_span"] = (
                [lost[0] / args.rate, lost[-1] / args.rate, len(lost)] if lost else None
            )
            res["check"] = {
                "logged": final["logged"],
                "distinct_ids_logged": len(expected),
                "unique_ids_in_es": len(found),
                "missing": len(expected - found),
                "unexpected": len(found - expected),
                "docs_in_es": int(
                    es.count(index=schema.index_pattern("predictions", MODEL))["count"]
                ),
            }
        es.close()
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        node.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return res


# --- report ---------------------------------------------------------------------------------
def lost_text(res: dict[str, Any], t0: float) -> str:
    """Where the lost predictions sit in time (s from the first prediction)."""
    span = res.get("lost_span")
    if not span:
        return ""
    m = res["marks"]
    return (
        f"The {span[2]:,} missing predictions were logged between about {span[0]:.0f} s and "
        f"{span[1]:.0f} s (the outage: stop called at {m['stop_called'] - t0:.0f} s, node "
        f"answering again at {m['answering'] - t0:.0f} s); the shipper reported no drop and "
        "`flush()` returned True. "
    )


def report(
    args: argparse.Namespace, res: dict[str, Any], mach: dict[str, Any], date: str, command: str
) -> str:
    m, rows, final, check = res["marks"], res["rows"], res["final"], res.get("check", {})
    t0 = rows[0]["t"] if rows else m["child_start"]  # the child's first prediction
    rss = res["rss"]

    def peak_between(a: float, b: float) -> float:
        vals = [r for t, r in rss if a <= t <= b]
        return max(vals) / 1024 if vals else 0.0

    before = peak_between(t0 + 5, m["stop_called"])
    during = peak_between(m["stop_called"], m["answering"])
    recovery = peak_between(m["answering"], m["child_exit"])
    peak = max(r for _, r in rss) / 1024 if rss else 0.0
    spool_peak = max((r["spool_disk_bytes"] or 0 for r in rows), default=0)
    queue_peak = max((r["queue_depth"] or 0 for r in rows), default=0)
    down = m["answering"] - m["stop_called"]
    logged_at = {round(r["t"] - t0): r for r in rows}
    timeline = []
    for sec in range(0, int(rows[-1]["t"] - t0) + 1, args.timeline_step) if rows else []:
        r = logged_at.get(sec) or min(rows, key=lambda x: abs(x["t"] - t0 - sec))
        timeline.append(
            [
                f"{sec}",
                f"{r['logged']:,}",
                f"{r['acked']:,}",
                f"{(r['spool_disk_bytes'] or 0) / 2**20:,.1f}",
                f"{r['spool_pending_records']:,}",
                f"{r['queue_depth']:,}",
                f"{r['rss_kib'] / 1024:,.0f}",
                r["state"],
            ]
        )
    st = final["stats"] if final else {}
    ok_loss = (
        bool(check)
        and check["missing"] == 0
        and check["unique_ids_in_es"] == check["distinct_ids_logged"] == final["logged"]
    )
    achieved = rows[-1]["logged"] / (rows[-1]["t"] - t0) if rows else 0.0
    lines = [
        "## Shipper: Elasticsearch outage at a steady rate (`benchmarks/bench_outage.py`)",
        "",
        f"- command: `{command}`",
        f"- date: {date}",
        f"- machine: {bs.machine_line(mach)}; load average at start {mach['load'][0]:.2f}",
        f"- set-up: own throw-away node (LocalNode, heap {args.heap}, first start "
        f"{res['first_start_s']:.0f} s); serving process = `Shipper.log_prediction` at "
        f"{args.rate:,}/s (achieved {achieved:,.0f}/s), 50-feature inputs with a baseline "
        "(enriched documents), default shipper settings (memory_bytes 32 MiB, spool_budget "
        "1 GiB, durability memory)",
        f"- timeline (s from the first prediction): node stop called at "
        f"{m['stop_called'] - t0:.0f}, stopped at {m['stopped'] - t0:.0f}, start called at "
        f"{m['start_called'] - t0:.0f} (down {m['start_called'] - m['stopped']:.0f} s), "
        f"answering at {m['answering'] - t0:.0f}: Elasticsearch unavailable for {down:.0f} s; "
        f"nothing older than 2 s left waiting (backlog gone) at {m['drained'] - t0:.0f} "
        f"({m['drained'] - m['answering']:.0f} s after the node answered"
        f"{'' if res.get('drained_in_time') else ', TIMED OUT'}); logging stopped at "
        f"{m['stop_logging'] - t0:.0f}",
        "",
        "| figure | value |",
        "|---|---|",
        f"| predictions logged | {final['logged']:,} |" if final else "| predictions logged | ? |",
        f"| peak RSS of the serving process (sampled every 0.2 s) | {peak:,.0f} MiB |",
        f"| peak RSS (kernel VmHWM at exit) | {final['hwm_kib'] / 1024:,.0f} MiB |"
        if final
        else None,
        f"| peak RSS before / during / after the outage | {before:,.0f} / {during:,.0f} / "
        f"{recovery:,.0f} MiB |",
        f"| peak spool on disk | {spool_peak / 2**20:,.1f} MiB ({spool_peak:,} bytes) |",
        f"| peak in-memory backlog (queue + outbox) | {queue_peak:,} records |",
        f"| records that went through the spool | {st.get('spooled_records', 0):,} "
        f"({st.get('spooled_bytes', 0) / 2**20:,.0f} MiB) |",
        f"| dropped / dead-lettered / duplicates | {st.get('dropped_total')} / "
        f"{st.get('dead_lettered')} / {st.get('duplicates')} |",
        f"| final flush | {final['flushed']} in {final['flush_seconds']:.1f} s |"
        if final
        else None,
        f"| unique prediction_ids in ES / ids returned by log_prediction | "
        f"{check.get('unique_ids_in_es', 0):,} / {check.get('distinct_ids_logged', 0):,} "
        f"(missing {check.get('missing')}, unexpected {check.get('unexpected')}, documents "
        f"{check.get('docs_in_es', 0):,}) |",
        "",
        f"| shipper's own view at exit: spool_pending_records / stats() dropped | "
        f"{st.get('spool_pending_records')} / {st.get('dropped_total')} |",
        "",
        f"Zero loss: **{'yes' if ok_loss else 'NO'}**. " + lost_text(res, t0) + "Memory bounded: "
        "RSS during the outage "
        f"peaked at {during:,.0f} MiB against {before:,.0f} MiB before it, while "
        f"{spool_peak / 2**20:,.0f} MiB of backlog sat in the spool on disk.",
        "",
        f"Timeline (every {args.timeline_step} s; spool in MiB, RSS in MiB):",
        "",
        bs.table(
            [
                "s",
                "logged",
                "acked",
                "spool MiB",
                "spool records",
                "queue+outbox",
                "RSS MiB",
                "state",
            ],
            timeline,
        ),
        "",
    ]
    return "\n".join(x for x in lines if x is not None)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=int, default=2000, help="predictions per second")
    ap.add_argument("--outage", type=float, default=60.0, help="seconds the node stays stopped")
    ap.add_argument("--before", type=float, default=20.0, help="seconds of normal traffic first")
    ap.add_argument("--after", type=float, default=10.0, help="traffic after the backlog is gone")
    ap.add_argument("--recover-timeout", type=float, default=600.0)
    ap.add_argument("--flush-timeout", type=float, default=300.0)
    ap.add_argument("--heap", default="1g", help="heap of the throw-away node")
    ap.add_argument("--timeline-step", type=int, default=10)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--no-results", action="store_true", help="do not write RESULTS.md")
    ap.add_argument("--json", type=Path, help="also write the raw figures here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(json.loads(args.child))
        return 0
    command = "python benchmarks/bench_outage.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    date = bs.now_utc()
    load = os.getloadavg()
    res = run(args)
    mach = bs.machine(res.get("es_version"))
    mach["load"] = load
    text = report(args, res, mach, date, command)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(res, indent=1, default=str))
    if not args.no_results:
        bs.write_section(SECTION, text)
        print(f"wrote the {SECTION} section of {bs.RESULTS}", file=sys.stderr)
    return 0 if res.get("check", {}).get("missing", 1) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
