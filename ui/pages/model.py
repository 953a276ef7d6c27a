"""Model: start pre-labeling, a feedback round or embedding as background jobs; watch progress."""

from __future__ import annotations

import streamlit as st

from pipelines.loop.prelabel import refine_default
from pipelines.services.model_jobs import offers
from ui import common, resources, state
from ui.jobs_panel import jobs_panel


def render() -> None:
    project = common.require_project()
    st.title("Model")
    common.show_flashes()
    settings = project.settings
    sam = settings.sam_checkpoint or "none: the weight-free fallback segmenter is used"
    st.caption(f"SAM checkpoint: {sam}")
    group = common.pick_group(project, "model_group")
    scope = st.radio("Scope", ["this group", "all groups"], horizontal=True, key="model_scope")
    group_id = group.id if group is not None and scope == "this group" else None
    refine = st.checkbox(
        "Snap proposed masks to image edges with the click segmenter",
        value=refine_default(project),
        key="model_refine",
        help="GRSer finds the objects; its masks are coarse (stride 4). The segmenter redraws "
        "each one along the image's edges, and the embeddings it computes are the editor's. "
        "Best with SAM: the weight-free segmenter helps on clean scenes, not on photos.",
    )
    runner = resources.job_runner()
    for offer in offers(project):
        with st.container(border=True, key=f"offer-{offer.key}"):
            st.markdown(f"**{offer.label}** — {offer.help}")
            if offer.unavailable:
                st.caption(f"Unavailable: {offer.unavailable}.")
            busy = bool(runner.active(offer.label))
            if st.button("Start", key=f"start-{offer.key}", disabled=offer.fn is None or busy):
                runner.submit_as(
                    state.annotator(),
                    offer.label,
                    offer.fn,
                    project,
                    group_id=group_id,
                    refine=refine,
                    actor=state.annotator(),  # the job checks the role (admins)
                )
    st.subheader("Jobs")
    jobs_panel()
