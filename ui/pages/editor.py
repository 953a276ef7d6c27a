"""Image editor: one image, one expression; SAM clicks / box, brush, eraser, undo, confirm.

The canvas and its side panel are one fragment: a click reruns only them. The edit itself is
:class:`labeler.image_editor.ImageEditor` (kept per annotator in the session) and the canvas
input is applied by :func:`labeler.canvas_input.apply_event`.
"""

from __future__ import annotations

import streamlit as st

from labeler import annotate
from labeler import render as draw
from labeler.canvas_input import apply_event
from labeler.geometry import Frames, upscaled_size
from labeler.image_editor import ImageEditor
from labeler.navigation import ImageOrder
from labeler.store import Store
from pipelines.click_models.prefetch import CLICKS
from ui import assist, common, prefetch, resources, state
from ui.components import mask_canvas
from ui.components.media import media_url
from ui.plain import md

CANVAS_KEY = "editor_canvas"
CANVAS_MAX = (640, 900)  # (height, width) in screen pixels
_SEQ = "grd_canvas_seq"
_OVERLAY = "grd_canvas_overlay"
TOOL_LABELS = {"point": "Point", "box": "Box", "brush": "Brush", "erase": "Eraser"}


def canvas_size(height: int, width: int) -> tuple[int, int]:
    """Canvas ``(H, W)``: the image fitted into :data:`CANVAS_MAX`; small ones enlarged by a whole
    factor, drawn with nearest-neighbour pixels (``labeler.geometry.upscaled_size``)."""
    return upscaled_size((height, width), CANVAS_MAX)


def frames_for(image) -> Frames:
    return Frames.for_image(
        (image.height, image.width), canvas=canvas_size(image.height, image.width)
    )


def open_editor(store: Store, expression_id: int, image) -> ImageEditor:
    """The session's editor of this pair (unsaved work kept), following newer saves when clean."""
    ed = state.editor(expression_id, image.id)
    # The signed-in user's view: on a blind pair of theirs, their own judgement (labeler/blind.py).
    current = store.get_decision(expression_id, image.id, viewer=state.annotator())
    if ed is None:
        ed = ImageEditor(current, image.height, image.width)
    else:
        ed.reload_if_stale(current)
    state.keep_editor(ed)
    return ed


def render() -> None:
    project = common.require_project()
    store = project.store
    cols = st.columns([3, 4, 3])
    picked = common.pick_group_and_expression(project, cols, "editor")
    if picked is None:
        return
    group, expr = picked
    images = {im.id: im for im in store.list_images(group.id)}
    if not images:
        st.info("This group has no images.")
        return
    decisions = store.decisions_for_expression(expr.id, list(images), viewer=state.annotator())
    order = _image_order(group.id, expr.id, decisions)
    image_id = state.image_id() if state.image_id() in order else order.ids[0]
    state.focus(image=image_id)
    with cols[2]:
        undecided = {i for i, d in decisions.items() if not d.is_human}
        _navigation(order, image_id, undecided)
    common.show_flashes()
    image = images[image_id]
    if not _click_model_line():
        return
    open_editor(store, expr.id, image)
    _unsaved_elsewhere(expr.id, image_id)
    with cols[2]:
        job = prefetch.prefetch_group(group, [images[i] for i in order.ids], image_id)
        prefetch.progress_line(job)
    resources.embedding(image)  # computed once per image (spinner), cached in memory and on disk
    _workspace(expr.id, image)


def _image_order(group_id: int, expression_id: int, decisions) -> ImageOrder:
    """The order taken when this (group, expression) was first opened in the session (best
    proposals first), kept after: a decision never moves an image (``labeler.navigation``)."""
    order = ImageOrder.held(state.image_order(group_id, expression_id), decisions)
    state.keep_image_order(group_id, expression_id, order)
    return order


def _navigation(order: ImageOrder, image_id: int, undecided: set[int]) -> None:
    left = len(undecided - {image_id})
    st.markdown(
        f"Image **{order.position(image_id)} / {len(order)}** (id {image_id}) · {left} other(s) undecided"
    )
    buttons = [
        ("Previous", ":material/arrow_back:", "prev_image", "left", order.previous(image_id)),
        ("Next", ":material/arrow_forward:", "next_image", "right", order.next(image_id)),
        (
            "Next undecided",
            ":material/skip_next:",
            "next_undecided",
            "n",
            order.next_undecided(image_id, undecided),
        ),
    ]
    with st.container(horizontal=True):
        for label, icon, key, shortcut, target in buttons:
            if st.button(label, icon=icon, key=key, shortcut=shortcut, disabled=target is None):
                state.focus(image=target)
                st.rerun()


def _click_model_line() -> bool:
    """Say which model the clicks run on (plainly when it is the fallback); False when the
    configured one cannot be had (the message says how to fix it)."""
    from pipelines.click_models.weights import WeightsError

    try:
        model = resources.click_model()
    except (WeightsError, FileNotFoundError) as exc:
        st.error(
            f"The click model cannot be loaded: {exc}. To click without it, set `segmenter` to "
            "`classic` in project.json or start the app with `grd ui DIR --segmenter classic`."
        )
        return False
    if model.is_fallback:
        st.caption(f":orange[Clicks: **{model.label}**. Masks follow image edges only.]")
    else:
        st.caption(f"Clicks: **{model.label}**")
    return True


def _unsaved_elsewhere(expression_id: int, image_id: int) -> None:
    """Edits kept in this session but not confirmed, on other images: one click back to each."""
    pending = [
        key for key, ed in state.editors().items() if ed.dirty and key != (expression_id, image_id)
    ]
    if not pending:
        return
    with st.container(horizontal=True, vertical_alignment="center", key="unsaved_elsewhere"):
        st.caption(f":orange[Unsaved edits on {len(pending)} other image(s):]")
        for expr_id, img_id in pending:
            if st.button(f"image {img_id}", key=f"goto-{expr_id}-{img_id}", type="tertiary"):
                state.focus(expression=expr_id, image=img_id)
                st.rerun()


# ---- the canvas and its panel (one fragment) -----------------------------------------------------
def _on_canvas_event(expression_id: int, image) -> None:
    event = mask_canvas.read_event(CANVAS_KEY)
    ed = state.editor(expression_id, image.id)
    if event is None or ed is None:
        return
    CLICKS.touch()  # the group's background embeddings wait for a lull
    apply_event(ed, frames_for(image), event, resources.segmenter(), resources.embedding(image))
    st.session_state[_SEQ] = event.id


def _overlay_url(ed: ImageEditor, frames: Frames) -> str | None:
    """The overlay PNG, re-encoded only when the masks or the active instance changed."""
    key = (id(ed), ed.session.revision, ed.active)
    memo = st.session_state.get(_OVERLAY)
    if memo and memo[0] == key:
        return memo[1]
    png = draw.canvas_overlay(ed.instances, frames.original_to_canvas, ed.active)
    url = draw.data_url(png, "image/png") if png else None
    st.session_state[_OVERLAY] = (key, url)
    return url


@st.fragment
def _workspace(expression_id: int, image) -> None:
    ed = state.editor(expression_id, image.id)
    if ed is None:
        st.rerun()
    frames = frames_for(image)
    left, right = st.columns([3, 1.3])
    with right:
        tool = (
            st.segmented_control(
                "Tool",
                mask_canvas.TOOLS,
                format_func=TOOL_LABELS.get,
                default="point",
                key="editor_tool",
            )
            or "point"
        )
        negative = st.toggle(
            "Negative clicks",
            key="editor_negative",
            help="Left clicks remove instead of add (right-click or Shift+click always removes).",
        )
        radius = st.slider("Brush size", 2, 60, 12, key="editor_radius")
        _instances(ed)
        _actions(ed)
    with left:
        to_canvas = frames.original_to_canvas
        points = [
            (*to_canvas.point(x, y), label)
            for (x, y), label in zip(ed.prompts.points, ed.prompts.labels)
        ]
        mask_canvas.mask_canvas(
            key=CANVAS_KEY,
            image_url=media_url(
                *resources.canvas_picture(
                    str(resources.project().image_path(image)), frames.canvas_size
                ),
                f"{CANVAS_KEY}.image",
            ),
            image_key=f"{image.id}-{frames.canvas_size}",
            size=frames.canvas_size,
            overlay_url=_overlay_url(ed, frames),
            points=points,
            box=to_canvas.box(ed.prompts.box) if ed.prompts.box else None,
            tool=tool,
            negative=negative,
            brush_radius=radius,
            seq=st.session_state.get(_SEQ, ""),
            on_event=lambda: _on_canvas_event(expression_id, image),
        )
        st.caption(
            "Left click: add · right click / Shift+click: remove · drag: box · wheel: zoom · "
            "Space+drag / middle drag: pan · **0** whole image · **O** new object · **Z** undo · "
            "**Y** redo · **Enter** confirm · **X** not in image · ←/→ image · **N** next undecided"
        )
    if ed.conflict is not None:
        _conflict(ed, image)


def _instances(ed: ImageEditor) -> None:
    badge = annotate.decision_badge(ed.base)
    st.markdown(
        f"Saved: :{badge.color}-badge[{badge.label}] (rev. {ed.base_revision})"
        + (" · :orange[**unsaved changes**]" if ed.dirty else ""),
        help=badge.help or None,  # what a proposal's score means
    )
    st.markdown(f"**Objects ({len(ed.instances)})**")
    for k, mask in enumerate(ed.instances):
        r, g, b = draw.instance_color(k)
        active = k == ed.active
        with st.container(horizontal=True, vertical_alignment="center", key=f"inst-{k}"):
            st.markdown(
                f"<span style='color: rgb({r},{g},{b})'>■</span> "
                f"{'**' if active else ''}object {k + 1}{'**' if active else ''} · {int(mask.sum())} px",
                unsafe_allow_html=True,
            )
            if not active:
                st.button("edit", key=f"select-{k}", on_click=ed.select, args=(k,))
            st.button(
                "",
                icon=":material/delete:",
                key=f"delete-{k}",
                on_click=ed.delete,
                args=(k,),
                help="delete this object",
            )
    if len(ed.instances) > 1:
        st.button(
            "Delete all",
            icon=":material/delete_sweep:",
            key="delete_all",
            on_click=ed.delete_all,
            help="a proposal that is all wrong: remove every object at once (undo brings them back)",
        )
    if ed.active is None:
        st.caption("The next click, box or brush stroke starts a new object.")


def _confirm(ed: ImageEditor, negative: bool) -> None:
    store, author = resources.project().store, state.annotator()
    saved = ed.mark_negative(store, author=author) if negative else ed.confirm(store, author=author)
    if saved is not None:
        state.flash(f"Saved as {saved.status.value} (revision {saved.revision}).")
        assist.after_confirmation(saved.expression_id)  # propagated proposals, in the background


def _actions(ed: ImageEditor) -> None:
    with st.container(horizontal=True):
        st.button(
            "New object",
            icon=":material/add:",
            key="new_object",
            shortcut="o",
            on_click=ed.new_object,
        )
        st.button("Undo", key="undo_edit", shortcut="z", disabled=not ed.can_undo, on_click=ed.undo)
        st.button("Redo", key="redo_edit", shortcut="y", disabled=not ed.can_redo, on_click=ed.redo)
    with st.container(horizontal=True):
        st.button(
            "Confirm",
            key="confirm",  # Enter: the canvas's key handler presses it, wherever the focus is
            type="primary",
            on_click=_confirm,
            args=(ed, False),
            help="Save these objects (none: a certified negative).",
        )
        st.button(
            "Not in this image",
            key="mark_negative",
            shortcut="x",
            on_click=_confirm,
            args=(ed, True),
        )
    for kind, message in state.pop_flashes():
        (st.success if kind == "success" else st.warning)(message)


def _conflict(ed: ImageEditor, image) -> None:
    c = ed.conflict
    theirs = c.theirs
    with st.container(border=True, key="conflict"):
        st.error(
            f"{md(theirs.author or 'Someone')} saved this image (revision {theirs.revision}) after you "
            f"opened revision {c.based_on}. Nothing was overwritten: choose which version to keep."
        )
        a, b = st.columns(2)
        with a:
            badge = annotate.decision_badge(theirs)
            st.markdown(f"**Theirs** ({md(theirs.author)}): :{badge.color}-badge[{badge.label}]")
            st.image(
                resources.preview_jpeg(image, [i.rle for i in theirs.instances]), width="stretch"
            )
            st.button("Take theirs", key="take_theirs", on_click=ed.take_theirs)
        with b:
            st.markdown(
                f"**Yours** ({md(state.annotator())}): {c.mine_status.value}, {len(c.mine)} object(s)"
            )
            st.image(resources.preview_jpeg(image, list(c.mine)), width="stretch")
            st.button("Keep mine", key="keep_mine", type="primary", on_click=_keep_mine, args=(ed,))


def _keep_mine(ed: ImageEditor) -> None:
    saved = ed.keep_mine(resources.project().store, author=state.annotator())
    if saved is not None:
        state.flash(f"Your version is saved (revision {saved.revision}).")
