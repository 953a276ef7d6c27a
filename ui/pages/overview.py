"""Project overview: progress per group, expression and annotator, and the next thing to do."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from labeler.annotate import next_task
from ui import common, state, teamwork
from ui.overview_chart import (
    PAGE_ORDERS,
    PAGE_ROWS,
    page_count,
    page_order,
    page_slice,
    progress_chart,
    table_height,
)
from ui.plain import md


def render() -> None:
    project = common.require_project()
    common.show_flashes()
    store = project.store
    st.title(md(project.settings.name))
    groups = store.group_progress()
    expressions = store.expression_progress()
    if not groups:
        st.info("The project is empty: add images on the **Data** page.")
        return
    _totals(groups)
    _next_up(expressions, {g.group_id: g.name for g in groups}, teamwork.assigned(project))
    teamwork.sent_back(project)
    teamwork.blind_todo(project)
    st.subheader("Groups")
    st.dataframe(
        _group_table(groups),
        hide_index=True,
        width="stretch",
        column_config={
            "done": st.column_config.ProgressColumn(
                "done", min_value=0, max_value=1, format="percent"
            )
        },
    )
    st.subheader("Expressions")
    _expressions(expressions, {g.group_id: g.name for g in groups})
    st.subheader("Annotators")
    annotators = store.annotator_progress()
    if annotators:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "annotator": a.author,
                        "positive": a.positive,
                        "negative": a.negative,
                        "decided": a.decided,
                    }
                    for a in annotators
                ]
            ),
            hide_index=True,
        )
    else:
        st.caption("No human decisions yet.")


def _totals(groups) -> None:
    pairs = sum(g.pairs for g in groups)
    decided = sum(g.decided for g in groups)
    cols = st.columns(4)
    cols[0].metric("Groups", len(groups))
    cols[1].metric("Images", sum(g.images for g in groups))
    cols[2].metric(
        "Complete expressions",
        f"{sum(g.complete_expressions for g in groups)} / {sum(g.expressions for g in groups)}",
    )
    cols[3].metric(
        "Pairs decided",
        f"{decided} / {pairs}",
        f"{decided / pairs:.0%}" if pairs else None,
        delta_color="off",
        delta_arrow="off",
    )


def _next_up(expressions, group_names, assigned=()) -> None:
    task = next_task(expressions, assigned)
    with st.container(border=True):
        if task is None:
            st.success("Every expression is complete.")
            return
        st.markdown(
            f"**Next up:** “{md(task.text)}” in *{md(group_names.get(task.group_id, task.group_id))}* — "
            f"{task.total - task.decided} of {task.total} images still need a decision "
            f"({task.proposed} with model proposals)."
        )
        if st.button("Open it in the group sweep", type="primary", key="next_up", shortcut="g"):
            state.focus(group=task.group_id, expression=task.expression_id)
            from ui.navigation import go

            go("sweep")


def _group_table(groups) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "group": g.name,
                "images": g.images,
                "expressions": g.expressions,
                "complete expressions": g.complete_expressions,
                "decided": g.decided,
                "proposed": g.proposed,
                "unseen": g.pairs - g.decided - g.proposed,
                "done": g.fraction,
            }
            for g in groups
        ]
    )


def _expressions(expressions, group_names) -> None:
    if not expressions:
        st.caption("No expressions yet: add them on the **Data** page.")
        return
    if len(expressions) > PAGE_ROWS:
        expressions = _one_page(expressions)
    table = pd.DataFrame(
        [
            {
                "group": group_names.get(p.group_id, p.group_id),
                "expression": p.text,
                "positive": p.positive,
                "negative": p.negative,
                "proposed": p.proposed,
                "unseen": p.unseen,
                "complete": "yes" if p.complete else "no",
                "done": p.fraction,
            }
            for p in expressions
        ]
    )
    labels = [f"{p.text} · {group_names.get(p.group_id, '')}" for p in expressions]
    st.altair_chart(progress_chart(table, labels), width="stretch")
    st.caption("Select a row to open the expression in the group sweep.")
    picked = st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=table_height(len(table)),
        on_select="rerun",
        selection_mode="single-row",
        key="overview_expressions",
        column_config={
            "done": st.column_config.ProgressColumn(
                "done", min_value=0, max_value=1, format="percent"
            )
        },
    )
    rows = picked.selection.rows if picked else []
    if rows:
        p = expressions[rows[0]]
        state.focus(group=p.group_id, expression=p.expression_id)
        st.session_state.pop("overview_expressions", None)
        from ui.navigation import go

        go("sweep")


def _one_page(expressions):
    """The page of expressions picked by the order and page widgets above the chart."""
    cols = st.columns([2, 1, 3])
    order = cols[0].selectbox("Order", PAGE_ORDERS, key="overview_order")
    pages = page_count(len(expressions))
    page = cols[1].number_input("Page", 1, pages, 1, key="overview_page")
    shown = page_slice(len(expressions), page)
    rows = page_order([p.fraction for p in expressions], order)[shown]
    cols[2].caption(
        f"Expressions {shown.start + 1}-{shown.stop} of {len(expressions):,}, page {page} of {pages}"
    )
    return [expressions[k] for k in rows]
