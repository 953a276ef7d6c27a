"""The live list of background jobs: a fragment that polls the runner, so pages never block."""

from __future__ import annotations

import streamlit as st

from labeler.accounts import PERMISSIONS
from pipelines.services.jobs import JobState
from ui import resources, state
from ui.plain import md

_ICONS = {
    JobState.QUEUED: "⏳",
    JobState.RUNNING: "⚙️",
    JobState.DONE: "✅",
    JobState.FAILED: "❌",
    JobState.CANCELLED: "⏹",
}


@st.fragment(run_every="1s")
def jobs_panel(limit: int = 8) -> None:
    runner = resources.job_runner()
    # Each user sees the jobs they started; admins (and local single-user mode) see every job.
    see_all = state.role() in PERMISSIONS["see_all_jobs"]
    jobs = runner.jobs(owner=None if see_all else state.annotator())[:limit]
    if not jobs:
        st.caption("No background jobs yet.")
        return
    for job in jobs:
        with st.container(border=True, key=f"job-{job.id}"):
            # Job names hold user text (paths, group names): shown as text, never Markdown.
            st.text(f"{_ICONS[job.state]} {job.name} · {job.state.value} · {job.elapsed_s:.1f} s")
            if job.state is JobState.RUNNING or job.state is JobState.QUEUED:
                st.progress(job.fraction, text=job.message or None)
                st.button("Cancel", key=f"cancel-{job.id}", on_click=runner.cancel, args=(job.id,))
            elif job.state is JobState.FAILED:
                st.error(md(job.error))
                with st.expander("details"):
                    st.code(job.details or "")
            else:
                summary = job.result.summary() if hasattr(job.result, "summary") else job.result
                st.text(str(summary if isinstance(summary, str) else job.message))
