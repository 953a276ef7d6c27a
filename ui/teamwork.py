"""Team work on the pages: assigned work first, pairs a reviewer sent back (with their reasons), and
the blind pairs a second annotator has still to judge.

Thin: the store decides what is assigned and what was rejected (``labeler/store/teamwork.py``).
"""

from __future__ import annotations

import streamlit as st

from labeler.annotate import next_task
from labeler.project import Project
from ui import state


def assigned(project: Project) -> list[int]:
    name = state.annotator()
    return project.store.assigned_expressions(name) if name else []


def focus_assigned_work(project: Project) -> None:
    """With nothing focused yet, point the pages at the annotator's next assigned expression."""
    if state.expression_id() is not None:
        return
    mine = assigned(project)
    task = next_task(project.store.expression_progress(), mine) if mine else None
    if task is not None and task.expression_id in mine:
        state.focus(group=task.group_id, expression=task.expression_id)
        return
    blind = blind_todo_of(project)
    if blind:  # nothing assigned is open: the blind pairs to judge
        expression = project.store.get_expression(next(iter(blind)))
        state.focus(group=expression.group_id, expression=expression.id)


def blind_todo_of(project: Project) -> dict[int, int]:
    """Expression id -> the signed-in user's blind pairs there not judged yet."""
    name = state.annotator()
    return project.store.blind_todo(name) if name else {}


def blind_todo(project: Project) -> None:
    """The signed-in user's blind pairs still to judge, per expression, and a way to the first."""
    todo = blind_todo_of(project)
    if not todo:
        return
    with st.container(border=True, key="blind_todo"):
        st.subheader(f"Blind pairs to do ({sum(todo.values())})")
        st.caption(
            "Another annotator judges these pairs too; neither of you sees the other's judgement."
        )
        for expression_id, n in todo.items():
            expression = project.store.get_expression(expression_id)
            st.text(f"“{expression.text}”: {n} pair{'s' * (n != 1)} to judge")
        if st.button("Open the first in the group sweep", key="blind_next"):
            expression = project.store.get_expression(next(iter(todo)))
            state.focus(group=expression.group_id, expression=expression.id)
            from ui.navigation import go

            go("sweep")


def sent_back(project: Project) -> None:
    """The signed-in annotator's pairs a reviewer rejected, each with its reason (as plain text)."""
    name = state.annotator()
    rejected = project.store.rejections_for(name) if name else []
    if not rejected:
        return
    with st.container(border=True, key="sent_back"):
        st.subheader(f"Sent back by reviewers ({len(rejected)})")
        for review in rejected:
            expression = project.store.get_expression(review.expression_id)
            st.text(
                f"“{expression.text}”, image {review.image_id}: {review.reason} "
                f"(by {review.reviewer})"
            )
