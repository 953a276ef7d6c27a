"""Team work on the pages: assigned work first, and pairs a reviewer sent back, with their reasons.

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
    if not mine:
        return
    task = next_task(project.store.expression_progress(), mine)
    if task is not None and task.expression_id in mine:
        state.focus(group=task.group_id, expression=task.expression_id)


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
