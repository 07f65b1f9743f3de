"""Dashboard layout, panel references and the links between dashboards."""

from __future__ import annotations

import json
import uuid

import pytest

from predwatch.kibana import dashboards as d


class TestFlowLayout:
    def test_rows_wrap_at_48_columns(self) -> None:
        """A panel that does not fit the row starts the next one below the tallest."""
        assert d.flow_layout([(24, 12), (24, 6), (12, 4)]) == [
            (0, 0, 24, 12),
            (24, 0, 24, 6),
            (0, 12, 12, 4),
        ]

    def test_too_wide_panel_is_refused(self) -> None:
        """Kibana's grid has 48 columns."""
        with pytest.raises(ValueError, match="48-column"):
            d.flow_layout([(49, 4)])


class TestDashboard:
    def _board(self) -> dict:
        return d.dashboard(
            str(uuid.uuid4()),
            "title",
            "what it answers",
            [
                d.Panel(48, 4, "markdown", markdown="[x](/app/dashboards#/view/1)"),
                d.Panel(24, 12, "lens", "lens-1"),
                d.Panel(24, 12, "search", "search-1"),
            ],
        )

    def test_reference_panels_have_prefixed_references(self) -> None:
        """panelRefName panel_<i> is backed by a reference named <i>:panel_<i>."""
        board = self._board()
        panels = json.loads(board["attributes"]["panelsJSON"])
        refs = {r["name"]: (r["type"], r["id"]) for r in board["references"]}
        by_ref = [p for p in panels if "panelRefName" in p]
        assert [refs[f"{p['panelIndex']}:{p['panelRefName']}"] for p in by_ref] == [
            ("lens", "lens-1"),
            ("search", "search-1"),
        ]

    def test_markdown_panel_is_by_value(self) -> None:
        """The navigation panel is a by-value markdown visualization without references."""
        panel = json.loads(self._board()["attributes"]["panelsJSON"])[0]
        assert panel["type"] == "visualization"
        assert "panelRefName" not in panel
        assert panel["embeddableConfig"]["savedVis"]["type"] == "markdown"

    def test_attributes_fit_kibanas_dashboard_schema(self) -> None:
        """Only attributes Kibana's dashboard schema (v1/v2, unknowns forbidden) allows."""
        allowed = {
            "title", "description", "kibanaSavedObjectMeta", "timeRestore", "timeFrom",
            "timeTo", "refreshInterval", "controlGroupInput", "panelsJSON", "optionsJSON",
            "hits", "version",
        }  # fmt: skip
        assert set(self._board()["attributes"]) <= allowed


class TestUrls:
    def test_default_space_has_no_prefix(self) -> None:
        """Links start with / (Kibana's markdown only renders absolute or http links)."""
        assert d.dashboard_url("abc") == "/app/dashboards#/view/abc"

    def test_space_and_base_path_prefix_the_link(self) -> None:
        """A non-default space is /s/<space>; server.basePath goes first."""
        assert d.dashboard_url("abc", "ml", "/kibana/") == "/kibana/s/ml/app/dashboards#/view/abc"

    def test_discover_link(self) -> None:
        """Saved searches open in Discover."""
        assert d.discover_url("s1", "ml") == "/s/ml/app/discover#/view/s1"
