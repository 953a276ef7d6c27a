"""Group sweep: every image of a group for one expression, decided in bulk.

Each tile is its own fragment, so selecting or deciding one image reruns only that tile. Bulk
actions are one undoable batch each (recorded in the audit log). What an action does to the store
lives in :mod:`labeler.annotate`; this page only wires buttons to it.
"""

from __future__ import annotations

import streamlit as st

from labeler import annotate
from labeler.domain import DecisionStatus, ExpressionDecision
from ui import common, resources, state

COLUMNS = 5
ORDER_LABELS = {"score": "presence score", "undecided": "undecided first", "image": "image id"}
_TILE_OVERRIDES = "grd_tile_decisions"


def sel_key(expression_id: int, image_id: int) -> str:
    return f"sel-{expression_id}-{image_id}"


def render() -> None:
    project = common.require_project()
    store, author = project.store, state.annotator()
    cols = st.columns([3, 4, 2, 2])
    with cols[0]:
        group = common.pick_group(project, "sweep_group")
    if group is None:
        return
    with cols[1]:
        expr = common.pick_expression(project, group, "sweep_expression")
    if expr is None:
        return
    order_by = cols[2].selectbox("Order", annotate.SORT_ORDERS, format_func=ORDER_LABELS.get,
                                 key="sweep_order")
    show = cols[3].selectbox("Show", annotate.FILTERS, key="sweep_show")
    common.show_flashes()
    _completeness(expr.id, group.id)
    images = {im.id: im for im in store.list_images(group.id)}
    decisions = store.decisions_for_expression(expr.id, list(images))
    st.session_state[_TILE_OVERRIDES] = {}  # a full run reads everything fresh
    shown = [i for i in annotate.grid_order(decisions, order_by) if annotate.matches(decisions[i], show)]
    _toolbar(expr.id, decisions, shown, author)
    if not shown:
        st.info("No image matches this filter.")
    for row in range(0, len(shown), COLUMNS):
        for col, image_id in zip(st.columns(COLUMNS), shown[row: row + COLUMNS]):
            with col:
                _tile(expr.id, images[image_id], decisions[image_id], author)


# ---- completeness ---------------------------------------------------------------------------------
@st.fragment(run_every="3s")
def _completeness(expression_id: int, group_id: int) -> None:
    """Refreshes by itself, so decisions made in tiles (or by others) show up without a full run."""
    progress = resources.project().store.expression_progress(group_id)
    p = next((p for p in progress if p.expression_id == expression_id), None)
    if p is None:
        return
    text = (f"**{p.decided} / {p.total} decided** · {p.positive} positive · {p.negative} negative · "
            f"{p.proposed} proposed · {p.unseen} unseen")
    st.progress(p.fraction, text=text + (" · :green-badge[complete]" if p.complete else ""))


# ---- bulk actions ---------------------------------------------------------------------------------
def _seen(expression_id: int, image_id: int, page: dict[int, ExpressionDecision]) -> ExpressionDecision:
    """The newest decision this session has seen for a tile (a tile may have changed it since)."""
    tile = st.session_state.get(_TILE_OVERRIDES, {}).get((expression_id, image_id))
    base = page[image_id]
    return tile if tile is not None and tile.revision >= base.revision else base


def _selected(expression_id: int, ids: list[int]) -> list[int]:
    return [i for i in ids if st.session_state.get(sel_key(expression_id, i))]


def _set_selection(expression_id: int, ids: list[int], value: bool) -> None:
    for i in ids:
        st.session_state[sel_key(expression_id, i)] = value


def _report(expression_id: int, outcome: annotate.BatchOutcome, what: str) -> None:
    state.push_batch(expression_id, outcome.batch_id, f"{what} ({outcome.count})")
    if outcome.count:
        state.flash(f"{what}: {outcome.count} image{'s' * (outcome.count != 1)}.")
    if outcome.conflicts:
        who = ", ".join(sorted({c.author or "someone" for c in outcome.conflicts}))
        state.flash(f"{len(outcome.conflicts)} image(s) were changed meanwhile by {who} and were left "
                    "as they are; the grid now shows their version.", "warning")
    if not outcome.count and not outcome.conflicts:
        state.flash(f"{what}: nothing to do.", "info")


def _accept(expression_id: int, ids: list[int], author: str) -> None:
    chosen = _selected(expression_id, ids)
    outcome = annotate.accept_selected(resources.project().store, expression_id, chosen, author=author)
    _set_selection(expression_id, chosen, False)
    _report(expression_id, outcome, "Accepted proposals")


def _negative(expression_id: int, ids: list[int], page: dict, author: str) -> None:
    chosen = _selected(expression_id, ids)
    seen = {i: _seen(expression_id, i, page) for i in chosen}
    outcome = annotate.negative_selected(resources.project().store, expression_id, seen, author=author)
    _set_selection(expression_id, chosen, False)
    _report(expression_id, outcome, "Confirmed negative")


def _remaining(expression_id: int, author: str) -> None:
    outcome = annotate.confirm_remaining_negative(resources.project().store, expression_id, author=author)
    _report(expression_id, outcome, "Confirmed all remaining as negative")


def _undo(expression_id: int, author: str) -> None:
    record = state.last_batch(expression_id)
    if record is None:
        state.flash("Nothing of yours to undo for this expression in this session.", "info")
        return
    outcome = annotate.undo_action(resources.project().store, expression_id, record.batch_id, author=author)
    state.pop_batch(record)
    state.flash(f"Undone: {record.label}.")
    if outcome.conflicts:
        state.flash(f"{len(outcome.conflicts)} image(s) changed after that action and were kept.", "warning")


def _toolbar(expression_id: int, page: dict[int, ExpressionDecision], shown: list[int], author: str) -> None:
    n_selected = len(_selected(expression_id, shown))
    undecided = sum(not _seen(expression_id, i, page).is_human for i in page)
    last = state.last_batch(expression_id)
    with st.container(horizontal=True, vertical_alignment="center", key="sweep_toolbar"):
        st.button("Select all shown", key="select_all", on_click=_set_selection,
                  args=(expression_id, shown, True))
        st.button("Clear selection", key="select_none", on_click=_set_selection,
                  args=(expression_id, shown, False))
        st.button(f"Accept proposals ({n_selected})", key="accept", shortcut="a",
                  disabled=not n_selected, on_click=_accept, args=(expression_id, shown, author),
                  help="Selected images with a model proposal: masks become positive, 'absent' negative.")
        st.button(f"Negative ({n_selected})", key="negative", shortcut="n", disabled=not n_selected,
                  on_click=_negative, args=(expression_id, shown, page, author),
                  help="Certify that the expression's object is not in the selected images.")
        st.button(f"All remaining negative ({undecided})", key="remaining", shortcut="shift+n",
                  type="primary", disabled=not undecided, on_click=_remaining, args=(expression_id, author),
                  help="Every image without a human decision becomes a certified negative (one undoable action).")
        st.button("Undo" + (f": {last.label}" if last else ""), key="undo", shortcut="u",
                  disabled=last is None, on_click=_undo, args=(expression_id, author))
    st.caption("Shortcuts: **A** accept · **N** negative · **Shift+N** all remaining negative · **U** undo")


# ---- tiles ----------------------------------------------------------------------------------------
def _decide_tile(expression_id: int, image_id: int, action: str, seen: ExpressionDecision, author: str) -> None:
    store = resources.project().store
    if action == "accept":
        outcome = annotate.accept_selected(store, expression_id, [image_id], author=author)
    else:
        outcome = annotate.negative_selected(store, expression_id, {image_id: seen}, author=author)
    state.push_batch(expression_id, outcome.batch_id, f"{action} image {image_id}")
    st.session_state.setdefault(_TILE_OVERRIDES, {})[(expression_id, image_id)] = store.get_decision(
        expression_id, image_id)
    if outcome.conflicts:
        st.session_state[f"conflict-{expression_id}-{image_id}"] = outcome.conflicts[0].author


@st.fragment
def _tile(expression_id: int, image, page_decision: ExpressionDecision, author: str) -> None:
    decision = _seen(expression_id, image.id, {image.id: page_decision})
    badge = annotate.decision_badge(decision)
    with st.container(border=True, key=f"tile-{expression_id}-{image.id}"):
        st.image(resources.tile_jpeg(image, decision), width="stretch")
        st.markdown(f":{badge.color}-badge[{badge.label}] <span class='grd-badge' data-kind='{badge.kind}'></span>",
                    unsafe_allow_html=True)
        who = st.session_state.pop(f"conflict-{expression_id}-{image.id}", None)
        if who:
            st.warning(f"{who} changed this image meanwhile; showing their version.")
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            st.checkbox("select", key=sel_key(expression_id, image.id), label_visibility="collapsed")
            if decision.status is DecisionStatus.PROPOSED:
                st.button("✓", key=f"acc-{expression_id}-{image.id}", help="accept the proposal",
                          on_click=_decide_tile, args=(expression_id, image.id, "accept", decision, author))
            if decision.status is not DecisionStatus.NEGATIVE:
                st.button("✗", key=f"neg-{expression_id}-{image.id}", help="not in this image",
                          on_click=_decide_tile, args=(expression_id, image.id, "negative", decision, author))
            if st.button("✎", key=f"edit-{expression_id}-{image.id}", help="open in the editor"):
                state.focus(expression=expression_id, image=image.id)
                from ui.pages import go

                go("editor")
