"""The importer and `predwatch setup kibana` against a fake Kibana on 127.0.0.1 (no Kibana can
run here): the request Kibana documents, re-import updating in place, and failures.

Contract tests: the verdicts come from a fake Kibana built from Kibana's documented import
API, not a running Kibana."""

from __future__ import annotations

import base64
import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from predwatch.assets import asset_dir
from predwatch.baseline import save_baseline
from predwatch.config import KibanaConfig
from predwatch.kibana import ndjson
from predwatch.kibana.cli import setup_kibana
from predwatch.kibana.context import KibanaError
from predwatch.kibana.importer import IMPORT_PATH, import_objects
from predwatch.kibana.objects import saved_objects
from tests.helpers import kibana_fixtures as fixtures
from tests.helpers.kibana_fake import FakeKibana

pytestmark = pytest.mark.contract

OBJECTS = saved_objects(fixtures.demo_baseline(), "demo")


def _cfg(url: str, **kw: str) -> KibanaConfig:
    cfg = KibanaConfig(url, **kw)
    cfg.validate()
    return cfg


class TestRequest:
    def test_request_has_what_kibana_requires(self, fake_kibana: FakeKibana) -> None:
        """POST /api/saved_objects/_import?overwrite=true, kbn-xsrf, ApiKey auth, multipart
        field `file` holding the NDJSON."""
        fake_kibana.api_key = "aWQ6c2VjcmV0"
        result = import_objects(_cfg(fake_kibana.url, api_key="aWQ6c2VjcmV0"), OBJECTS)
        got = fake_kibana.received[-1]
        assert got.path == "/api/saved_objects/_import"
        assert got.query == {"overwrite": ["true"]}
        assert got.headers["kbn-xsrf"]
        assert got.headers["authorization"] == "ApiKey aWQ6c2VjcmV0"
        assert got.headers["content-type"].startswith("multipart/form-data")
        assert got.form_fields == ["file"] and got.filename.endswith(".ndjson")
        assert got.objects == OBJECTS
        assert (result.count, result.created, result.updated) == (len(OBJECTS), len(OBJECTS), 0)

    def test_basic_auth(self, fake_kibana: FakeKibana) -> None:
        """User and password go as HTTP basic auth, as for Elasticsearch."""
        fake_kibana.basic = "Basic " + base64.b64encode(b"elastic:pw").decode()
        import_objects(_cfg(fake_kibana.url, username="elastic", password="pw"), OBJECTS[:1])
        assert fake_kibana.received[-1].headers["authorization"] == fake_kibana.basic

    def test_space_prefix(self, fake_kibana: FakeKibana) -> None:
        """A space is addressed as /s/<space>/api/saved_objects/_import."""
        objs = saved_objects(fixtures.demo_baseline(), "demo", space="ml")
        import_objects(_cfg(fake_kibana.url, space="ml"), objs)
        assert fake_kibana.received[-1].path == "/s/ml/api/saved_objects/_import"
        assert len(fake_kibana.store["ml"]) == len(objs)

    def test_import_url_keeps_a_base_path(self) -> None:
        """Kibana behind server.basePath keeps its prefix."""
        cfg = KibanaConfig("https://h/kb/", space="ml")
        assert cfg.api_url(IMPORT_PATH) == "https://h/kb/s/ml/api/saved_objects/_import"


class TestReimport:
    def test_second_import_updates_in_place(self, fake_kibana: FakeKibana) -> None:
        """Stable ids: the second import overwrites every object and adds none."""
        cfg = _cfg(fake_kibana.url)
        import_objects(cfg, OBJECTS)
        again = import_objects(cfg, saved_objects(fixtures.demo_baseline(), "demo"))
        assert (again.created, again.updated) == (0, len(OBJECTS))
        assert len(fake_kibana.store["default"]) == len(OBJECTS)

    def test_other_model_adds_its_own_objects(self, fake_kibana: FakeKibana) -> None:
        """A second model adds its objects and shares only the two shared data views."""
        cfg = _cfg(fake_kibana.url)
        import_objects(cfg, OBJECTS)
        other = import_objects(cfg, saved_objects(fixtures.demo_baseline("other"), "other"))
        assert other.updated == 2
        assert len(fake_kibana.store["default"]) == 2 * len(OBJECTS) - 2


class TestFailures:
    def test_rejected_credentials(self, fake_kibana: FakeKibana) -> None:
        """401: one line naming the auth kind, never the secret."""
        fake_kibana.api_key = "right"
        with pytest.raises(KibanaError, match="rejected the credentials") as err:
            import_objects(_cfg(fake_kibana.url, api_key="wrong-secret"), OBJECTS)
        assert "wrong-secret" not in str(err.value)

    def test_unknown_space(self, fake_kibana: FakeKibana) -> None:
        """404 on /s/<space>/: the message asks whether the space exists."""
        with pytest.raises(KibanaError, match="space 'nope' exist"):
            import_objects(_cfg(fake_kibana.url, space="nope"), OBJECTS)

    def test_objects_refused(self, fake_kibana: FakeKibana) -> None:
        """success false: the refused objects are named with Kibana's reason."""
        bad = next(o for o in OBJECTS if o["type"] == "lens")
        fake_kibana.reject_ids = {bad["id"]}
        with pytest.raises(KibanaError, match=r"imported 0 object\(s\) but refused 1") as err:
            import_objects(_cfg(fake_kibana.url), OBJECTS)
        assert bad["id"] in str(err.value) and "bad attributes" in str(err.value)

    def test_missing_reference_reported(self, fake_kibana: FakeKibana) -> None:
        """A dashboard imported without its visualizations fails with missing_references."""
        boards = [o for o in OBJECTS if o["type"] == "dashboard"]
        with pytest.raises(KibanaError, match="missing_references"):
            import_objects(_cfg(fake_kibana.url), boards)

    def test_not_kibana(self, fake_kibana: FakeKibana) -> None:
        """A server answering HTML is not Kibana."""
        fake_kibana.answer = (200, b"<html>hello</html>")
        with pytest.raises(KibanaError, match="non-JSON"):
            import_objects(_cfg(fake_kibana.url), OBJECTS)

    def test_unreachable(self) -> None:
        """Nothing listening: one line saying Kibana could not be reached."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        with pytest.raises(KibanaError, match="could not be reached"):
            import_objects(_cfg(f"http://127.0.0.1:{port}"), OBJECTS)


class TestSetupCommand:
    def test_generates_and_imports(self, fake_kibana: FakeKibana, tmp_path: Path) -> None:
        """setup kibana imports the model's objects and prints the dashboards' links."""
        baseline = save_baseline(fixtures.demo_baseline(), tmp_path / "b.json")
        args = ["--url", fake_kibana.url, "-m", "demo", "--baseline", str(baseline)]
        res = CliRunner().invoke(setup_kibana, args, env={})
        assert res.exit_code == 0, res.output
        assert f"{len(OBJECTS)} new, 0 updated" in res.output
        assert f"{fake_kibana.url}/app/dashboards#/view/" in res.output
        again = CliRunner().invoke(setup_kibana, [*args, "--json"], env={})
        report = json.loads(again.output)
        assert (report["created"], report["updated"]) == (0, len(OBJECTS))
        assert set(report["dashboards"]) == {"inputs", "predictions", "drift"}

    def test_imports_the_committed_demo_file(self, fake_kibana: FakeKibana) -> None:
        """--file imports an NDJSON as it is (the committed demo objects)."""
        path = asset_dir("kibana") / "predwatch-demo.ndjson"
        res = CliRunner().invoke(
            setup_kibana, ["--url", fake_kibana.url, "--file", str(path)], env={}
        )
        assert res.exit_code == 0, res.output
        assert fake_kibana.received[-1].objects == ndjson.read(path)

    def test_space_from_the_environment(self, fake_kibana: FakeKibana) -> None:
        """PREDWATCH_KIBANA_URL and PREDWATCH_KIBANA_SPACE stand in for the options."""
        env = {"PREDWATCH_KIBANA_URL": fake_kibana.url, "PREDWATCH_KIBANA_SPACE": "ml"}
        res = CliRunner().invoke(setup_kibana, ["-m", "demo"], env=env)
        assert res.exit_code == 0, res.output
        assert fake_kibana.received[-1].path.startswith("/s/ml/")
        assert "/s/ml/app/dashboards#/view/" in res.output

    def test_failure_is_one_line_exit_2(self, fake_kibana: FakeKibana) -> None:
        """A refused import: exit 2, one error line, no traceback."""
        fake_kibana.api_key = "right"
        res = CliRunner().invoke(
            setup_kibana, ["--url", fake_kibana.url, "-m", "demo", "--api-key", "bad"], env={}
        )
        assert res.exit_code == 2
        assert res.output.count("\n") == 1 and res.output.startswith("error: ")


class TestFakeKibana:
    def test_wrong_file_extension_is_refused(self, fake_kibana: FakeKibana) -> None:
        """The fake refuses what Kibana's import route refuses: a file not named *.ndjson."""
        import requests

        resp = requests.post(
            f"{fake_kibana.url}/api/saved_objects/_import",
            headers={"kbn-xsrf": "x"},
            files={"file": ("objects.json", b"{}", "application/json")},
            timeout=5,
        )
        assert resp.status_code == 400 and "Invalid file extension .json" in resp.text
