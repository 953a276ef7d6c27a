"""Background jobs in one process: long work (pre-labeling, a feedback round, ingest) off the UI thread.

A job is any callable whose first argument is a ``progress(fraction, message="")`` callback. The
runner starts it on a worker thread and keeps a :class:`JobStatus` record (state, fraction, message,
error, result) that a UI polls, e.g. from a Streamlit ``st.fragment(run_every=...)``; the page never
waits for the job. Cancelling is cooperative: ``progress`` raises :class:`JobCancelled` at the job's
next report.

    runner = JobRunner(workers=1)
    job_id = runner.submit("prelabel dogs", prelabel_group, project, group_id)
    runner.status(job_id).fraction     # 0.0 .. 1.0, while it runs
    runner.wait(job_id, timeout=60)    # tests and scripts only

One worker by default: the machines this runs on have few cores, and two model jobs at once would
only slow each other down; extra jobs queue in submission order.
"""

from __future__ import annotations

import threading
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from labeler.progress_types import Progress


class JobState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class JobCancelled(Exception):
    """Raised inside a job by its ``progress`` callback once someone asked to cancel it."""


class JobNotFound(LookupError):
    """No job with that id was ever submitted to this runner."""


@dataclass(frozen=True)
class JobStatus:
    """A snapshot of one job. ``error`` is ``"Type: message"``; ``details`` the traceback."""

    id: str
    name: str
    state: JobState = JobState.QUEUED
    fraction: float = 0.0
    message: str = ""
    error: str | None = None
    details: str | None = None
    result: Any = None
    submitted_at: float = 0.0
    #: Who started it (``submit_as``); a UI shows people their own jobs (admins see all).
    owner: str | None = None
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def elapsed_s(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.time()) - self.started_at


class JobRunner:
    """Thread-pool job runner with pollable progress records (thread-safe; share one per process)."""

    def __init__(self, workers: int = 1, keep_finished: int = 50):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="grd-job")
        self._lock = threading.Lock()
        self._jobs: dict[str, JobStatus] = {}
        self._futures: dict[str, Future] = {}
        self._cancel: dict[str, threading.Event] = {}
        self._keep_finished = keep_finished

    # ---- submitting ------------------------------------------------------------------------------
    def submit(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
        """Queue ``fn(progress, *args, **kwargs)``; returns the job id at once."""
        return self.submit_as(None, name, fn, *args, **kwargs)

    def submit_as(
        self, owner: str | None, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> str:
        """:meth:`submit`, recording ``owner`` on the job (for ``jobs(owner=...)``)."""
        if not callable(fn):
            raise TypeError(f"a job must be callable, got {type(fn).__name__}")
        job_id = uuid.uuid4().hex[:12]
        with self._lock:
            self._jobs[job_id] = JobStatus(job_id, name, submitted_at=time.time(), owner=owner)
            self._cancel[job_id] = threading.Event()
            self._forget_old()
            self._futures[job_id] = self._pool.submit(self._run, job_id, fn, args, kwargs)
        return job_id

    def _run(self, job_id: str, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        if self._cancel[job_id].is_set():
            self._update(job_id, state=JobState.CANCELLED, finished_at=time.time())
            return
        self._update(job_id, state=JobState.RUNNING, started_at=time.time())
        try:
            result = fn(self._progress_for(job_id), *args, **kwargs)
        except JobCancelled:
            self._update(
                job_id, state=JobState.CANCELLED, message="cancelled", finished_at=time.time()
            )
        except Exception as exc:  # noqa: BLE001 - a job's failure is data for the UI, not a crash
            self._update(
                job_id,
                state=JobState.FAILED,
                error=f"{type(exc).__name__}: {exc}",
                details=traceback.format_exc(),
                finished_at=time.time(),
            )
        else:
            self._update(
                job_id, state=JobState.DONE, fraction=1.0, result=result, finished_at=time.time()
            )

    def _progress_for(self, job_id: str) -> Progress:
        cancel = self._cancel[job_id]

        def progress(fraction: float | None = None, message: str | None = None) -> None:
            if cancel.is_set():
                raise JobCancelled(job_id)
            changes: dict[str, Any] = {}
            if fraction is not None:
                changes["fraction"] = min(max(float(fraction), 0.0), 1.0)
            if message is not None:
                changes["message"] = str(message)
            if changes:
                self._update(job_id, **changes)

        return progress

    # ---- reading -----------------------------------------------------------------------------------
    def status(self, job_id: str) -> JobStatus:
        with self._lock:
            try:
                return self._jobs[job_id]
            except KeyError:
                raise JobNotFound(f"no job {job_id!r} in this process") from None

    def jobs(self, owner: str | None = None) -> list[JobStatus]:
        """Every known job (or only ``owner``'s), newest first."""
        with self._lock:
            mine = [j for j in self._jobs.values() if owner is None or j.owner == owner]
        return sorted(mine, key=lambda j: j.submitted_at, reverse=True)

    def active(self, name: str | None = None) -> list[JobStatus]:
        """Queued or running jobs (optionally only those called ``name``)."""
        return [j for j in self.jobs() if not j.state.finished and (name is None or j.name == name)]

    def wait(self, job_id: str, timeout: float | None = None) -> JobStatus:
        """Block until the job finished (for tests and scripts; a UI polls :meth:`status`)."""
        self.status(job_id)
        with self._lock:
            future = self._futures.get(job_id)
        if future is not None:
            future.result(timeout=timeout)
        return self.status(job_id)

    # ---- control -----------------------------------------------------------------------------------
    def cancel(self, job_id: str) -> None:
        """Ask a job to stop; it stops at its next ``progress`` call (a queued one never starts)."""
        self.status(job_id)
        self._cancel[job_id].set()

    def shutdown(self, wait: bool = True) -> None:
        for event in self._cancel.values():
            event.set()
        self._pool.shutdown(wait=wait, cancel_futures=True)

    # ---- internals ---------------------------------------------------------------------------------
    def _update(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            self._jobs[job_id] = replace(self._jobs[job_id], **changes)

    def _forget_old(self) -> None:
        """Drop the oldest finished records beyond ``keep_finished`` (a long-lived server)."""
        finished = sorted(
            (j for j in self._jobs.values() if j.state.finished), key=lambda j: j.submitted_at
        )
        for job in finished[: max(0, len(finished) - self._keep_finished)]:
            for table in (self._jobs, self._futures, self._cancel):
                table.pop(job.id, None)
