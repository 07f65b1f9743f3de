"""The demo's HTML report opens in headless Chromium and shows its plots.

Chromium renders the page to a PNG (decoded here with zlib, no imaging library), which must
not be blank, and its serialised DOM must hold the SVG charts and no error page.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers.demo_run import DemoRun

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]
ERROR_MARKERS = ("ERR_FILE_NOT_FOUND", "ERR_ACCESS_DENIED", "neterror", "Uncaught")

if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip(
        "headless Chromium is not installed (apt-get install chromium); in CI this test runs",
        allow_module_level=True,
    )


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None, "CI must install Debian's chromium package"
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB(A) bytes) of an 8-bit, non-interlaced RGB/RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
    bpp = 4 if color == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def _pixels(rows: list[bytes], bpp: int, step: int = 4) -> Counter[tuple[int, int, int]]:
    """Colour counts over a grid of every `step`-th pixel."""
    counts: Counter[tuple[int, int, int]] = Counter()
    for row in rows[::step]:
        for x in range(0, len(row), bpp * step):
            counts[(row[x], row[x + 1], row[x + 2])] += 1
    return counts


def _render(page: Path, tmp: Path) -> tuple[Counter[tuple[int, int, int]], str]:
    png = tmp / f"{page.stem}.png"
    shot = _chromium(
        tmp / "profile", f"--screenshot={png}", "--window-size=1280,2000", page.as_uri()
    )
    assert png.is_file(), shot.stderr[-2000:]
    width, height, rows = decode_png(png.read_bytes())
    assert (width, height) == (1280, 2000)
    dom = _chromium(tmp / "profile", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    bpp = len(rows[0]) // width
    console = [
        line for line in shot.stderr.splitlines() + dom.stderr.splitlines() if "CONSOLE" in line
    ]
    assert not console, console
    return _pixels(rows, bpp), dom.stdout


class TestReportRender:
    def test_index_page(self, demo_run: DemoRun, tmp_path: Path) -> None:
        """The entry page renders with its table and four SVG charts, and is not blank."""
        assert demo_run.returncode == 0
        colours, dom = _render(demo_run.output / "index.html", tmp_path)
        total = sum(colours.values())
        white = colours[(255, 255, 255)]
        assert (total - white) / total > 0.05, "the page is (almost) blank"
        assert len(colours) > 50, "too few colours for text and charts"
        # the chart colours of the analyzer's palette are on screen
        assert any(c in colours for c in ((127, 140, 154), (217, 83, 79), (47, 126, 216)))
        assert dom.count("<svg") >= 4  # bars (signals, drifted tests) and lines (p95, score)
        assert "<rect" in dom and "<polyline" in dom
        assert "What was injected, and what caught it" in dom
        assert not any(m in dom for m in ERROR_MARKERS)

    def test_analyzer_report(self, demo_run: DemoRun, tmp_path: Path) -> None:
        """A per-window analyzer report (the wrong-version day) renders its distribution plots."""
        page = next((demo_run.output / "reports").glob("*wrong_version.html"))
        colours, dom = _render(page, tmp_path)
        total = sum(colours.values())
        assert (total - colours[(255, 255, 255)]) / total > 0.05
        assert dom.count("<svg") >= 2
        assert "prediction.value" in dom and "drifted" in dom
        assert not any(m in dom for m in ERROR_MARKERS)
