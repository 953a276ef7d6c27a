"""Opening a group starts its embeddings in the background, in sweep order, with progress.

One job per (group, click model) at a time, process-wide (two annotators opening the same group
share it), on a runner of its own so pre-labeling and training jobs never queue behind it. The
job shares the app's loaded segmenter and its embedding cache (``pipelines.click_models.prefetch``).
"""

from __future__ import annotations

import streamlit as st

from pipelines.click_models.prefetch import CLICKS, embed_images_job, missing, starting_at
from pipelines.services.jobs import BACKGROUND_NICE, JobRunner, JobState
from ui import resources

_STARTED = "grd_prefetch_jobs"  # (group id, model id) -> job id, per session


@st.cache_resource(show_spinner=False)
def _runner_for(path: str) -> JobRunner:
    # Always on this process's threads, never the Redis queue: the job shares the app's loaded
    # segmenter and its in-memory embedding cache.
    return JobRunner(resources.project().store, workers=1, nice=BACKGROUND_NICE)


def _runner() -> JobRunner:
    return _runner_for(str(resources.project_dir()))


def job_name(group_name: str, model_id: str) -> str:
    return f"Embeddings of {group_name} ({model_id})"


def prefetch_group(group, ordered_images, image_id: int) -> str | None:
    """Start the group's missing embeddings (from ``image_id`` on, in ``ordered_images``' order)
    unless they are cached or being computed; returns the job id to watch, or None."""
    segmenter = resources.segmenter()
    key = (group.id, segmenter.model_id)
    started = st.session_state.setdefault(_STARTED, {})
    runner = _runner()
    if key in started:
        return started[key]
    name = job_name(group.name, segmenter.model_id)
    running = runner.active(name)
    if running:
        job_id = running[0].id
    else:
        todo = missing(resources.project(), segmenter, starting_at(ordered_images, image_id))
        if not todo:
            started[key] = None
            return None
        job_id = runner.submit(
            name, embed_images_job, resources.project(), segmenter, todo, clicks=CLICKS
        )
    started[key] = job_id
    return job_id


def progress_line(job_id: str | None) -> None:
    """How far the background embeddings are: polled every 2 s while the job runs, a still line
    once it is done (drawn by the polling fragment itself: a full rerun from inside it would
    redraw the whole editor under the annotator's clicks)."""
    job = _status(job_id)
    if job is None:
        return
    if job.state in (JobState.QUEUED, JobState.RUNNING):
        _polling(job_id)
    else:
        _still_line(job)


def _still_line(job) -> None:
    if job is None:
        return
    if job.state is JobState.FAILED:
        st.caption(f":orange[Background embeddings failed: {job.error}]")
    else:
        st.caption(f"Embeddings: {job.result or job.state.value}")


def _status(job_id: str | None):
    if job_id is None:
        return None
    try:
        return _runner().status(job_id)
    except LookupError:  # forgotten by the runner: nothing to show
        return None


@st.fragment(run_every="2s")
def _polling(job_id: str) -> None:
    job = _status(job_id)
    if job is None or job.state not in (JobState.QUEUED, JobState.RUNNING):
        _still_line(job)
        return
    st.progress(job.fraction, text=f"Embeddings in the background: {job.message or 'queued'}")
