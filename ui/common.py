"""Small pieces several pages share: the project guard, flash messages, group/expression pickers."""

from __future__ import annotations

import streamlit as st

from labeler.domain import Expression, Group
from labeler.errors import ProjectError
from labeler.project import Project
from ui import resources, state
from ui.plain import md


def require_project() -> Project:
    """The open project, or an explanation (and a way to make the demo) and a stop."""
    try:
        return resources.project()
    except ProjectError as exc:
        st.error(md(exc))
        folder = resources.project_dir()
        st.write(
            f"Start the app with `-- --project DIR` or `GRD_PROJECT=DIR`, or create the demo "
            f"project (bundled sample photos) in `{folder}`."
        )
        if st.button("Create the demo project here", type="primary"):
            from pipelines.services.demo import build_demo

            with st.spinner("Building the demo project ..."):
                build_demo(folder).close()
            resources.forget_project()
            st.rerun()
        st.stop()


def show_flashes() -> None:
    # Callers escape the user text in their messages (ui.plain.md): these bodies are Markdown.
    for kind, message in state.pop_flashes():
        {"success": st.success, "warning": st.warning, "error": st.error}.get(kind, st.info)(
            message
        )


def _synced_select(
    label: str, ids: list[int], names: dict[int, str], current: int | None, key: str, on_pick
) -> int:
    """A selectbox that follows the session's focus (set by other pages) and updates it."""
    st.session_state[key] = current if current in ids else ids[0]
    return st.selectbox(
        label,
        ids,
        format_func=names.get,
        key=key,
        on_change=lambda: on_pick(st.session_state[key]),
    )


def pick_group(project: Project, key: str) -> Group | None:
    groups = project.store.list_groups()
    if not groups:
        st.info("No groups yet: add images on the **Data** page.")
        return None

    def pick(group_id: int) -> None:
        state.focus(group=group_id)
        st.session_state.pop(state._EXPRESSION, None)

    names = {g.id: g.name for g in groups}
    chosen = _synced_select("Group", list(names), names, state.group_id(), key, pick)
    state.focus(group=chosen)
    return next(g for g in groups if g.id == chosen)


def pick_expression(project: Project, group: Group, key: str) -> Expression | None:
    expressions = project.store.list_expressions(group.id)
    if not expressions:
        st.info("This group has no expressions yet: add some on the **Data** page.")
        return None
    texts = {e.id: e.text for e in expressions}
    chosen = _synced_select(
        "Expression",
        list(texts),
        texts,
        state.expression_id(),
        key,
        lambda expression_id: state.focus(expression=expression_id),
    )
    state.focus(expression=chosen)
    return next(e for e in expressions if e.id == chosen)


def pick_group_and_expression(
    project: Project, cols: list, key: str
) -> tuple[Group, Expression] | None:
    """The group picker in ``cols[0]``, then its expression picker in ``cols[1]`` (widget keys
    ``<key>_group`` and ``<key>_expression``); None while either has nothing to pick."""
    with cols[0]:
        group = pick_group(project, f"{key}_group")
    if group is None:
        return None
    with cols[1]:
        expr = pick_expression(project, group, f"{key}_expression")
    if expr is None:
        return None
    return group, expr
