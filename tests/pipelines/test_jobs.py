"""The background job runner: progress records in the store, failures, cancelling, queueing."""

from __future__ import annotations

import threading
import time

import pytest

from labeler.store import Store
from pipelines.services.jobs import JobNotFound, JobRunner, JobState


@pytest.fixture
def runner(store):
    r = JobRunner(store, workers=1)
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


def test_records_survive_the_process_and_show_in_another_store(store):
    """Another process (here: another Store on the same database) sees the job; a job whose
    process died (no heartbeat) is closed as failed by the next runner, not left running."""
    runner = JobRunner(store)
    job_id = runner.submit("count", lambda progress: 7, author="ann")
    runner.wait(job_id, timeout=5)
    runner.shutdown()
    other = Store(store.url, schema=_schema(store))
    try:
        seen = other.get_job(job_id)
        assert (seen.name, seen.author, seen.state, seen.result) == ("count", "ann", "done", 7)
        orphan = other.create_job("local", "orphan", {})
        assert other.claim_job(orphan.id, "dead:1").state is JobState.RUNNING
        assert other.claim_job(orphan.id, "other:2") is None  # taken: nobody else runs it
        assert other.requeue_stale(0.0, max_attempts=0) == []  # what JobRunner does at start
        closed = store.get_job(orphan.id)
        assert closed.state is JobState.FAILED and "WorkerLost" in closed.error
    finally:
        other.close()


def test_failure_is_recorded_with_type_message_and_traceback(runner):
    def job(progress):
        progress(0.1)
        raise ValueError("no checkpoint configured")

    status = runner.wait(runner.submit("broken", job), timeout=5)
    assert status.state is JobState.FAILED
    assert status.error == "ValueError: no checkpoint configured"
    assert "raise ValueError" in status.details
    assert status.fraction == 0.1


def test_a_report_result_is_stored_as_json_with_its_summary(runner):
    from pipelines.loop.prelabel import PrelabelReport

    status = runner.wait(runner.submit("p", lambda progress: PrelabelReport("m1", 3)), timeout=5)
    assert status.result["proposed"] == 3 and status.result["model_version"] == "m1"
    assert status.summary.startswith("3 proposals by m1")


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


def test_cancel_stops_a_running_job_at_its_next_progress_call(runner, store):
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
    other = Store(store.url, schema=_schema(store))  # cancel from another connection / process
    try:
        other.request_cancel(job_id)
    finally:
        other.close()
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
    assert {j.name for j in runner.jobs()} == {"second", "first"}


def test_unknown_job_and_non_callable_are_named_errors(runner):
    with pytest.raises(JobNotFound, match="no job"):
        runner.status("nope")
    with pytest.raises(TypeError):
        runner.submit("x", 42)


def _schema(store: Store) -> str | None:
    """The PostgreSQL schema a test store lives in (None on SQLite)."""
    if store.engine.dialect.name != "postgresql":
        return None
    with store.engine.connect() as conn:
        return conn.exec_driver_sql("select current_schema()").scalar()


def test_an_unreachable_queue_fails_the_jobs_in_their_records(tmp_path):
    from labeler.project import Project
    from pipelines.services.job_kinds import EmbedParams
    from pipelines.services.queue import RedisQueue

    with Project.init(tmp_path / "p") as project:
        project.store.create_group("dogs")
        project.store.create_group("cats")
        runner = JobRunner(project.store, queue=RedisQueue("redis://127.0.0.1:1/0"))
        job = runner.status(runner.start(project, EmbedParams(), author="ann"))
        assert job.state is JobState.FAILED and job.children == 2
        children = project.store.list_jobs(parent_id=job.id)
        assert all("QueueUnavailable" in c.error for c in children)


@pytest.mark.parametrize("nice", [0, 7])
def test_job_threads_run_nice_steps_below_the_process(store, nice):
    """The app's background runners pass ``nice``: their jobs yield the cores to request threads
    (Linux: per thread); the process itself and its other threads keep their priority."""
    import os

    def priority_gap(progress):
        mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        return mine - os.getpriority(os.PRIO_PROCESS, os.getpid())

    runner = JobRunner(store, workers=1, nice=nice)
    try:
        record = runner.wait(runner.submit("gap", priority_gap), timeout=30)
    finally:
        runner.shutdown()
    assert record.state is JobState.DONE, record.error
    assert record.result == nice
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == os.getpriority(
        os.PRIO_PROCESS, os.getpid()
    )
