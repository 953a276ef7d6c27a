"""The overview's progress chart: one stacked bar per expression, in the table's order.

``st.bar_chart`` sorted the bars alphabetically (the table below lists expressions by group and
id) and cut labels at Vega-Lite's 200 pixels; this chart keeps the table's order and shows labels
whole up to ``LABEL_LIMIT`` pixels. A project with more expressions than one page holds is shown a
page at a time (``page_slice``): at ten times GRD (3,160 expressions) one chart of every bar was
88,000 pixels tall and took the browser longer to draw than the server took to count.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

STATES = ("positive", "negative", "proposed", "unseen")
STATE_COLORS = ("#2e7d32", "#1565c0", "#ef6c00", "#9e9e9e")
LABEL_LIMIT = 600  # pixels of label before Vega-Lite ellipsises it
#: Tables up to this many rows are drawn whole, without a scroll bar of their own.
WHOLE_TABLE_ROWS = 40


#: Expressions drawn at once in the chart and the table below it.
PAGE_ROWS = 40
#: How a page of expressions is chosen: the table's order, or the least complete first.
PAGE_ORDERS = ("group", "least done first")


def page_count(rows: int, size: int = PAGE_ROWS) -> int:
    """Pages needed for ``rows`` rows (at least one, so an empty table still has a page)."""
    return max(1, -(-rows // size))


def page_slice(rows: int, page: int, size: int = PAGE_ROWS) -> slice:
    """Rows of 1-based ``page``; a page past either end is clamped to the first or the last."""
    page = min(max(page, 1), page_count(rows, size))
    return slice((page - 1) * size, min(page * size, rows))


def page_order(fractions: list[float], order: str) -> list[int]:
    """Row indices in ``order`` (one of ``PAGE_ORDERS``); ties keep the table's order."""
    if order not in PAGE_ORDERS:
        raise ValueError(f"unknown order {order!r}; choose one of {', '.join(PAGE_ORDERS)}")
    rows = list(range(len(fractions)))
    return rows if order == "group" else sorted(rows, key=lambda k: fractions[k])


def table_height(rows: int) -> int | str:
    """``st.dataframe`` height: the whole table for a usual project, a scroll area past that."""
    return "content" if rows <= WHOLE_TABLE_ROWS else 38 + 35 * WHOLE_TABLE_ROWS


def progress_chart(table: pd.DataFrame, labels: list[str]) -> alt.Chart:
    """Stacked horizontal bars of ``table``'s state columns, one per row, labelled ``labels`` in
    row order (the same order as the table)."""
    data = table[list(STATES)].assign(label=labels, row=range(len(labels)))
    long = data.melt(["label", "row"], var_name="state", value_name="images")
    long["order"] = long["state"].map({s: k for k, s in enumerate(STATES)})
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort=labels, title=None, axis=alt.Axis(labelLimit=LABEL_LIMIT)),
            x=alt.X("images:Q", stack="zero", title="images"),
            color=alt.Color(
                "state:N",
                scale=alt.Scale(domain=list(STATES), range=list(STATE_COLORS)),
                sort=list(STATES),
                legend=alt.Legend(orient="top", title=None),
            ),
            order=alt.Order("order:Q"),
            tooltip=["label", "state", "images"],
        )
        .properties(height=28 * len(labels) + 20)
    )
