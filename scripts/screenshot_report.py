"""Screenshot an HTML report in headless Chromium at desktop and phone widths.

    python scripts/screenshot_report.py report.html --out shots/
    python scripts/screenshot_report.py --sample --out shots/   # canned short-window run

Writes <name>-<width>.png for each width (default 1400 and 390) and prints the paths; look
at them. `--sample` renders the report of a one-bucket window from the unit tests' canned
aggregations first (the short-window case: one trend point, a probability score).
Needs a Chromium binary (`chromium`, `chromium-browser` or `google-chrome` on PATH, or
CHROMIUM=/path); it is a development aid, not part of the package.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def chromium() -> str:
    for name in (os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name) if name else None
        if found:
            return found
    sys.exit("no Chromium found: install it (apt-get install chromium) or set CHROMIUM")


def screenshot(html: Path, out: Path, width: int, height: int, offset: int = 0) -> Path:
    """One PNG of `height` pixels of the page from `offset` down, at `width` CSS pixels."""
    target = out / f"{html.stem}-{width}{f'-{offset}' if offset else ''}.png"
    with tempfile.TemporaryDirectory() as profile:
        if offset:
            # Headless screenshots start at the top: shift the page up instead of scrolling.
            shifted = Path(profile) / html.name
            text = html.read_text(encoding="utf-8")
            style = f"<style>body{{margin-top:-{offset}px !important}}</style></head>"
            shifted.write_text(text.replace("</head>", style, 1), encoding="utf-8")
            html = shifted
        subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--screenshot={target}",
                html.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    return target


def sample_report(out: Path) -> Path:
    """The canned run of the analyzer unit tests (one trend bucket) as an HTML file."""
    sys.path.insert(0, str(REPO))  # a script run from anywhere: `tests.helpers` from the repo
    from predwatch.analyzers import job, queries
    from predwatch.analyzers.aggregates import Window
    from predwatch.analyzers.compare import baseline_reference
    from predwatch.analyzers.report_html import render_html
    from tests.helpers import analyze_samples as smp

    b = smp.baseline()
    window = Window(smp.START, smp.END)
    resp = [smp.feature_response(), smp.prediction_response()]
    current = queries.parse(b, window, queries.plan(b, window), resp).aggregates
    cfg = job.AnalyzeConfig(model="m1", window=window)
    report = job.build_report(b, cfg, current, baseline_reference(b), current, smp.END)
    path = out / "sample.html"
    path.write_text(render_html(report), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html", nargs="?", type=Path, help="the report to screenshot")
    parser.add_argument("--sample", action="store_true", help="render the canned report first")
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--widths", default="1400,390", help="comma-separated CSS widths")
    parser.add_argument("--height", type=int, default=2400, help="pixels captured per shot")
    parser.add_argument("--offsets", default="0", help="comma-separated page offsets (px)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.sample:
        html = sample_report(args.out)
    elif args.html is not None:
        html = args.html
    else:
        parser.error("give a report file or --sample")
    for width in (int(w) for w in args.widths.split(",")):
        for offset in (int(o) for o in args.offsets.split(",")):
            print(screenshot(html, args.out, width, args.height, offset))


if __name__ == "__main__":
    main()
