"""The live list of background jobs: a fragment that polls the job records, so pages never block.

The records are the project's (every app process and worker writes them), so a job started on
another replica, or running on a GPU worker, shows here too.
"""

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


def visible_jobs(jobs: list, name: str | None, role: str | None) -> list:
    """The jobs ``name`` may see: their own; every job for admins (and in local single-user mode,
    where everyone is admin)."""
    if role in PERMISSIONS["see_all_jobs"]:
        return list(jobs)
    return [j for j in jobs if name and j.author == name]


@st.fragment(run_every="1s")
def jobs_panel(limit: int = 8) -> None:
    runner = resources.job_runner()
    jobs = visible_jobs(runner.jobs(), state.annotator(), state.role())[:limit]
    if not jobs:
        st.caption("No background jobs yet.")
        return
    for job in jobs:
        with st.container(border=True, key=f"job-{job.id}"):
            # Job names and authors are user text (paths, group names): shown as text, not Markdown.
            who = f" · {job.author}" if job.author else ""
            st.text(
                f"{_ICONS[job.state]} {job.name} · {job.state.value} · {job.elapsed_s:.1f} s{who}"
            )
            if job.state is JobState.RUNNING or job.state is JobState.QUEUED:
                st.progress(job.fraction, text=job.message or None)
                st.button("Cancel", key=f"cancel-{job.id}", on_click=runner.cancel, args=(job.id,))
            elif job.state is JobState.FAILED:
                st.error(md(job.error))
                with st.expander("details"):
                    st.code(job.details or "")
            else:
                st.text(job.summary)
