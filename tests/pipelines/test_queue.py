"""Jobs on the machine's Redis (RQ) run by `grd worker` processes over one PostgreSQL project.

Each test uses its own queue prefix and database schema, and removes both. The model is the bundled
tiny demo GRSer on 96 px synthetic groups, so a pre-labeling job takes about a second.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from labeler.project import Project
from labeler.store import JobState
from pipelines.services.job_kinds import PrelabelParams
from pipelines.services.jobs import JobRunner
from pipelines.services.queue import PREFIX_ENV, REDIS_ENV, RedisQueue

REPO = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("GRD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_available() -> bool:
    try:
        from redis import Redis

        return bool(Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except Exception:  # noqa: BLE001 - any failure means "no server here"
        return False


pytestmark = pytest.mark.skipif(
    not _redis_available() and not os.environ.get("CI"), reason=f"no Redis at {REDIS_URL}"
)


@pytest.fixture
def prefix(monkeypatch):
    """A queue prefix of this test's own; its queues and RQ jobs are deleted afterwards."""
    name = f"grdtest-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv(REDIS_ENV, REDIS_URL)
    monkeypatch.setenv(PREFIX_ENV, name)
    yield name
    RedisQueue(REDIS_URL, name).delete()


def _project(root: Path, url: str, groups: int, images: int, expressions: int = 2) -> Project:
    from pipelines.services.demo import DEMO_CHECKPOINT
    from pipelines.training.synth import make_group
    from pipelines.training.synth_project import write_project

    made = (
        make_group(
            5, i, images_per_group=images, image_size=96, expressions_per_group=expressions, level=1
        )
        for i in range(groups)
    )
    write_project(root, made, 5, truth=False, database_url=url)
    project = Project.open(root)
    project.settings.grser_checkpoint = str(DEMO_CHECKPOINT)
    project.save_settings()
    return project


@pytest.fixture
def pg_project_url(postgres_url, pg_schema):
    return f"{postgres_url}?options=-csearch_path%3D{pg_schema}"


class Workers:
    """`grd worker` subprocesses of one test, stopped (and their logs shown on failure) at the end."""

    def __init__(self, root: Path, prefix: str, log_dir: Path):
        self.root, self.prefix, self.log_dir = root, prefix, log_dir
        self.procs: list[subprocess.Popen] = []

    def start(self, queues: str = "prelabel", stale_s: float = 2.0) -> subprocess.Popen:
        env = {**os.environ, REDIS_ENV: REDIS_URL, PREFIX_ENV: self.prefix, "PYTHONPATH": str(REPO)}
        log = open(self.log_dir / f"worker{len(self.procs)}.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli", "worker", str(self.root)]
            + ["--queues", queues, "--stale-s", str(stale_s)],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def wait_ready(self, count: int, queue: str = "prelabel", timeout: float = 120) -> None:
        from rq import Worker

        rq_queue = RedisQueue(REDIS_URL, self.prefix).rq_queue(queue)
        deadline = time.monotonic() + timeout
        while len(Worker.all(queue=rq_queue)) < count:
            assert time.monotonic() < deadline, self.logs()
            assert all(p.poll() is None for p in self.procs if p.returncode != -9), self.logs()
            time.sleep(0.1)

    def logs(self) -> str:
        return "\n".join(p.read_text()[-3000:] for p in sorted(self.log_dir.glob("worker*.log")))

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)  # RQ's warm shutdown
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def workers(tmp_path, prefix):
    group = Workers(tmp_path / "p", prefix, tmp_path)
    yield group
    group.stop()


def _wait(store, job_id: str, until, timeout: float = 120, logs=lambda: ""):
    deadline = time.monotonic() + timeout
    while True:
        record = store.get_job(job_id)
        if until(record):
            return record
        assert time.monotonic() < deadline, f"{record}\n{logs()}"
        time.sleep(0.02)


def _proposals_per_pair(project: Project) -> Counter:
    """How many times each (expression, image) pair was proposed, from the audit log."""
    store = project.store
    counts: Counter = Counter()
    for expression in store.list_expressions():
        for image in store.list_images(expression.group_id):
            counts[(expression.id, image.id)] += 0
        for entry in store.audit(expression_id=expression.id):
            if entry.action == "propose":
                counts[(entry.expression_id, entry.image_id)] += 1
    return counts


def test_two_workers_drain_a_projects_prelabel_jobs_no_pair_twice_none_missed(
    tmp_path, prefix, pg_project_url, workers
):
    project = _project(tmp_path / "p", pg_project_url, groups=6, images=4)
    workers.start()
    workers.start()
    workers.wait_ready(2)
    runner = JobRunner(project.store, queue=RedisQueue(REDIS_URL, prefix))
    parent = runner.start(project, PrelabelParams(group_size=2, batch_size=1), author="ann")
    done = _wait(project.store, parent, lambda r: r.state.finished, logs=workers.logs)
    assert done.state is JobState.DONE and done.children == 6 and done.author == "ann"
    children = project.store.list_jobs(parent_id=parent)
    assert all(c.state is JobState.DONE and c.attempts == 1 for c in children)
    assert len({c.worker for c in children}) == 2  # spread over both workers
    per_pair = _proposals_per_pair(project)
    assert len(per_pair) == 6 * 4 * 2
    assert set(per_pair.values()) == {1}  # every pair proposed, none twice
    assert sum(c.result["proposed"] for c in children) == 48


def test_a_worker_killed_mid_job_has_its_job_finished_by_the_other(
    tmp_path, prefix, pg_project_url, workers
):
    project = _project(tmp_path / "p", pg_project_url, groups=1, images=12)
    procs = {workers.start().pid: None, workers.start().pid: None}
    workers.wait_ready(2)
    runner = JobRunner(project.store, queue=RedisQueue(REDIS_URL, prefix))
    group = project.store.list_groups()[0]
    job_id = runner.start(project, PrelabelParams(group_id=group.id, group_size=2, batch_size=1))
    # progress written by the worker process shows here, in the process that started the job
    running = _wait(project.store, job_id, lambda r: r.fraction > 0, logs=workers.logs)
    assert running.state is JobState.RUNNING and running.fraction < 1
    victim = int(running.worker.rsplit(":", 1)[1])
    assert victim in procs
    os.kill(victim, signal.SIGKILL)
    done = _wait(project.store, job_id, lambda r: r.state.finished, logs=workers.logs)
    assert done.state is JobState.DONE, done.error
    assert done.attempts == 2 and int(done.worker.rsplit(":", 1)[1]) != victim
    assert done.result["skipped_done"] > 0  # the retry kept what the killed worker had saved
    per_pair = _proposals_per_pair(project)
    assert len(per_pair) == 12 * 2 and set(per_pair.values()) == {1}


def test_a_job_shows_in_another_process_and_cancel_there_stops_the_worker(
    tmp_path, prefix, pg_project_url, workers
):
    # 120 images: the job must still be running after two `grd jobs` processes have started (with
    # 30 it sometimes finished first on a quiet machine, and there was nothing left to cancel).
    project = _project(tmp_path / "p", pg_project_url, groups=1, images=120)
    workers.start()
    workers.wait_ready(1)
    runner = JobRunner(project.store, queue=RedisQueue(REDIS_URL, prefix))
    group = project.store.list_groups()[0]
    job_id = runner.start(project, PrelabelParams(group_id=group.id, group_size=2, batch_size=1))
    _wait(project.store, job_id, lambda r: r.fraction > 0, logs=workers.logs)
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "250"}
    grd = [sys.executable, "-m", "pipelines.cli", "jobs", str(project.root)]
    listed = subprocess.run(grd, env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    row = next((line for line in listed.stdout.splitlines() if job_id in line), "")
    assert "prelabel" in row and "%" in row, listed.stdout  # seen over there, with its progress
    shown = subprocess.run(
        grd + ["--cancel", job_id], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    # The table printed after the cancel may already say "cancelled": the worker is quick to stop.
    assert shown.returncode == 0 and job_id in shown.stdout, shown.stderr
    stopped = _wait(project.store, job_id, lambda r: r.state.finished, logs=workers.logs)
    assert stopped.state is JobState.CANCELLED and stopped.fraction < 1
    proposed = sum(_proposals_per_pair(project).values())
    assert 0 < proposed < 120 * 2  # it stopped mid-way
    assert workers.procs[0].poll() is None  # the worker lives on for the next job


def test_a_queued_job_that_redis_lost_is_queued_again_and_finished(
    tmp_path, prefix, pg_project_url, workers
):
    """A job recorded queued whose RQ entry is gone (a Redis restart or flush before any worker
    took it) is put back by a worker's check and runs once."""
    project = _project(tmp_path / "p", pg_project_url, groups=1, images=4)
    queue = RedisQueue(REDIS_URL, prefix)
    runner = JobRunner(project.store, queue=queue)
    group = project.store.list_groups()[0]
    job_id = runner.start(project, PrelabelParams(group_id=group.id, group_size=2, batch_size=1))
    assert job_id in queue.held_job_ids(["prelabel"])
    queue.delete()  # Redis forgets everything of this project; the record still says queued
    assert queue.held_job_ids(["prelabel"]) == set()
    assert project.store.get_job(job_id).state is JobState.QUEUED
    workers.start(stale_s=1.0)
    done = _wait(project.store, job_id, lambda r: r.state.finished, logs=workers.logs)
    assert done.state is JobState.DONE and done.attempts == 1, done.error
    assert "Redis lost it" in workers.logs()
    assert set(_proposals_per_pair(project).values()) == {1}
