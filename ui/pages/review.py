"""Review: a reviewer goes through an expression's decided pairs and accepts or rejects each one
(a rejection needs a reason and sends the pair back to its annotator's queue).

Thin: ``store.review`` authorizes the reviewer and writes the verdict and the audit entry; this
page lists the pairs waiting for a verdict and dispatches the buttons. User text is plain text.
"""

from __future__ import annotations

import streamlit as st

from labeler.errors import LabelerError
from ui import common, resources, state
from ui.plain import md

_VIEWERS = ("admin", "reviewer")
_COLUMNS = 3
_THUMB = (240, 320)


def waiting(store, expression_id: int) -> list:
    """The expression's person-made decisions no verdict stands on (none yet, or an older
    revision's), in image order."""
    reviews = store.latest_reviews(expression_id)
    return [
        d
        for d in store.decisions_for_expression(expression_id).values()
        if d.is_human
        and (
            (d.expression_id, d.image_id) not in reviews
            or reviews[(d.expression_id, d.image_id)].revision != d.revision
        )
    ]


def _verdict(expression_id: int, image_id: int, verdict: str, reason_key: str) -> None:
    """Button callback: record the verdict; a refusal (role, empty reason) is flashed as one line."""
    store = resources.project().store
    reason = st.session_state.get(reason_key, "")
    try:
        store.review(expression_id, image_id, verdict, reviewer=state.annotator(), reason=reason)
    except LabelerError as e:
        state.flash(md(e), "error")
        return
    state.flash(f"Image {image_id}: {verdict}.")


def _pair(store, decision) -> None:
    eid, iid = decision.expression_id, decision.image_id
    image = store.get_image(iid)
    path = str(resources.project().image_path(image))
    st.image(resources.large_preview_jpeg(path, decision, _THUMB), width="stretch")
    st.text(f"image {iid}: {decision.status.value}, by {decision.author or 'unknown'}")
    reason_key = f"review_reason_{eid}_{iid}"
    st.text_input("Reason (needed to reject)", key=reason_key, max_chars=500)
    accept, reject = st.columns(2)
    accept.button(
        "Accept",
        key=f"accept_{eid}_{iid}",
        on_click=_verdict,
        args=(eid, iid, "accepted", reason_key),
    )
    reject.button(
        "Reject",
        key=f"reject_{eid}_{iid}",
        on_click=_verdict,
        args=(eid, iid, "rejected", reason_key),
    )


def _first(store, decision) -> None:
    """The first waiting pair, large, keyboard first: A accepts, X rejects (R is Streamlit's
    rerun). Type the reason, then leave the field (shortcuts do not fire while typing); the next
    pair then takes its place."""
    eid, iid = decision.expression_id, decision.image_id
    path = str(resources.project().image_path(store.get_image(iid)))
    picture, controls = st.columns([3, 2])
    picture.image(resources.large_preview_jpeg(path, decision), width="content")
    with controls:
        st.text(f"image {iid}: {decision.status.value}, by {decision.author or 'unknown'}")
        st.text_input("Reason (needed to reject)", key="review_reason_first", max_chars=500)
        st.button(
            "Accept",
            key="accept_first",
            shortcut="a",
            type="primary",
            on_click=_verdict,
            args=(eid, iid, "accepted", "review_reason_first"),
        )
        st.button(
            "Reject",
            key="reject_first",
            shortcut="x",
            on_click=_verdict,
            args=(eid, iid, "rejected", "review_reason_first"),
        )


def render() -> None:
    st.title("Review")
    store = resources.project().store
    if store.has_users() and state.role() not in _VIEWERS:
        st.info("Review is for reviewers and admins.")
        return
    common.show_flashes()
    pending = {e.id: waiting(store, e.id) for e in store.list_expressions()}
    pending = {eid: pairs for eid, pairs in pending.items() if pairs}
    if not pending:
        st.info("Nothing waits for review: every decided pair has a standing verdict.")
        return
    texts = {eid: store.get_expression(eid).text for eid in pending}
    expression_id = st.selectbox(
        "Expression",
        list(pending),
        format_func=lambda eid: f"{texts[eid]} ({len(pending[eid])} waiting)",
        key="review_expression",
    )
    pairs = pending[expression_id]
    st.text(f"{len(pairs)} decided pairs of “{texts[expression_id]}” wait for a verdict.")
    _first(store, pairs[0])
    rest = pairs[1:]
    if rest:
        st.subheader("The others")
    for start in range(0, len(rest), _COLUMNS):
        for column, decision in zip(st.columns(_COLUMNS), rest[start : start + _COLUMNS]):
            with column, st.container(border=True):
                _pair(store, decision)
