"""The three shapes every dashboard panel takes: a chart over time, a table, a key figure.
The dashboards' modules say what each panel shows; these say how a panel of that shape is
built, once. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from predwatch.kibana import lens as L
from predwatch.kibana.context import Ctx, Item

CHART_HEIGHT = 12
TABLE_HEIGHT = 12
KEY_FIGURE_HEIGHT = 6


def chart(
    ctx: Ctx,
    dv: str,
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
    return Item(
        key,
        w,
        CHART_HEIGHT,
        L.Lens(
            ctx.title(title),
            dv,
            "xy",
            metrics,
            x=L.date_histogram(),
            split=split,
            series=series,
            query=query,
            description=description,
            reference_lines=reference_lines,
        ),
    )


def table(
    ctx: Ctx,
    dv: str,
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
    return Item(
        key,
        w,
        h,
        L.Lens(
            ctx.title(title), dv, "table", metrics, rows=rows, query=query, description=description
        ),
    )


def key_figure(
    ctx: Ctx, dv: str, key: str, w: int, title: str, column: L.Column, query: str = ""
) -> Item:
    """One number over the dashboard's time range (the row of key figures at the top)."""
    return Item(
        key, w, KEY_FIGURE_HEIGHT, L.Lens(ctx.title(title), dv, "metric", [column], query=query)
    )
