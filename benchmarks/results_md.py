"""What every benchmark script shares: its section of RESULTS.md and the machine line.

Benchmarks run as scripts (`python benchmarks/bench_x.py`), so this folder is on `sys.path`
and they import this module as `results_md`.
"""

from __future__ import annotations

import math
import os
import platform
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(section: str, body: str, path: Path = RESULTS) -> None:
    """Replace (or append) the text between `section`'s markers in RESULTS.md."""
    start, end = f"<!-- {section}:start -->", f"<!-- {section}:end -->"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def machine_line() -> str:
    """CPUs, Python and the load average now (other work shares these CPUs)."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs ({platform.machine()}), Python {platform.python_version()}; "
        f"load average {load} (compare ratios of one run, not absolutes)"
    )


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95 % Wilson score interval of a binomial proportion k/n."""
    if n <= 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def rate(k: int, n: int) -> str:
    """`k (p %, 95 % CI lo-hi)`: a count of runs and its Wilson interval, for a table cell."""
    lo, hi = wilson(k, n)
    return f"{k} ({100 * k / n:.1f} %, 95 % CI {100 * lo:.1f}-{100 * hi:.1f})"


def publish(section: str, lines: list[str], write: bool) -> None:
    """Print the report and, when `write`, replace this benchmark's section of RESULTS.md."""
    text = "\n".join(lines) + "\n"
    print(text)
    if write:
        write_section(section, text)
