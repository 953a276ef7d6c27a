"""Job records in the store: create, claim once, progress and cancel flag, fan-out roll-up, stale
jobs requeued or failed (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from labeler.errors import NotFound
from labeler.store import JobState


def test_a_job_is_claimed_once_reports_progress_and_finishes_once(store):
    job = store.create_job("prelabel", "Pre-label dogs", {"group_id": 3}, author="ann")
    assert (job.state, job.author, job.params, job.attempts) == (
        JobState.QUEUED,
        "ann",
        {"group_id": 3},
        0,
    )
    running = store.claim_job(job.id, "host:1")
    assert (
        running.state is JobState.RUNNING and running.attempts == 1 and running.worker == "host:1"
    )
    assert store.claim_job(job.id, "host:2") is None  # a second delivery does not run it again
    assert store.report_progress(job.id, 1.7, "almost") is True
    assert store.get_job(job.id).fraction == 1.0  # clamped
    store.finish_job(job.id, JobState.DONE, result={"summary": "3 proposals"})
    store.finish_job(job.id, JobState.FAILED, error="late")  # the first outcome stands
    done = store.get_job(job.id)
    assert done.state is JobState.DONE and done.summary == "3 proposals" and done.error is None
    assert done.finished_at >= done.started_at >= done.created_at
    with pytest.raises(NotFound, match="no job"):
        store.get_job("nope")


def test_cancel_flags_a_running_job_and_closes_queued_ones(store):
    running = store.create_job("embed", "a", {})
    queued = store.create_job("embed", "b", {})
    store.claim_job(running.id, "w")
    store.request_cancel(running.id)
    assert store.report_progress(running.id, 0.5) is False  # the job's next report stops it
    store.request_cancel(queued.id)
    assert store.get_job(queued.id).state is JobState.CANCELLED
    assert store.claim_job(queued.id, "w") is None  # never starts


def test_a_fan_out_parent_rolls_up_its_children(store):
    parent = store.create_job(
        "prelabel", "all groups", {}, children=[(f"group {g}", {"group_id": g}) for g in (1, 2, 3)]
    )
    children = store.list_jobs(parent_id=parent.id)
    assert parent.children == 3 and parent.state is JobState.QUEUED
    assert [j.id for j in store.list_jobs()] == [parent.id]  # children are not top-level
    a, b, c = children
    store.claim_job(a.id, "w1")
    store.report_progress(a.id, 0.5)
    store.claim_job(b.id, "w2")
    store.finish_job(b.id, JobState.DONE)
    rolled = store.get_job(parent.id)
    assert rolled.state is JobState.RUNNING
    assert rolled.fraction == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    assert store.child_tally(parent.id).finished == 1
    assert [j.id for j in store.list_jobs(active=True)] == [parent.id]
    store.request_cancel(parent.id)  # c never starts, a stops at its next report
    assert store.get_job(c.id).state is JobState.CANCELLED
    assert store.report_progress(a.id, 0.6) is False
    store.finish_job(a.id, JobState.CANCELLED)
    final = store.get_job(parent.id)
    assert final.state is JobState.CANCELLED and final.finished_at is not None
    assert store.list_jobs(active=True) == []


def test_stale_running_jobs_are_requeued_once_then_failed(store):
    job = store.create_job("prelabel", "p", {})
    store.claim_job(job.id, "dead:1")
    assert store.requeue_stale(3600.0) == []  # its heartbeat is fresh
    (again,) = store.requeue_stale(0.0, max_attempts=2)
    assert again.id == job.id and again.state is JobState.QUEUED
    assert store.requeue_stale(0.0) == []  # queued now: nothing to take twice
    store.claim_job(job.id, "dead:2")
    assert store.requeue_stale(0.0, max_attempts=2) == []
    lost = store.get_job(job.id)
    assert lost.state is JobState.FAILED and lost.attempts == 2 and "WorkerLost" in lost.error


def test_a_finished_fan_out_leaves_the_active_list_in_sql(store):
    parent = store.create_job("embed", "all", {}, children=[("g1", {"group_id": 1})])
    (child,) = store.list_jobs(parent_id=parent.id)
    store.claim_job(child.id, "w")
    assert [j.id for j in store.list_jobs(active=True, kind="embed")] == [parent.id]
    store.finish_job(child.id, JobState.FAILED, error="Boom: no")
    assert store.list_jobs(active=True) == []
    assert store.get_job(parent.id).state is JobState.FAILED
