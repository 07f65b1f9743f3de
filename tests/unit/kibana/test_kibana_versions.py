"""Contract tests: the saved objects import into Kibana 8.19 and 9.x (predwatch's model of it).

Kibana cannot run here, so these check the objects against the versions each line's saved-object
type registrations accept, as read from Kibana's source (predwatch.kibana.versions cites them).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from predwatch.kibana import contract, ndjson, versions
from predwatch.kibana.objects import saved_objects
from tests.helpers.kibana_fixtures import demo_baseline

pytestmark = pytest.mark.contract

REPO = Path(__file__).resolve().parents[3]
LINES = sorted(versions.KIBANA_LINES)
GENERATED = saved_objects(demo_baseline(), "demo")


@pytest.mark.parametrize("line", LINES)
class TestImportable:
    def test_generated_objects(self, line: str) -> None:
        """Every generated object has versions Kibana `line` knows."""
        assert versions.check(GENERATED, line) == []

    def test_committed_demo_asset(self, line: str) -> None:
        """kibana/predwatch-demo.ndjson imports into Kibana `line` too."""
        objects = ndjson.loads((REPO / "kibana" / "predwatch-demo.ndjson").read_text("utf-8"))
        assert versions.check(objects, line) == []

    def test_every_type_is_in_the_table(self, line: str) -> None:
        """The table covers every type predwatch writes (a new type needs its versions)."""
        assert {o["type"] for o in GENERATED} <= set(versions.KIBANA_LINES[line])


class TestChecker:
    def _with(self, otype: str, key: str, value: str) -> list[dict[str, Any]]:
        objects = copy.deepcopy(GENERATED)
        target = next(o for o in objects if o["type"] == otype)
        target[key] = value
        return objects

    def test_a_dashboard_of_a_newer_model_version_is_refused_by_8_19(self) -> None:
        """Dashboard model version 3 (9.x `sections`) is unknown to 8.19."""
        problems = versions.check(self._with("dashboard", "typeMigrationVersion", "10.3.0"), "8.19")
        assert any("dashboard" in p and "10.3.0" in p for p in problems)

    def test_a_search_with_tabs_is_refused(self) -> None:
        """Search model version 6 (tabs) is unknown to both oldest releases."""
        objects = self._with("search", "typeMigrationVersion", "10.6.0")
        assert all(versions.check(objects, line) for line in LINES)

    def test_a_newer_core_version_is_refused(self) -> None:
        """coreMigrationVersion 9.1.0 is newer than Kibana 8.19."""
        assert versions.check(self._with("lens", "coreMigrationVersion", "9.1.0"), "8.19")

    def test_the_export_guard_runs_it(self) -> None:
        """contract.check (run before every export) reports a version 8.19 cannot import."""
        objects = self._with("dashboard", "typeMigrationVersion", "10.4.0")
        assert any("8.19" in p for p in contract.check(objects, "demo", demo_baseline()))
