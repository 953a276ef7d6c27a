"""Group sweep: every image of a group for one expression, decided in bulk.

The grid is one component (:mod:`ui.components.tile_grid`) inside a fragment with the toolbar and
the completeness bar, so an action reruns only that part. Every action is one undoable batch in
the audit log; what it does to the store is :mod:`labeler.annotate` (see :func:`apply_grid_event`).
The order shown is held while the expression is open (:mod:`labeler.sweep_order`): a decision
never moves a tile; "Re-sort" (O) applies the order again. Space opens a large preview.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from labeler import annotate
from labeler.domain import DecisionStatus
from labeler.errors import NotFound
from labeler.store import Store
from labeler.sweep_order import held_order
from ui import assist, common, resources, state, teamwork
from ui.components import tile_grid
from ui.plain import md

COLUMNS = 5
ORDER_LABELS = {"score": "presence score", "undecided": "undecided first", "image": "image id"}
_OPEN = "grd_sweep_open"
_SEQ = "grd_sweep_seq"
_HELD = "grd_sweep_held"  # "<expression>:<order>:<filter>" -> the image ids shown, in order
_PREVIEW = "grd_sweep_preview"


def grid_key(expression_id: int) -> str:
    return f"grid-{expression_id}"


def render() -> None:
    project = common.require_project()
    teamwork.focus_assigned_work(project)
    cols = st.columns([3, 4, 2, 2, 2])
    picked = common.pick_group_and_expression(project, cols, "sweep")
    if picked is None:
        return
    group, expr = picked
    order_by = cols[2].selectbox(
        "Order", annotate.SORT_ORDERS, format_func=ORDER_LABELS.get, key="sweep_order"
    )
    show = cols[3].selectbox("Show", annotate.FILTERS, key="sweep_show")
    size = cols[4].selectbox(
        "Tile size", list(resources.TILE_SIZES), index=1, key="sweep_tile_size"
    )
    _sweep(expr.id, group.id, order_by, show, state.annotator(), size)


# ---- actions: plain functions, then what the session remembers of them ---------------------------
def apply_grid_event(
    store: Store, expression_id: int, event: tile_grid.GridEvent, *, author: str
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
    if event.kind == "preview":
        st.session_state[_PREVIEW] = (expression_id, event.image_ids[0])
        return
    if event.kind == "open":
        _open_in_editor(expression_id, event.image_ids[0])
        return
    outcome = apply_grid_event(resources.project().store, expression_id, event, author=author)
    if outcome is not None and outcome.count:
        assist.after_confirmation(expression_id)  # propagated proposals, in the background
    _report(
        expression_id,
        outcome,
        "Accepted proposals" if event.action == "accept" else "Confirmed negative",
    )


def _remaining(expression_id: int, author: str, only: dict[int, int] | None = None) -> None:
    """Every undecided image negative; with ``only`` (image id -> revision seen), just those."""
    store = resources.project().store
    if only is not None:
        outcome = annotate.negative_selected(store, expression_id, only, author=author)
    else:
        outcome = annotate.confirm_remaining_negative(store, expression_id, author=author)
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
def _held_key(expression_id: int, order_by: str, show: str) -> str:
    return f"{expression_id}:{order_by}:{show}"


def _resort(key: str) -> None:
    st.session_state.get(_HELD, {}).pop(key, None)


def _margins(store: Store, decisions) -> dict[str | None, float]:
    """Model version -> the presence margin its scores are read against."""
    margins: dict[str | None, float] = {None: annotate.DEFAULT_PRESENCE_MARGIN}
    for version in {d.model_version for d in decisions.values() if d.model_version}:
        try:
            margins[version] = annotate.presence_margin(store.get_model(version).config)
        except NotFound:
            margins[version] = annotate.DEFAULT_PRESENCE_MARGIN
    return margins


@st.fragment
def _sweep(
    expression_id: int, group_id: int, order_by: str, show: str, author: str, size: str
) -> None:
    store = resources.project().store
    images = {im.id: im for im in store.list_images(group_id)}
    # What the signed-in user may see: on their blind pairs, their own judgement (labeler/blind.py).
    decisions = store.decisions_for_expression(expression_id, list(images), viewer=author)
    blind = {p.image_id for p in store.blind_pairs(expression_id, second=author)} if author else ()
    _completeness(store, expression_id, group_id, decisions if blind else None)
    if blind:
        st.caption(
            f"{len(blind)} of these images are your **blind** pairs: you judge them without seeing "
            "the other annotator's decision (and they do not see yours)."
        )
    held = st.session_state.setdefault(_HELD, {})
    key = _held_key(expression_id, order_by, show)
    shown = held[key] = held_order(held.get(key), decisions, order_by, show)
    first_open = next((i for i in shown if not decisions[i].is_human), None)
    only = None
    if blind and expression_id not in teamwork.assigned(resources.project()):
        # A blind second annotator's "all remaining" covers their blind pairs, not the decisions
        # of the pairs another annotator was assigned.
        only = {i: d.revision for i, d in decisions.items() if i in blind and not d.is_human}
    undecided = len(only) if only is not None else sum(not d.is_human for d in decisions.values())
    _toolbar(expression_id, undecided, first_open, author, key, only)
    common.show_flashes()
    margins = _margins(store, decisions)
    if any(d.status is DecisionStatus.PROPOSED for d in decisions.values()):
        st.caption(
            "**Model scores**: "
            + annotate.score_help(None, margins[None])
            + " Hover a badge for its own line."
        )
    if not shown:
        st.info("No image matches this filter.")
    box, columns = resources.TILE_SIZES[size]
    tiles, cache, project = [], resources.renderings(), resources.project()
    for image_id in shown:
        d = decisions[image_id]
        badge = annotate.decision_badge(d, margins.get(d.model_version, margins[None]))
        tiles.append(
            tile_grid.Tile(
                image_id,
                resources.tile_jpeg(
                    str(project.image_path(images[image_id])), d, cache, box, viewer=author
                ),
                badge.kind,
                ("blind · " if image_id in blind else "") + badge.label,
                proposed=d.status is DecisionStatus.PROPOSED,
                negative=d.status is DecisionStatus.NEGATIVE,
                revision=d.revision,
                help=badge.help,
            )
        )
    tile_grid.tile_grid(
        key=grid_key(expression_id),
        tiles=tiles,
        seq=st.session_state.get(_SEQ, ""),
        columns=columns,
        on_event=lambda: _on_grid_event(expression_id, author),
    )
    preview = st.session_state.pop(_PREVIEW, None)
    if preview is not None and preview[0] == expression_id and preview[1] in images:
        d = decisions[preview[1]]
        _preview(
            expression_id,
            images[preview[1]],
            d,
            annotate.decision_badge(d, margins.get(d.model_version, margins[None])),
            author,
        )
    if st.session_state.pop(_OPEN, False):
        from ui.navigation import go

        go("editor")


@st.dialog("Preview", width="large")
def _preview(expression_id: int, image, decision, badge, viewer: str | None = None) -> None:
    """The large preview (Space on a tile): the image as large as the dialog allows, the
    proposal's (or the decision's) masks outlined; Esc closes it."""
    path = str(resources.project().image_path(image))
    name = image.meta.get("original_name") or image.file
    st.markdown(
        f":{badge.color}-badge[{badge.label}] · {name} · {image.width} x {image.height} px",
        help=badge.help or None,
    )
    st.image(resources.large_preview_jpeg(path, decision, viewer=viewer), width="content")
    st.button(
        "Open in the editor",
        key="preview_open",
        icon=":material/brush:",
        on_click=_open_in_editor,
        args=(expression_id, image.id),
    )


def _completeness(store: Store, expression_id: int, group_id: int, decisions=None) -> None:
    """The expression's progress bar; counted from ``decisions`` (a blind viewer's view) if given."""
    p = next(
        (p for p in store.expression_progress(group_id) if p.expression_id == expression_id), None
    )
    if p is None:
        return
    if decisions is not None:
        p = _progress_of(p, decisions)  # the stored counts would tell what the view hides
    text = (
        f"**{p.decided} / {p.total} decided** · {p.positive} positive · {p.negative} negative · "
        f"{p.proposed} proposed · {p.unseen} unseen"
    )
    st.progress(p.fraction, text=text + (" · :green-badge[complete]" if p.complete else ""))


def _progress_of(p, decisions):
    """``p`` with its counts taken from the decisions as this viewer sees them."""
    statuses = [d.status for d in decisions.values()]
    return replace(
        p,
        total=len(statuses),
        positive=statuses.count(DecisionStatus.POSITIVE),
        negative=statuses.count(DecisionStatus.NEGATIVE),
        proposed=statuses.count(DecisionStatus.PROPOSED),
    )


def _open_in_editor(expression_id: int, image_id: int) -> None:
    state.focus(expression=expression_id, image=image_id)
    st.session_state[_OPEN] = True


def _toolbar(
    expression_id: int,
    undecided: int,
    first_open: int | None,
    author: str,
    held_key: str,
    only: dict[int, int] | None = None,
) -> None:
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
            args=(expression_id, author, only),
            help=(
                "Every image without a human decision becomes a certified negative (one undoable action)."
                if only is None
                else "Each of your blind pairs you have not judged yet becomes your negative (one "
                "undoable action); the other images are left as they are."
            ),
        )
        st.button(
            "Undo" + (f": {last.label}" if last else ""),
            key="undo",
            shortcut="u",
            disabled=last is None,
            on_click=_undo,
            args=(expression_id, author),
        )
        st.button(
            "Re-sort",
            key="resort",
            shortcut="o",
            icon=":material/sort:",
            on_click=_resort,
            args=(held_key,),
            help="The order stays put while you decide; this applies the chosen order again.",
        )
        st.caption(
            "Grid: click to select, Shift+click a range · **A** accept · **N** negative · "
            "**S** select all · **Space** preview · **Shift+N** all remaining negative · "
            "**U** undo · **E** edit · **O** re-sort"
        )
