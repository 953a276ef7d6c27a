"""The live list of background jobs: a fragment that polls the job records, so pages never block.

The records are the project's (every app process and worker writes them), so a job started on
another replica, or running on a GPU worker, shows here too.
"""

from __future__ import annotations

import streamlit as st

from pipelines.services.jobs import JobState
from ui import resources

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
    jobs = runner.jobs()[:limit]
    if not jobs:
        st.caption("No background jobs yet.")
        return
    for job in jobs:
        with st.container(border=True, key=f"job-{job.id}"):
            who = f" · {job.author}" if job.author else ""
            head = (
                f"{_ICONS[job.state]} **{job.name}** · {job.state.value} · "
                f"{job.elapsed_s:.1f} s{who}"
            )
            st.markdown(head)
            if job.state is JobState.RUNNING or job.state is JobState.QUEUED:
                st.progress(job.fraction, text=job.message or None)
                st.button("Cancel", key=f"cancel-{job.id}", on_click=runner.cancel, args=(job.id,))
            elif job.state is JobState.FAILED:
                st.error(job.error)
                with st.expander("details"):
                    st.code(job.details or "")
            else:
                st.caption(job.summary)
