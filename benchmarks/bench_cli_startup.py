"""CLI start-up: wall time of `predwatch --help` and `predwatch analyze --help`, before and after.

    .venv/bin/python benchmarks/bench_cli_startup.py                 # against HEAD~N: see --before
    .venv/bin/python benchmarks/bench_cli_startup.py --before d28b735 --runs 15
    .venv/bin/python benchmarks/bench_cli_startup.py --no-results    # print only

Both versions are measured in the same run, installed the same way: `git archive` of the
`--before` commit and a copy of the working tree are each built into a wheel and installed
(no dependencies) into their own temporary venv; the dependencies come from this venv's
site-packages on PYTHONPATH. The two commands of each version are run interleaved, `--runs`
times each (wall time of the whole process, interpreter start-up included); the report gives
the median and the before/after ratio, and the modules `python -X importtime` finds slowest
in `predwatch analyze --help` (cumulative, each version). No Elasticsearch is needed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import venv
from pathlib import Path

from results_md import write_section

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "RESULTS.md"
SECTION = "bench_cli_startup"
COMMANDS = (["--help"], ["analyze", "--help"])
SKIP = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".cache", ".pytest_cache",
    ".mypy_cache", ".ruff_cache", ".hypothesis",
)  # fmt: skip


def install(source: Path, target: Path) -> Path:
    """A venv at `target` with the predwatch built from `source`; returns its bin folder."""
    venv.create(target, with_pip=False)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(target / "bin" / "python"), "install",
         "--no-deps", "-q", str(source)],
        check=True, capture_output=True, cwd=source.parent,
    )  # fmt: skip
    return target / "bin"


def sources(before: str, tmp: Path) -> dict[str, Path]:
    old = tmp / "before-src"
    old.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", before], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    new = tmp / "after-src"
    shutil.copytree(REPO, new, ignore=SKIP, symlinks=True)
    return {"before": old, "after": new}


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"]}


def wall(exe: Path, args: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of `exe args`: on a shared machine the CPU time
    is the figure that does not grow with other people's load."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(exe), *args], env=env(), cwd="/", stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{exe} {' '.join(args)} exited with {proc.returncode}")
    return seconds, usage.ru_utime + usage.ru_stime


def importtime(bindir: Path, top: int) -> list[tuple[str, float]]:
    """The `top` modules (three levels deep at most) with the largest cumulative import time
    in `analyze --help`."""
    code = "from predwatch.cli import main; main(['analyze', '--help'], prog_name='predwatch')"
    res = subprocess.run(
        [str(bindir / "python"), "-X", "importtime", "-c", code],
        env=env(), capture_output=True, text=True, cwd="/", check=False,
    )  # fmt: skip
    rows = []
    for line in res.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        if (len(name) - len(name.lstrip()) - 1) // 2 > 2:
            continue  # nested deeper: its parents already carry its time
        rows.append((name.strip(), int(cumulative) / 1e6))
    rows.sort(key=lambda r: -r[1])
    return rows[:top]


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", default="d28b735", help="commit to compare with (git rev)")
    ap.add_argument("--runs", type=int, default=11, help="runs per command and version")
    ap.add_argument("--top", type=int, default=12, help="import-time offenders to list")
    ap.add_argument("--no-results", action="store_true", help="do not write RESULTS.md")
    args = ap.parse_args()
    started, load_start = dt.datetime.now(dt.UTC), load()
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp_name:
        tmp = Path(tmp_name)
        bins = {v: install(src, tmp / f"{v}-venv") for v, src in sources(args.before, tmp).items()}
        times: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for v, cmd in ((v, c) for v in bins for c in COMMANDS):  # warm the file cache
            wall(bins[v] / "predwatch", cmd)
        for _ in range(args.runs):
            times.setdefault(("floor", ""), []).append(wall(bins["after"] / "python", ["-c", ""]))
            for cmd in COMMANDS:
                for v in bins:
                    times.setdefault((v, " ".join(cmd)), []).append(
                        wall(bins[v] / "predwatch", cmd)
                    )
        offenders = {v: importtime(bins[v], args.top) for v in bins}
    head = subprocess.run(
        ["git", "-C", str(REPO), "log", "-1", "--format=%h %s"], capture_output=True, text=True
    ).stdout.strip()
    before = subprocess.run(
        ["git", "-C", str(REPO), "log", "-1", "--format=%h %s", args.before],
        capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    lines = [
        "## CLI start-up (`benchmarks/bench_cli_startup.py`)",
        "",
        f"- command: `python benchmarks/bench_cli_startup.py {' '.join(sys.argv[1:])}`",
        f"- date: {started:%a %b %d %H:%M UTC %Y}; before = `{before}`, after = the working "
        f"tree on `{head}` (uncommitted changes included)",
        f"- machine: {os.cpu_count()} CPUs, Python {platform.python_version()}; load average "
        f"{load_start} at the start, {load()} at the end (the machine is shared: compare the "
        "ratio, not the seconds)",
        f"- {args.runs} runs per command and version, interleaved; wall time of the whole "
        "process (interpreter start-up included); both versions installed from a wheel into "
        "their own venv, dependencies from the same site-packages",
        "",
        "Medians; CPU = user + system time of the process, which other processes' load does "
        "not inflate the way it inflates wall time.",
        "",
        "| command | before wall | after wall | before CPU | after CPU | before / after (CPU) "
        "| goal < 0.3 s |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]

    def med(key: tuple[str, str], i: int) -> float:
        return statistics.median(t[i] for t in times[key])

    for cmd in COMMANDS:
        key = " ".join(cmd)
        bw, aw = med(("before", key), 0), med(("after", key), 0)
        bc, ac = med(("before", key), 1), med(("after", key), 1)
        mark = f"{'met' if aw < 0.3 else 'missed'} (wall), {'met' if ac < 0.3 else 'missed'} (CPU)"
        lines.append(
            f"| `predwatch {key}` | {bw:.3f} s | {aw:.3f} s | {bc:.3f} s | {ac:.3f} s "
            f"| {bc / ac:.1f}x | {mark} |"
        )
    lines.append(
        f"| `python -c ''` (the interpreter alone) | | {med(('floor', ''), 0):.3f} s | "
        f"| {med(('floor', ''), 1):.3f} s | | |"
    )
    lines += ["", "Slowest imports of `predwatch analyze --help` (cumulative, one run each):", ""]
    lines += ["| before | s | after | s |", "|---|---:|---|---:|"]
    for i in range(args.top):
        cells = []
        for v in ("before", "after"):
            row = offenders[v][i] if i < len(offenders[v]) else ("", 0.0)
            cells += [f"`{row[0]}`" if row[0] else "", f"{row[1]:.3f}" if row[0] else ""]
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_results:
        write_section(SECTION, text)
        print(f"wrote the {SECTION} section of {RESULTS}", file=sys.stderr)


if __name__ == "__main__":
    main()
