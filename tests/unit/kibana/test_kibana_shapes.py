"""Unit tests of the panel shapes the Kibana dashboards are built from (kibana/shapes.py)."""

from __future__ import annotations

from predwatch.kibana import lens as L
from predwatch.kibana.context import Ctx
from predwatch.kibana.shapes import Panels

PANELS = Panels(Ctx("credit"), "dv")


class TestPanels:
    def test_chart_is_a_series_over_time(self) -> None:
        """A chart: an XY Lens with the date histogram on x, 12 high, titled for the model."""
        item = PANELS.chart("k", 24, "Traffic", [L.count("n")], split=L.terms("f", size=3))
        assert (item.key, item.w, item.h) == ("k", 24, 12)
        assert item.lens is not None and item.lens.data_view == "dv"
        assert item.lens.vis == "xy" and item.lens.title == "[credit] Traffic"
        assert item.lens.x == L.date_histogram() and item.lens.split is not None

    def test_table_has_rows_and_no_x(self) -> None:
        """A table: bucket rows, no x column; 12 high unless told."""
        rows = [L.terms("f", size=3)]
        item = PANELS.table("k", 12, "Top", [L.count("n")], rows=rows, h=15)
        assert item.h == 15 and item.lens is not None
        assert item.lens.vis == "table" and list(item.lens.rows) == rows and item.lens.x is None
        assert PANELS.table("k", 12, "Top", [L.count("n")]).h == 12

    def test_key_figure_is_one_metric(self) -> None:
        """A key figure: one metric column, 6 high, with its query."""
        item = PANELS.key_figure("kpi:n", 12, "Predictions", L.count("n"), "a : 1")
        assert (item.w, item.h) == (12, 6) and item.lens is not None
        assert item.lens.vis == "metric" and item.lens.query == "a : 1"
        assert len(item.lens.metrics) == 1
