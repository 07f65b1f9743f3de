"""The three shapes every dashboard panel takes: a chart over time, a table, a key figure.
The dashboards' modules say what each panel shows; `Panels` builds a panel of each shape
the one way. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from predwatch.kibana import lens as L
from predwatch.kibana.context import Ctx, Item

CHART_HEIGHT = 12
TABLE_HEIGHT = 12
KEY_FIGURE_HEIGHT = 6


@dataclass(frozen=True)
class Panels:
    """Panels of one model (`ctx`, which titles them) on one data view (`dv`, its id)."""

    ctx: Ctx
    dv: str

    def chart(
        self,
        key: str,
        w: int,
        title: str,
        metrics: Sequence[L.Column],
        *,
        split: L.Column | None = None,
        series: L.SeriesType = "line",
        query: str = "",
        description: str = "",
        reference_lines: Sequence[tuple[str, float]] = (),
    ) -> Item:
        """`metrics` per interval of the date histogram (broken down by `split`)."""
        lens = L.Lens(
            self.ctx.title(title),
            self.dv,
            "xy",
            metrics,
            x=L.date_histogram(),
            split=split,
            series=series,
            query=query,
            description=description,
            reference_lines=reference_lines,
        )
        return Item(key, w, CHART_HEIGHT, lens)

    def table(
        self,
        key: str,
        w: int,
        title: str,
        metrics: Sequence[L.Column],
        *,
        rows: Sequence[L.Column] = (),
        h: int = TABLE_HEIGHT,
        query: str = "",
        description: str = "",
    ) -> Item:
        """`metrics` per bucket of the `rows` columns (or over everything, without rows)."""
        title = self.ctx.title(title)
        lens = L.Lens(
            title, self.dv, "table", metrics, rows=rows, query=query, description=description
        )
        return Item(key, w, h, lens)

    def key_figure(self, key: str, w: int, title: str, column: L.Column, query: str = "") -> Item:
        """One number over the dashboard's time range (the row of key figures at the top)."""
        lens = L.Lens(self.ctx.title(title), self.dv, "metric", [column], query=query)
        return Item(key, w, KEY_FIGURE_HEIGHT, lens)
