"""Group sweep: every image of a group for one expression, decided in bulk.

The grid is one component (:mod:`ui.components.tile_grid`) inside a fragment with the toolbar and
the completeness bar, so an action reruns only that part. Every action is one undoable batch in
the audit log; what it does to the store is :mod:`labeler.annotate` (see :func:`apply_grid_event`).
"""

from __future__ import annotations

import streamlit as st

from labeler import annotate
from labeler.domain import DecisionStatus
from ui import common, resources, state, teamwork
from ui.components import tile_grid
from ui.plain import md

COLUMNS = 5
ORDER_LABELS = {"score": "presence score", "undecided": "undecided first", "image": "image id"}
_OPEN = "grd_sweep_open"
_SEQ = "grd_sweep_seq"


def grid_key(expression_id: int) -> str:
    return f"grid-{expression_id}"


def render() -> None:
    project = common.require_project()
    teamwork.focus_assigned_work(project)
    cols = st.columns([3, 4, 2, 2])
    picked = common.pick_group_and_expression(project, cols, "sweep")
    if picked is None:
        return
    group, expr = picked
    order_by = cols[2].selectbox(
        "Order", annotate.SORT_ORDERS, format_func=ORDER_LABELS.get, key="sweep_order"
    )
    show = cols[3].selectbox("Show", annotate.FILTERS, key="sweep_show")
    _sweep(expr.id, group.id, order_by, show, state.annotator())


# ---- actions: plain functions, then what the session remembers of them ---------------------------
def apply_grid_event(
    store, expression_id: int, event: tile_grid.GridEvent, *, author: str
) -> annotate.BatchOutcome | None:
    """What a grid action does to the store (None for "open", which only navigates)."""
    if event.kind != "decide":
        return None
    if event.action == "accept":
        return annotate.accept_selected(store, expression_id, event.image_ids, author=author)
    return annotate.negative_selected(
        store, expression_id, dict(zip(event.image_ids, event.revisions)), author=author
    )


def _report(expression_id: int, outcome: annotate.BatchOutcome, what: str) -> None:
    state.push_batch(expression_id, outcome.batch_id, f"{what} ({outcome.count})")
    if outcome.count:
        state.flash(f"{what}: {outcome.count} image{'s' * (outcome.count != 1)}.")
    if outcome.conflicts:
        who = md(", ".join(sorted({c.author or "someone" for c in outcome.conflicts})))
        state.flash(
            f"{len(outcome.conflicts)} image(s) were changed meanwhile by {who} and were left "
            "as they are; the grid now shows their version.",
            "warning",
        )
    if not outcome.count and not outcome.conflicts:
        state.flash(f"{what}: nothing to do.", "info")


def _on_grid_event(expression_id: int, author: str) -> None:
    event = tile_grid.read_event(grid_key(expression_id))
    if event is None:
        return
    st.session_state[_SEQ] = event.id
    if event.kind == "open":
        _open_in_editor(expression_id, event.image_ids[0])
        return
    outcome = apply_grid_event(resources.project().store, expression_id, event, author=author)
    _report(
        expression_id,
        outcome,
        "Accepted proposals" if event.action == "accept" else "Confirmed negative",
    )


def _remaining(expression_id: int, author: str) -> None:
    outcome = annotate.confirm_remaining_negative(
        resources.project().store, expression_id, author=author
    )
    _report(expression_id, outcome, "Confirmed all remaining as negative")


def _undo(expression_id: int, author: str) -> None:
    record = state.last_batch(expression_id)
    if record is None:
        state.flash("Nothing of yours to undo for this expression in this session.", "info")
        return
    outcome = annotate.undo_action(
        resources.project().store, expression_id, record.batch_id, author=author
    )
    state.pop_batch(record)
    state.flash(f"Undone: {record.label}.")
    if outcome.conflicts:
        state.flash(
            f"{len(outcome.conflicts)} image(s) changed after that action and were kept.", "warning"
        )


# ---- the fragment: completeness, toolbar, grid ----------------------------------------------------
@st.fragment
def _sweep(expression_id: int, group_id: int, order_by: str, show: str, author: str) -> None:
    store = resources.project().store
    images = {im.id: im for im in store.list_images(group_id)}
    decisions = store.decisions_for_expression(expression_id, list(images))
    _completeness(store, expression_id, group_id)
    shown = [
        i for i in annotate.grid_order(decisions, order_by) if annotate.matches(decisions[i], show)
    ]
    first_open = next((i for i in shown if not decisions[i].is_human), None)
    _toolbar(expression_id, sum(not d.is_human for d in decisions.values()), first_open, author)
    common.show_flashes()
    if not shown:
        st.info("No image matches this filter.")
    tiles, cache, project = [], resources.renderings(), resources.project()
    for image_id in shown:
        d = decisions[image_id]
        badge = annotate.decision_badge(d)
        tiles.append(
            tile_grid.Tile(
                image_id,
                resources.tile_jpeg(str(project.image_path(images[image_id])), d, cache),
                badge.kind,
                badge.label,
                proposed=d.status is DecisionStatus.PROPOSED,
                negative=d.status is DecisionStatus.NEGATIVE,
                revision=d.revision,
            )
        )
    tile_grid.tile_grid(
        key=grid_key(expression_id),
        tiles=tiles,
        seq=st.session_state.get(_SEQ, ""),
        columns=COLUMNS,
        on_event=lambda: _on_grid_event(expression_id, author),
    )
    if st.session_state.pop(_OPEN, False):
        from ui.pages import go

        go("editor")


def _completeness(store, expression_id: int, group_id: int) -> None:
    p = next(
        (p for p in store.expression_progress(group_id) if p.expression_id == expression_id), None
    )
    if p is None:
        return
    text = (
        f"**{p.decided} / {p.total} decided** · {p.positive} positive · {p.negative} negative · "
        f"{p.proposed} proposed · {p.unseen} unseen"
    )
    st.progress(p.fraction, text=text + (" · :green-badge[complete]" if p.complete else ""))


def _open_in_editor(expression_id: int, image_id: int) -> None:
    state.focus(expression=expression_id, image=image_id)
    st.session_state[_OPEN] = True


def _toolbar(expression_id: int, undecided: int, first_open: int | None, author: str) -> None:
    last = state.last_batch(expression_id)
    with st.container(horizontal=True, vertical_alignment="center", key="sweep_toolbar"):
        st.button(
            "Edit next undecided",
            key="edit_next",
            shortcut="e",
            icon=":material/brush:",
            disabled=first_open is None,
            on_click=_open_in_editor,
            args=(expression_id, first_open),
        )
        st.button(
            f"All remaining negative ({undecided})",
            key="remaining",
            shortcut="shift+n",
            type="primary",
            disabled=not undecided,
            on_click=_remaining,
            args=(expression_id, author),
            help="Every image without a human decision becomes a certified negative (one undoable action).",
        )
        st.button(
            "Undo" + (f": {last.label}" if last else ""),
            key="undo",
            shortcut="u",
            disabled=last is None,
            on_click=_undo,
            args=(expression_id, author),
        )
        st.caption(
            "Grid: click to select, Shift+click a range · **A** accept · **N** negative · "
            "**S** select all · **Shift+N** all remaining negative · **U** undo · **E** edit"
        )
