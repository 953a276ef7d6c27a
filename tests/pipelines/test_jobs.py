"""The background job runner: progress records, failures, cancelling, queueing (no Streamlit)."""

from __future__ import annotations

import threading
import time

import pytest

from pipelines.services.jobs import JobNotFound, JobRunner, JobState


@pytest.fixture
def runner():
    r = JobRunner(workers=1)
    yield r
    r.shutdown(wait=True)


def test_job_reports_progress_while_running_and_result_when_done(runner):
    reached_half = threading.Event()
    release = threading.Event()

    def job(progress, n):
        progress(0.5, "half way")
        reached_half.set()
        release.wait(5)
        return n * 2

    job_id = runner.submit("double", job, 21)
    assert reached_half.wait(5)
    running = runner.status(job_id)
    assert running.state is JobState.RUNNING
    assert running.fraction == 0.5 and running.message == "half way"
    assert [j.id for j in runner.active()] == [job_id]
    release.set()
    done = runner.wait(job_id, timeout=5)
    assert done.state is JobState.DONE and done.result == 42 and done.fraction == 1.0
    assert done.finished_at >= done.started_at
    assert runner.active() == []


def test_failure_is_recorded_with_type_message_and_traceback(runner):
    def job(progress):
        progress(0.1)
        raise ValueError("no checkpoint configured")

    status = runner.wait(runner.submit("broken", job), timeout=5)
    assert status.state is JobState.FAILED
    assert status.error == "ValueError: no checkpoint configured"
    assert "raise ValueError" in status.details
    assert status.fraction == 0.1


def test_fraction_is_clamped_and_message_optional(runner):
    seen = []
    go = threading.Event()

    def job(progress):
        go.wait(5)  # job_id below is assigned before the job reads it
        progress(-3)
        seen.append(runner.status(job_id).fraction)
        progress(7, "over")
        seen.append(runner.status(job_id).fraction)
        progress(message="only a message")
        seen.append((runner.status(job_id).fraction, runner.status(job_id).message))

    job_id = runner.submit("clamp", job)
    go.set()
    runner.wait(job_id, timeout=5)
    assert seen == [0.0, 1.0, (1.0, "only a message")]


def test_cancel_stops_a_running_job_at_its_next_progress_call(runner):
    started = threading.Event()
    steps = []

    def job(progress):
        started.set()
        for i in range(1000):
            progress(i / 1000)
            steps.append(i)
            time.sleep(0.005)

    job_id = runner.submit("long", job)
    assert started.wait(5)
    runner.cancel(job_id)
    status = runner.wait(job_id, timeout=5)
    assert status.state is JobState.CANCELLED
    assert len(steps) < 1000


def test_jobs_queue_on_one_worker_and_a_cancelled_queued_job_never_runs(runner):
    release = threading.Event()
    ran = []
    first = runner.submit("first", lambda progress: release.wait(5))
    second = runner.submit("second", lambda progress: ran.append("second"))
    assert runner.status(second).state is JobState.QUEUED
    runner.cancel(second)
    release.set()
    runner.wait(first, timeout=5)
    assert runner.wait(second, timeout=5).state is JobState.CANCELLED
    assert ran == []
    assert [j.name for j in runner.jobs()] == ["second", "first"]


def test_unknown_job_and_non_callable_are_named_errors(runner):
    with pytest.raises(JobNotFound):
        runner.status("nope")
    with pytest.raises(TypeError):
        runner.submit("x", 42)


def test_old_finished_records_are_forgotten():
    r = JobRunner(workers=1, keep_finished=2)
    try:
        for i in range(4):  # each finishes before the next is submitted (and may forget older ones)
            r.wait(r.submit(f"j{i}", lambda progress: None), timeout=5)
        r.submit("last", lambda progress: None)
        names = {j.name for j in r.jobs()}
        assert "j0" not in names and "j1" not in names and {"j2", "j3"} <= names
    finally:
        r.shutdown()
