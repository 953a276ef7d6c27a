"""Model: start pre-labeling, a feedback round or embedding as background jobs; watch progress."""

from __future__ import annotations

import streamlit as st

from labeler.errors import LabelerError
from pipelines.loop.prelabel import refine_default
from pipelines.services.model_jobs import offers
from ui import common, resources, state
from ui.jobs_panel import jobs_panel
from ui.plain import md


def render() -> None:
    project = common.require_project()
    st.title("Model")
    common.show_flashes()
    try:
        st.caption(f"Click model: {resources.click_model().label}")
    except Exception as exc:  # noqa: BLE001 - shown, not raised: the other jobs still run
        st.caption(f"Click model: cannot be loaded ({exc})")
    group = common.pick_group(project, "model_group")
    scope = st.radio("Scope", ["this group", "all groups"], horizontal=True, key="model_scope")
    group_id = group.id if group is not None and scope == "this group" else None
    refine = st.checkbox(
        "Snap proposed masks to image edges with the click segmenter",
        value=refine_default(project),
        key="model_refine",
        help="GRSer finds the objects; its masks are coarse (stride 4). The segmenter redraws "
        "each one along the image's edges, and the embeddings it computes are the editor's. "
        "Off by default: on photos it made found objects' masks worse with MobileSAM and "
        "with the weight-free segmenter (docs/editing.md); it helps on clean synthetic scenes.",
    )
    runner = resources.job_runner()
    for offer in offers(project):
        with st.container(border=True, key=f"offer-{offer.key}"):
            st.markdown(f"**{offer.label}** — {offer.help}")
            if offer.unavailable:
                st.caption(f"Unavailable: {offer.unavailable}.")
            busy = bool(runner.active(kind=offer.key))
            if st.button("Start", key=f"start-{offer.key}", disabled=not offer.available or busy):
                try:  # the runner checks the role (admins) before anything starts
                    runner.start(project, offer.params(group_id, refine), author=state.annotator())
                except LabelerError as exc:
                    st.error(md(exc))
    st.subheader("Jobs")
    jobs_panel()
