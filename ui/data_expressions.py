"""The Data page's Expressions tab: add, rename and delete the expressions of a group.

Rows are labelled by their position in the group ("Expression 1, 2, 3"), never by database id.
Delete refuses while people have decided pairs of the expression and then offers "Delete anyway"
(the decisions stay in the audit log, ``Store.delete_expression``).
"""

from __future__ import annotations

import streamlit as st

from labeler.errors import LabelerError
from labeler.limits import TEXT_LIMITS
from labeler.store import ExpressionHasDecisions
from ui import common, resources, state
from ui.plain import md

_CONFIRM = "expr-confirm-delete"


def _add_expression(group_id: int) -> None:
    text = st.session_state.get("new_expression", "")
    try:
        resources.project().store.add_expression(group_id, text, created_by=state.annotator())
    except (LabelerError, ValueError) as exc:
        state.flash(md(exc), "error")
        return
    st.session_state["new_expression"] = ""
    state.flash(f"Added “{md(text)}”.")


def _edit_expression(expression_id: int) -> None:
    text = st.session_state.get(f"expr-text-{expression_id}", "")
    try:
        resources.project().store.edit_expression(expression_id, text, state.annotator())
    except (LabelerError, ValueError) as exc:
        state.flash(md(exc), "error")
        return
    state.flash("Expression saved (the old wording stays in the audit log).")


def _delete_expression(expression_id: int, force: bool) -> None:
    store = resources.project().store
    try:
        text = store.get_expression(expression_id).text
        human = store.delete_expression(expression_id, author=state.annotator(), force=force)
    except ExpressionHasDecisions as exc:
        st.session_state[_CONFIRM] = expression_id
        state.flash(md(exc), "warning")
        return
    except LabelerError as exc:
        state.flash(md(exc), "error")
        return
    st.session_state.pop(_CONFIRM, None)
    kept = f"; its {human} human decisions are kept in the audit log" if human else ""
    state.flash(f"Deleted “{md(text)}”{kept}.")


def render(project) -> None:
    group = common.pick_group(project, "data_group")
    if group is None:
        return
    limit = TEXT_LIMITS["expression"]
    confirm = st.session_state.get(_CONFIRM)
    for position, expr in enumerate(project.store.list_expressions(group.id), start=1):
        with st.container(horizontal=True, vertical_alignment="bottom", key=f"expr-row-{expr.id}"):
            st.text_input(
                f"Expression {position}",
                value=expr.text,
                key=f"expr-text-{expr.id}",
                max_chars=limit,
            )
            st.button(
                "Save", key=f"expr-save-{expr.id}", on_click=_edit_expression, args=(expr.id,)
            )
            if confirm == expr.id:
                st.button(
                    "Delete anyway",
                    key=f"expr-delete-force-{expr.id}",
                    type="primary",
                    help="Its decisions are removed from the project and kept in the audit log.",
                    on_click=_delete_expression,
                    args=(expr.id, True),
                )
            else:
                st.button(
                    "Delete",
                    key=f"expr-delete-{expr.id}",
                    on_click=_delete_expression,
                    args=(expr.id, False),
                )
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.text_input(
            "New expression",
            key="new_expression",
            placeholder="e.g. the dog lying on the sand",
            max_chars=limit,
        )
        st.button(
            "Add", key="add_expression", type="primary", on_click=_add_expression, args=(group.id,)
        )
    st.caption(f"An expression holds at most {limit} characters.")
