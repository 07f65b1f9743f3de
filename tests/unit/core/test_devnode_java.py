"""Which Java a local node of each Elasticsearch major may run on (no JDK is started)."""

from __future__ import annotations

from pathlib import Path

import pytest

from predwatch.devnode import download
from predwatch.errors import LocalNodeError


def _fake_jdk(root: Path, major: int) -> Path:
    java = root / f"jdk{major}" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{major}.0.9\" 2025-10-21' >&2\n")
    java.chmod(0o755)
    return java.parent.parent


@pytest.fixture
def only_jdk17(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = _fake_jdk(tmp_path, 17)
    monkeypatch.setenv("ES_JAVA_HOME", str(home))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(download.os.path, "isdir", lambda p: False)  # no installed JDKs
    return home


def test_minimum_java_per_major() -> None:
    """8.x runs on Java 17, 9.x needs 21."""
    assert download.min_java("8.19.21") == 17
    assert download.min_java("9.5.4") == 21


def test_java_17_serves_an_8_19_node(only_jdk17: Path) -> None:
    """With only Java 17 on the machine an 8.19 node can start (was refused: 21 required)."""
    assert download.find_java(download.min_java("8.19.21")) == only_jdk17.resolve()


def test_java_17_is_refused_for_9x(only_jdk17: Path) -> None:
    """A 9.x node still says which Java it needs."""
    with pytest.raises(LocalNodeError, match="Java 21 or newer"):
        download.find_java(download.min_java("9.5.4"))
