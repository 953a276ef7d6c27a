"""The overview's progress chart: one stacked bar per expression, in the table's order.

``st.bar_chart`` sorted the bars alphabetically (the table below lists expressions by group and
id) and cut labels at Vega-Lite's 200 pixels; this chart keeps the table's order and shows labels
whole up to ``LABEL_LIMIT`` pixels.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

STATES = ("positive", "negative", "proposed", "unseen")
STATE_COLORS = ("#2e7d32", "#1565c0", "#ef6c00", "#9e9e9e")
LABEL_LIMIT = 600  # pixels of label before Vega-Lite ellipsises it
#: Tables up to this many rows are drawn whole, without a scroll bar of their own.
WHOLE_TABLE_ROWS = 40


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
