"""Background jobs: long work (pre-labeling, a feedback round, ingest) off the UI thread, recorded.

A job is any callable whose first argument is a ``progress(fraction, message="")`` callback. Every
job has a record in the project's database (:mod:`labeler.store.jobs`): who started it, kind,
parameters, state, progress, result or error. :func:`execute` is the one way a job runs against its
record, on a thread of the app (:class:`JobRunner`, the embedded default) or in a queue worker on
another machine (:mod:`pipelines.services.queue`): it claims the record, beats a heartbeat, turns
``progress`` calls into record updates and writes the outcome. Cancelling is cooperative and works
across processes: ``progress`` raises :class:`JobCancelled` once the record's cancel flag is set.

    runner = JobRunner(project.store, workers=1)
    job_id = runner.submit("ingest 3 uploads", ingest_uploads_job, project, files, "dogs")
    job_id = runner.start(project, PrelabelParams(group_id=3), author="ann")   # a typed kind
    runner.status(job_id).fraction     # 0.0 .. 1.0, from any process that opens the project
    runner.wait(job_id, timeout=60)    # tests and scripts only

One thread by default: the machines this runs on have few cores, and two model jobs at once would
only slow each other down; extra jobs queue in submission order. With a Redis URL the typed kinds
go to the queue instead (:class:`pipelines.services.queue.RedisQueue`).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from labeler.errors import NotFound
from labeler.progress_types import Progress
from labeler.project import Project
from labeler.store import JobRecord, JobState, Store
from pipelines.services import job_kinds
from pipelines.services.job_exec import (
    HEARTBEAT_S,
    STALE_S,
    JobCancelled,
    execute,
    jsonable,
    worker_name,
)

if TYPE_CHECKING:
    from pipelines.services.queue import RedisQueue

JobNotFound = NotFound  # what ``status`` raises for an unknown id

#: Nice steps the app's background threads run below its request threads: a click or a save never
#: waits behind an embedding or a propagation (Linux schedules nice per thread).
BACKGROUND_NICE = 10


def lower_thread_priority(steps: int) -> None:
    """Lower the calling thread's CPU priority by ``steps`` nice steps (0: unchanged).

    On Linux nice is per thread, so only this thread (and threads it starts later) yield to the
    rest of the process. Where that cannot be done (another OS, a container refusing it) the
    thread keeps its priority: background work is slower to yield, never wrong.
    """
    if steps <= 0 or not hasattr(os, "setpriority"):
        return
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + steps)
    except OSError:
        pass


__all__ = [
    "BACKGROUND_NICE",
    "HEARTBEAT_S",
    "Progress",
    "STALE_S",
    "JobCancelled",
    "JobNotFound",
    "JobRecord",
    "JobRunner",
    "JobState",
    "execute",
    "jsonable",
    "lower_thread_priority",
    "worker_name",
]


class JobRunner:
    """Starts jobs and reads their records. Thread-safe; share one per process and project.

    ``submit`` runs any callable on this process's threads (e.g. an ingest of uploaded bytes);
    ``start`` runs a typed kind of :mod:`pipelines.services.job_kinds`: on the queue when one is
    given, else on the threads. Project-wide pre-labeling and embedding fan out, one job per group.
    """

    def __init__(
        self,
        store: Store,
        workers: int = 1,
        queue: RedisQueue | None = None,
        nice: int = 0,
    ):
        """``nice``: how far below the process's priority the job threads run (the app passes
        :data:`BACKGROUND_NICE`, so its request threads come first; CLI and workers keep 0)."""
        self.store = store
        self.queue = queue
        self._pool = ThreadPoolExecutor(
            max_workers=workers,
            thread_name_prefix="grd-job",
            initializer=lower_thread_priority,
            initargs=(nice,),
        )
        self._local: set[str] = set()  # ids this process runs: cancelled on shutdown
        if queue is None:
            # Jobs a stopped app process was running stay "running" in the records: close them.
            store.requeue_stale(STALE_S, max_attempts=0)

    # ---- starting --------------------------------------------------------------------------------
    def submit(
        self, name: str, fn: Callable[..., Any], *args: Any, author: str = "", **kwargs: Any
    ) -> str:
        """Run ``fn(progress, *args, **kwargs)`` on this process; returns the job id at once."""
        if not callable(fn):
            raise TypeError(f"a job must be callable, got {type(fn).__name__}")
        record = self.store.create_job("local", name, {}, author=author)
        self._local.add(record.id)
        self._pool.submit(execute, self.store, record.id, fn, *args, **kwargs)
        return record.id

    def start(self, project: Project, params: Any, *, author: str = "", name: str = "") -> str:
        """Start a typed job (``PrelabelParams(...)``, ...); returns the (parent) job id.

        ``author`` must be allowed to (``PermissionDenied`` before anything is recorded): ingest
        jobs need the ``ingest`` permission, every other kind ``models`` (admins; anyone while the
        project has no users). Workers run only recorded jobs, so this is the one check."""
        kind = job_kinds.kind_of(params)
        self.store.authorize(author or None, "ingest" if kind.key == "ingest" else "models")
        if kind.prepare is not None:
            kind.prepare(project, params)
        children = job_kinds.fan_out(project, params)
        record = self.store.create_job(
            kind.key,
            name or kind.describe(project, params),
            job_kinds.encode(params),
            author=author,
            children=[(kind.describe(project, p), job_kinds.encode(p)) for p in children],
        )
        runnable = (
            self.store.list_jobs(parent_id=record.id, limit=len(children))[::-1]
            if children
            else [record]
        )
        for k, job in enumerate(runnable):
            if self.queue is None:
                self._local.add(job.id)
                self._pool.submit(job_kinds.run_recorded, project, job.id)
                continue
            try:
                self.queue.enqueue(job.id, kind.queue)
            except Exception as exc:  # noqa: BLE001 - Redis down: the records say so, no crash
                for lost in runnable[k:]:
                    self.store.claim_job(lost.id, worker_name())
                    self.store.finish_job(
                        lost.id, JobState.FAILED, error=f"QueueUnavailable: {exc}"
                    )
                break
        return record.id

    # ---- reading ---------------------------------------------------------------------------------
    def status(self, job_id: str) -> JobRecord:
        return self.store.get_job(job_id)

    def jobs(self, limit: int = 50) -> list[JobRecord]:
        """The newest top-level jobs of the project (every process's), newest first."""
        return self.store.list_jobs(limit=limit)

    def active(self, name: str | None = None, kind: str | None = None) -> list[JobRecord]:
        """Queued or running jobs (optionally only those called ``name`` / of ``kind``)."""
        return [
            j
            for j in self.store.list_jobs(active=True, kind=kind)
            if name is None or j.name == name
        ]

    def wait(self, job_id: str, timeout: float | None = None, poll_s: float = 0.05) -> JobRecord:
        """Block until the job finished (for tests and scripts; a UI polls :meth:`status`)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            record = self.status(job_id)
            if record.state.finished:
                return record
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {record.state.value} after {timeout} s")
            time.sleep(poll_s)

    # ---- control ---------------------------------------------------------------------------------
    def cancel(self, job_id: str) -> JobRecord:
        """Ask a job to stop (see ``Store.request_cancel``); works for jobs of any process."""
        return self.store.request_cancel(job_id)

    def shutdown(self, wait: bool = True) -> None:
        """Cancel what this process still runs or holds queued, then stop the threads."""
        for job_id in self._local:
            if not self.store.get_job(job_id).state.finished:
                self.store.request_cancel(job_id)
        self._pool.shutdown(wait=wait, cancel_futures=True)
