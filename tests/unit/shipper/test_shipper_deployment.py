"""Unit tests of the deployment document (fake sink): its content and id, when the shipper
writes it, and that it never counts as, or delays, a prediction."""

from __future__ import annotations

import platform
import time
import types
from pathlib import Path
from typing import Any

import pytest

from predwatch import mappings
from predwatch import schema as s
from predwatch.shipper import Shipper, _deployment, _deployment_schedule
from predwatch.shipper._deployment import (
    MAX_PACKAGES,
    Deployment,
    canonical_name,
    fingerprint,
    installed_packages,
    is_deployment,
)
from tests.helpers.shipper_fakes import FakeSink

INDEX = s.index_name("deployments")
PACKAGES = {"numpy": "1.26.4", "scikit-learn": "1.5.0"}


def _shipper(sink: FakeSink, tmp_path: Path, **kw: Any) -> Shipper:
    kw.setdefault("deployment", True)
    kw.setdefault("deployment_packages", PACKAGES)
    return Shipper(
        "credit",
        "3.1.0",
        sink=lambda: sink,
        spool_dir=tmp_path / "spool",
        handle_sigterm=False,
        flush_interval=0.05,
        model_hash="sha256:abc",
        trained_at="2026-01-01T00:00:00Z",
        service_name="scoring",
        **kw,
    )


def _deployments(sink: FakeSink) -> dict[str, dict[str, Any]]:
    with sink.mu:
        return {i: d for (idx, i), d in sink.docs.items() if idx == INDEX}


def _make(**kw: Any) -> Deployment:
    args: dict[str, Any] = {
        "model": "credit",
        "model_version": "3.1.0",
        "model_hash": "sha256:abc",
        "trained_at": None,
        "service": {"name": "scoring"},
        "packages": PACKAGES,
    }
    args.update(kw)
    dep = Deployment(**args)
    dep.prepare()
    return dep


def _leaf_paths(doc: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for k, v in doc.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict) and k != "packages":
            out += _leaf_paths(v, path + ".")
        else:
            out.append(path)
    return out


class TestPackages:
    def test_canonical_names(self) -> None:
        """Distribution names are compared PEP 503-normalised."""
        assert canonical_name("Zope.Interface") == "zope-interface"
        assert canonical_name("zope_interface") == "zope-interface"

    def test_installed_environment(self) -> None:
        """By default every installed distribution is listed with its version."""
        found = installed_packages()
        assert found["pytest"] == pytest.__version__
        assert "elasticsearch" in found

    def test_named_and_given(self) -> None:
        """A list picks installed distributions (absent ones are left out); a mapping is
        taken as given."""
        assert installed_packages(["pytest", "surely-not-installed-xyz"]) == {
            "pytest": pytest.__version__
        }
        assert installed_packages({"Scikit_Learn": 1.5}) == {"scikit-learn": "1.5"}
        one = Deployment(
            model="m", model_version="1", model_hash=None, trained_at=None, service={},
            packages="pytest",
        )  # fmt: skip
        one.prepare()
        assert one.packages == {"pytest": pytest.__version__}

    def test_fingerprint(self) -> None:
        """The fingerprint ignores order and changes with any version, Python's included."""
        a = fingerprint({"a": "1", "b": "2"}, "3.11.7")
        assert a == fingerprint({"b": "2", "a": "1"}, "3.11.7")
        assert a != fingerprint({"a": "1", "b": "3"}, "3.11.7")
        assert a != fingerprint({"a": "1", "b": "2"}, "3.12.0")


class TestDocument:
    def test_fields_follow_the_mapping(self) -> None:
        """Every field of the document is mapped in deployments_mapping."""
        _, doc = _make(trained_at="2026-01-01T00:00:00Z").document(time.time())
        props = mappings.deployments_mapping()["properties"]
        for path in _leaf_paths(doc):
            node: Any = {"properties": props}
            for part in path.split("."):
                node = node["properties"][part]
            assert "type" in node or "properties" in node, path
        assert doc["packages"] == PACKAGES
        assert doc["python"]["version"] == platform.python_version()
        assert doc["model"]["hash"] == "sha256:abc" and doc["service"] == {"name": "scoring"}
        assert len(doc["fingerprint"]) == 64

    def test_id_is_the_deployment_and_day(self) -> None:
        """Same deployment and day: same id; other packages, hash or day: another one."""
        now = time.time()
        first = _make().document(now)[0]
        assert _make().document(now + 1)[0] == first
        assert _make(packages={"numpy": "2.0.0"}).document(now)[0] != first
        assert _make(model_hash="sha256:def").document(now)[0] != first
        next_day = _make().document(now + 86400)[0]
        assert next_day != first and next_day[:40] == first[:40]

    def test_many_packages_are_capped(self) -> None:
        """At most MAX_PACKAGES are stored as fields; the fingerprint covers all."""
        many = {f"p{i:04d}": "1" for i in range(MAX_PACKAGES + 10)}
        dep = _make(packages=many)
        _, doc = dep.document(time.time())
        assert len(doc["packages"]) == MAX_PACKAGES
        assert doc["fingerprint"] == fingerprint(many, platform.python_version())

    def test_payload_is_a_create(self) -> None:
        """The payload is a `create` into predwatch-deployments, recognised as such."""
        payload = _make().payload(time.time())
        assert is_deployment(payload) and payload.count(b"\n") == 2
        assert not is_deployment(b'{"create":{"_index":"predwatch-predictions-x-2026.01.01"}}\n')


class TestShipperWritesIt:
    def test_written_once_beside_the_predictions(self, sink: FakeSink, tmp_path: Path) -> None:
        """One deployment document per start; predictions are counted without it."""
        with _shipper(sink, tmp_path) as sh:
            for i in range(20):
                sh.log_prediction({"age": i}, 0.5)
            assert sh.flush(10)
            st = sh.stats()
        (doc,) = _deployments(sink).values()
        assert doc["model"] == {
            "name": "credit",
            "version": "3.1.0",
            "hash": "sha256:abc",
            "trained_at": "2026-01-01T00:00:00Z",
        }
        assert st["acked"] == 20 and st["enqueued"] == 20 and st["deployment"] == "recorded"
        assert len(sink.predictions()) == 20 and INDEX in sink.ensured

    def test_restart_is_known(self, sink: FakeSink, tmp_path: Path) -> None:
        """A restart of the same deployment on the same day is answered 409: still one
        document, the stats say "known"."""
        with _shipper(sink, tmp_path) as sh:
            sh.log_prediction({"a": 1}, 0.5)
            assert sh.flush(10)
        with _shipper(sink, tmp_path) as sh:
            sh.log_prediction({"a": 2}, 0.5)
            assert sh.flush(10)
            st = sh.stats()
        assert len(_deployments(sink)) == 1
        assert st["deployment"] == "known" and st["duplicates"] == 0 and st["acked"] == 1

    def test_changed_packages_are_another_document(self, sink: FakeSink, tmp_path: Path) -> None:
        """Upgrading a dependency makes another deployment document (another fingerprint)."""
        for packages in (PACKAGES, {**PACKAGES, "numpy": "2.0.0"}):
            with _shipper(sink, tmp_path, deployment_packages=packages) as sh:
                sh.log_prediction({"a": 1}, 0.5)
                assert sh.flush(10)
        docs = list(_deployments(sink).values())
        assert len({d["fingerprint"] for d in docs}) == 2

    def test_off_with_a_custom_sink_unless_asked(self, sink: FakeSink, tmp_path: Path) -> None:
        """With a custom sink and no `deployment=` nothing but predictions is written."""
        with _shipper(sink, tmp_path, deployment=None) as sh:
            sh.log_prediction({"a": 1}, 0.5)
            assert sh.flush(10)
            assert sh.stats()["deployment"] == "off"
        assert _deployments(sink) == {} and sink.ensured == []

    def test_waits_for_elasticsearch(self, sink: FakeSink, tmp_path: Path) -> None:
        """While Elasticsearch has never answered only predictions are spooled; once it
        answers, the deployment document follows."""
        sink.down = "connection"
        with _shipper(sink, tmp_path) as sh:
            for i in range(5):
                sh.log_prediction({"a": i}, 0.5)
            assert not sh.flush(0.5)
            st = sh.stats()
            assert st["spool_pending_records"] + st["queue_depth"] == 5
            assert st["deployment"] == "pending"
            sink.down = None
            assert sh.flush(10)
            assert sh.stats()["deployment"] == "recorded"
        assert len(sink.predictions()) == 5 and len(_deployments(sink)) == 1

    def test_durable_mode(self, sink: FakeSink, tmp_path: Path) -> None:
        """With durability="disk" the document goes through the spool like the records."""
        with _shipper(sink, tmp_path, durability="disk") as sh:
            sh.log_prediction({"a": 1}, 0.5)
            assert sh.flush(10)
            assert sh.stats()["deployment"] == "recorded"
        assert len(_deployments(sink)) == 1

    def test_unreadable_environment(
        self, sink: FakeSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """If the environment cannot be read, predictions still ship and the stats say so."""

        def broken(_spec: Any) -> dict[str, str]:
            raise OSError("no metadata")

        monkeypatch.setattr(_deployment, "installed_packages", broken)
        with _shipper(sink, tmp_path) as sh:
            sh.log_prediction({"a": 1}, 0.5)
            assert sh.flush(10)
            st = sh.stats()
        assert st["deployment"] == "failed" and "deployment document" in (st["last_error"] or "")
        assert len(sink.predictions()) == 1 and _deployments(sink) == {}

    def test_a_new_day_writes_again(
        self, sink: FakeSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A shipper alive on the next UTC day writes that day's document too."""
        offset = [0.0]
        clock = types.SimpleNamespace(
            time=lambda: time.time() + offset[0], monotonic=time.monotonic, sleep=time.sleep
        )
        monkeypatch.setattr(_deployment_schedule, "time", clock)
        with _shipper(sink, tmp_path) as sh:
            sh.log_prediction({"a": 1}, 0.5)
            assert sh.flush(10)
            offset[0] = 86400.0
            sh.log_prediction({"a": 2}, 0.5)
            assert sh.flush(10)
        ids = sorted(_deployments(sink))
        assert len(ids) == 2 and ids[0][:40] == ids[1][:40]

    def test_spooled_while_down(
        self, sink: FakeSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Once routed, the document is kept (memory first) while Elasticsearch is down and
        delivered when it is back, like any record."""
        offset = [0.0]
        clock = types.SimpleNamespace(
            time=lambda: time.time() + offset[0], monotonic=time.monotonic, sleep=time.sleep
        )
        monkeypatch.setattr(_deployment_schedule, "time", clock)
        with _shipper(sink, tmp_path) as sh:
            sh.log_prediction({"a": 1}, 0.5)
            assert sh.flush(10)
            sink.down = "connection"
            offset[0] = 86400.0  # the next day's document is due
            sh.log_prediction({"a": 2}, 0.5)
            assert not sh.flush(0.5)
            assert sh.stats()["pending"] == 2
            sink.down = None
            assert sh.flush(10)
        assert len(_deployments(sink)) == 2 and len(sink.predictions()) == 2
