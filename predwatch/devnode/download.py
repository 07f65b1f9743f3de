"""Fetching Elasticsearch and finding a Java to run it: the integ-test zip from Maven Central
(`mvn dependency:copy`, or a plain HTTPS download where Maven is absent), unpacked once into a
cache, and the newest Java >= 21 on the machine."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from predwatch.errors import LocalNodeError

GROUP = "org.elasticsearch.distribution.integ-test-zip"
ARTIFACT = "elasticsearch"
# Newest 9.x found on Maven Central when this was written (2026-11-27). The repository's
# maven-metadata.xml stops at 8.19 even though 9.x zips are served, so "latest" cannot be
# read from it reliably; `--version` overrides.
DEFAULT_VERSION = "9.5.4"
MAVEN_REPO = os.environ.get("PREDWATCH_MAVEN_REPO", "https://repo1.maven.org/maven2")
MIN_JAVA = 21


# --- where things live ------------------------------------------------------------------
def cache_dir() -> Path:
    """Cache for downloads and node homes. Root uses /var/cache (the node user cannot enter
    /root); everyone else ~/.cache. PREDWATCH_CACHE overrides."""
    if os.environ.get("PREDWATCH_CACHE"):
        return Path(os.environ["PREDWATCH_CACHE"])
    if os.geteuid() == 0:
        return Path("/var/cache/predwatch")
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "predwatch"


# --- fetching ---------------------------------------------------------------------------
def artifact_url(version: str) -> str:
    path = GROUP.replace(".", "/")
    return f"{MAVEN_REPO}/{path}/{ARTIFACT}/{version}/{ARTIFACT}-{version}.zip"


def fetch(version: str, log: Any = print) -> Path:
    """Download (once) and unpack (once) Elasticsearch `version`; return its home folder."""
    dist = cache_dir() / "dist"
    home = dist / f"elasticsearch-{version}"
    if (home / ".unpacked").exists():
        return home
    dist.mkdir(parents=True, exist_ok=True)
    os.chmod(dist, 0o755)
    archive = dist / f"elasticsearch-{version}.zip"
    if not archive.exists():
        log(f"fetching Elasticsearch {version} ({GROUP}) from Maven Central ...")
        if shutil.which("mvn"):
            _fetch_mvn(version, dist)
        else:
            _fetch_https(version, archive)
    log(f"unpacking {archive.name} ...")
    tmp = dist / f".unpack-{version}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                target = zf.extract(info, tmp)
                mode = (info.external_attr >> 16) & 0o777
                if mode:
                    os.chmod(target, mode | 0o444 | (0o111 if info.is_dir() else 0))
    except zipfile.BadZipFile as exc:
        archive.unlink(missing_ok=True)
        raise LocalNodeError(
            f"{archive} is not a valid zip ({exc}); run the command again"
        ) from None
    inner = tmp / f"elasticsearch-{version}"
    shutil.rmtree(home, ignore_errors=True)
    inner.rename(home)
    shutil.rmtree(tmp, ignore_errors=True)
    for p in [home, *home.rglob("*")]:
        if p.is_dir():
            os.chmod(p, 0o755)
    (home / ".unpacked").write_text(version)
    return home


def _fetch_mvn(version: str, dest: Path) -> None:
    cmd = [
        "mvn",
        "-q",
        "-B",
        "-U",
        "dependency:copy",
        f"-Dartifact={GROUP}:{ARTIFACT}:{version}:zip",
        f"-DoutputDirectory={dest}",
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        tail = " ".join(line for line in res.stdout.splitlines() if "ERROR" in line)[:400]
        raise LocalNodeError(
            f"Maven could not fetch Elasticsearch {version} ({tail or 'no detail'}); check the "
            f"version exists ({artifact_url(version)}) or pass --version"
        )


def _fetch_https(version: str, archive: Path) -> None:
    url = artifact_url(version)
    part = archive.with_suffix(".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as resp, part.open("wb") as out:
            shutil.copyfileobj(resp, out, 1 << 20)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise LocalNodeError(f"could not download {url}: {exc}") from None
    part.rename(archive)


# --- Java ---------------------------------------------------------------------------------
def java_major(java_home: Path) -> int | None:
    java = java_home / "bin" / "java"
    if not java.exists():
        return None
    try:
        out = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        ).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def min_java(version: str) -> int:
    """The oldest Java Elasticsearch `version` runs on (8.x: 17; 9.x: 21)."""
    return 17 if version.split(".")[0] in ("8",) else MIN_JAVA


def find_java(minimum: int = MIN_JAVA) -> Path:
    """A JDK home with Java >= `minimum`: ES_JAVA_HOME, JAVA_HOME, then installed JDKs (the
    newest wins)."""
    candidates: list[Path] = [
        Path(os.environ[v]) for v in ("ES_JAVA_HOME", "JAVA_HOME") if os.environ.get(v)
    ]
    for root in ("/usr/lib/jvm", "/opt/java", "/usr/java", "/opt"):
        if os.path.isdir(root):
            candidates += sorted(Path(root).iterdir(), reverse=True)
    best: tuple[int, Path] | None = None
    for home in candidates:
        major = java_major(home)
        if major is not None and major >= minimum and (best is None or major > best[0]):
            best = (major, home.resolve())
    if best is None:
        raise LocalNodeError(
            f"Elasticsearch needs Java {minimum} or newer and none was found (looked at "
            "ES_JAVA_HOME, JAVA_HOME, /usr/lib/jvm, /opt/java). Install one, e.g. "
            "`apt-get install openjdk-21-jre-headless` (or a Temurin JDK), or set ES_JAVA_HOME"
        )
    return best[1]
