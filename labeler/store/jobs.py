"""Job records: every background job, whoever runs it, in the project's database.

A record holds who started the job, its kind and typed parameters (JSON), its state, progress,
result or error, and timestamps, so any app process shows every job and the records outlive the
process that ran them. Whoever runs a job (a thread in the app, a queue worker on another machine)
goes through the same calls:

    record = store.create_job("prelabel", "Pre-label dogs", {"group_id": 3}, author="ann")
    store.claim_job(record.id, worker="gpu-1")        # queued -> running (None: cancelled / taken)
    store.report_progress(record.id, 0.5, "half")   # False once someone asked to cancel
    store.finish_job(record.id, JobState.DONE, result={"summary": "..."})

Cancelling is a flag in the record (``request_cancel``): the job's progress callback sees it, on
whatever machine the job runs. A job that fans out (one child per group) is a parent record whose
children carry ``parent_id``; the parent's state and progress are computed from its children when
read. ``heartbeat_at`` lets workers find jobs whose worker died (``requeue_stale``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    exists,
    func,
    insert,
    select,
    update,
)

from labeler.errors import NotFound
from labeler.store.repository import CatalogMixin, utcnow
from labeler.store.schema import metadata

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("author", String(200), nullable=False, default=""),
    Column("params", JSON, nullable=False),
    Column("parent_id", String(32), nullable=True),
    Column("state", String(16), nullable=False),
    Column("fraction", Float, nullable=False, default=0.0),
    Column("message", Text, nullable=False, default=""),
    Column("result", JSON, nullable=True),
    Column("error", Text, nullable=True),
    Column("details", Text, nullable=True),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("worker", String(200), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("heartbeat_at", DateTime(timezone=True), nullable=True),
    Index("ix_jobs_parent", "parent_id"),
    Index("ix_jobs_state", "state"),
    Index("ix_jobs_created", "created_at"),
)


class JobState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


_FINISHED = [s.value for s in JobState if s.finished]


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; they were written in UTC.
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class JobRecord:
    """One job as stored. ``error`` is ``"Type: message"``, ``details`` the traceback; ``result`` is
    JSON (a report's fields plus its ``summary``). ``children``: how many jobs it fanned out to."""

    id: str
    kind: str
    name: str
    author: str = ""
    params: dict[str, Any] | None = None
    parent_id: str | None = None
    state: JobState = JobState.QUEUED
    fraction: float = 0.0
    message: str = ""
    result: Any = None
    error: str | None = None
    details: str | None = None
    cancel_requested: bool = False
    attempts: int = 0
    worker: str = ""
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None
    children: int = 0

    @property
    def elapsed_s(self) -> float:
        if self.started_at is None:
            return 0.0
        return ((self.finished_at or datetime.now(UTC)) - self.started_at).total_seconds()

    @property
    def summary(self) -> str:
        """What the job did, in a line (its result's summary, else its message)."""
        if isinstance(self.result, dict) and "summary" in self.result:
            return str(self.result["summary"])
        return self.message if self.result is None else str(self.result)


def _record(row) -> JobRecord:
    return JobRecord(
        id=row.id,
        kind=row.kind,
        name=row.name,
        author=row.author,
        params=dict(row.params or {}),
        parent_id=row.parent_id,
        state=JobState(row.state),
        fraction=float(row.fraction),
        message=row.message,
        result=row.result,
        error=row.error,
        details=row.details,
        cancel_requested=bool(row.cancel_requested),
        attempts=int(row.attempts),
        worker=row.worker,
        created_at=_aware(row.created_at),
        started_at=_aware(row.started_at),
        finished_at=_aware(row.finished_at),
        heartbeat_at=_aware(row.heartbeat_at),
    )


@dataclass(frozen=True)
class ChildTally:
    """The children of a fan-out parent, counted by state (one GROUP BY)."""

    counts: dict[JobState, int]
    fraction_sum: float
    first_start: datetime | None
    last_finish: datetime | None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def finished(self) -> int:
        return sum(n for s, n in self.counts.items() if s.finished)

    def state(self, cancel_requested: bool) -> JobState:
        c = self.counts
        if self.finished < self.total:
            return JobState.RUNNING if self.finished or c.get(JobState.RUNNING) else JobState.QUEUED
        if c.get(JobState.FAILED):
            return JobState.FAILED
        if c.get(JobState.CANCELLED) or cancel_requested:
            return JobState.CANCELLED
        return JobState.DONE


def _rolled_up(parent: JobRecord, tally: ChildTally) -> JobRecord:
    """A fan-out parent as its children make it: state, mean progress, a counting message."""
    state = tally.state(parent.cancel_requested)
    parts = [f"{n} {s.value}" for s, n in sorted(tally.counts.items()) if n]
    return replace(
        parent,
        state=state,
        fraction=tally.fraction_sum / max(tally.total, 1),
        message=f"{tally.finished} of {tally.total} jobs finished ({', '.join(parts)})",
        started_at=tally.first_start,
        finished_at=tally.last_finish if state.finished else None,
        children=tally.total,
    )


class JobsMixin(CatalogMixin):
    # ---- creating ------------------------------------------------------------------------------
    def create_job(
        self,
        kind: str,
        name: str,
        params: dict[str, Any],
        *,
        author: str = "",
        children: Sequence[tuple[str, dict[str, Any]]] = (),
    ) -> JobRecord:
        """A queued job; with ``children`` (``(name, params)`` each) a fan-out parent and its
        children of the same kind, in one transaction. Children: ``list_jobs(parent_id=...)``."""
        now = utcnow()
        parent_id = uuid.uuid4().hex[:16]

        def row(job_id: str, job_name: str, job_params: dict, parent: str | None) -> dict:
            return {
                "id": job_id,
                "kind": kind,
                "name": job_name[:200],
                "author": (author or "")[:200],
                "params": job_params,
                "parent_id": parent,
                "state": JobState.QUEUED.value,
                "fraction": 0.0,
                "message": "",
                "cancel_requested": False,
                "attempts": 0,
                "worker": "",
                "created_at": now,
            }

        rows = [row(parent_id, name, params, None)]
        rows += [row(uuid.uuid4().hex[:16], n, p, parent_id) for n, p in children]
        with self._write() as conn:
            conn.execute(insert(jobs), rows)
        return self.get_job(parent_id)

    # ---- reading -------------------------------------------------------------------------------
    def get_job(self, job_id: str) -> JobRecord:
        with self._read() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        if row is None:
            raise NotFound(f"no job {job_id!r} in this project")
        return self._with_children([_record(row)])[0]

    def list_jobs(
        self,
        *,
        limit: int = 50,
        parent_id: str | None = None,
        kind: str | None = None,
        active: bool = False,
    ) -> list[JobRecord]:
        """Newest first: top-level jobs, or the children of ``parent_id``. ``active``: not finished
        (for fan-out parents, as their children make them)."""
        query = select(jobs).order_by(jobs.c.created_at.desc(), jobs.c.id)
        query = query.where(
            jobs.c.parent_id.is_(None) if parent_id is None else jobs.c.parent_id == parent_id
        )
        if kind is not None:
            query = query.where(jobs.c.kind == kind)
        if active:  # a fan-out parent's row is finished once its last child is (_settle_parent)
            query = query.where(jobs.c.state.not_in(_FINISHED))
        with self._read() as conn:
            records = [_record(r) for r in conn.execute(query.limit(limit))]
        return self._with_children(records)

    def child_tally(self, parent_id: str) -> ChildTally:
        """Per-project progress of a fan-out: its children counted by state."""
        return self._tallies([parent_id]).get(parent_id, ChildTally({}, 0.0, None, None))

    def _tallies(self, parent_ids: Sequence[str]) -> dict[str, ChildTally]:
        query = (
            select(
                jobs.c.parent_id,
                jobs.c.state,
                func.count(),
                func.coalesce(func.sum(jobs.c.fraction), 0.0),
                func.min(jobs.c.started_at),
                func.max(jobs.c.finished_at),
            )
            .where(jobs.c.parent_id.in_(list(parent_ids)))
            .group_by(jobs.c.parent_id, jobs.c.state)
        )
        out: dict[str, ChildTally] = {}
        with self._read() as conn:
            rows = list(conn.execute(query)) if parent_ids else []
        for parent, state, count, fractions, first, last in rows:
            state = JobState(state)
            old = out.get(parent, ChildTally({}, 0.0, None, None))
            # a finished child counts as fully done for the parent's progress bar
            share = float(count) if state.finished else float(fractions)
            starts = [d for d in (old.first_start, _aware(first)) if d is not None]
            ends = [d for d in (old.last_finish, _aware(last)) if d is not None]
            out[parent] = ChildTally(
                {**old.counts, state: int(count)},
                old.fraction_sum + share,
                min(starts) if starts else None,
                max(ends) if ends else None,
            )
        return out

    def _with_children(self, records: list[JobRecord]) -> list[JobRecord]:
        tallies = self._tallies([r.id for r in records if r.parent_id is None])
        return [_rolled_up(r, tallies[r.id]) if r.id in tallies else r for r in records]

    # ---- running ---------------------------------------------------------------------------------
    def claim_job(self, job_id: str, worker: str = "") -> JobRecord | None:
        """Queued -> running for ``worker`` (one more attempt). None when the job is not queued:
        finished, cancelled before it started, or already taken (a duplicate delivery)."""
        now = utcnow()
        with self._write() as conn:
            conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.state == JobState.QUEUED.value)
                .where(jobs.c.cancel_requested.is_(True))
                .values(state=JobState.CANCELLED.value, finished_at=now, message="cancelled")
            )
            claimed = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.state == JobState.QUEUED.value)
                .values(
                    state=JobState.RUNNING.value,
                    worker=worker[:200],
                    attempts=jobs.c.attempts + 1,
                    started_at=func.coalesce(jobs.c.started_at, now),
                    heartbeat_at=now,
                )
            ).rowcount
        return self.get_job(job_id) if claimed else None

    def report_progress(
        self, job_id: str, fraction: float | None = None, message: str | None = None
    ) -> bool:
        """Record progress (and a heartbeat); False when the job should stop (cancel requested)."""
        values: dict[str, Any] = {"heartbeat_at": utcnow()}
        if fraction is not None:
            values["fraction"] = min(max(float(fraction), 0.0), 1.0)
        if message is not None:
            values["message"] = str(message)
        with self._write() as conn:
            return bool(
                conn.execute(
                    update(jobs)
                    .where(jobs.c.id == job_id, jobs.c.cancel_requested.is_(False))
                    .values(**values)
                ).rowcount
            )

    def finish_job(
        self,
        job_id: str,
        state: JobState,
        *,
        result: Any = None,
        error: str | None = None,
        details: str | None = None,
        message: str | None = None,
    ) -> None:
        """Record the outcome of a running job (a finished one keeps its first outcome)."""
        values: dict[str, Any] = {
            "state": state.value,
            "finished_at": utcnow(),
            "result": result,
            "error": error,
            "details": details,
        }
        if state is JobState.DONE:
            values["fraction"] = 1.0
        if message is not None:
            values["message"] = message
        with self._write() as conn:
            conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.state.not_in(_FINISHED))
                .values(**values)
            )
            parent_id = conn.execute(select(jobs.c.parent_id).where(jobs.c.id == job_id)).scalar()
        if parent_id is not None:
            self._settle_parent(parent_id)

    def _settle_parent(self, parent_id: str) -> None:
        """Write a fan-out parent's outcome into its row once its last child finished, so the
        row's state alone answers "is it active?" (reads still roll up the live progress)."""
        parent = self.get_job(parent_id)  # rolled up from the children
        if not parent.state.finished:
            return
        with self._write() as conn:
            conn.execute(
                update(jobs)
                .where(jobs.c.id == parent_id, jobs.c.state.not_in(_FINISHED))
                .values(
                    state=parent.state.value,
                    fraction=parent.fraction,
                    message=parent.message,
                    finished_at=parent.finished_at or utcnow(),
                )
            )

    def request_cancel(self, job_id: str) -> JobRecord:
        """Ask a job (and its children) to stop: queued ones never start, running ones stop at
        their next progress report, wherever they run."""
        job = self.get_job(job_id)
        now = utcnow()
        ids = (jobs.c.id == job_id) | (jobs.c.parent_id == job_id)
        # queued jobs stop here; a parent's row follows its children (_settle_parent)
        never_start = jobs.c.parent_id == job_id if job.children else jobs.c.id == job_id
        with self._write() as conn:
            conn.execute(
                update(jobs)
                .where(ids, jobs.c.state.not_in(_FINISHED))
                .values(cancel_requested=True)
            )
            conn.execute(
                update(jobs)
                .where(never_start, jobs.c.state == JobState.QUEUED.value)
                .values(state=JobState.CANCELLED.value, finished_at=now, message="cancelled")
            )
        if job.children:
            self._settle_parent(job_id)
        elif job.parent_id is not None:
            self._settle_parent(job.parent_id)
        return self.get_job(job_id)

    def waiting_since(self, older_than_s: float) -> list[JobRecord]:
        """Jobs a worker should run that are still queued ``older_than_s`` after they were made:
        lone jobs and the children of a fan-out (a fan-out parent is never queued itself)."""
        cutoff = utcnow() - timedelta(seconds=older_than_s)
        child = jobs.alias("child")
        query = select(jobs).where(
            jobs.c.state == JobState.QUEUED.value,
            jobs.c.created_at < cutoff,
            ~exists().where(child.c.parent_id == jobs.c.id),
        )
        with self._read() as conn:
            return [_record(r) for r in conn.execute(query)]

    def requeue_stale(self, older_than_s: float, max_attempts: int = 3) -> list[JobRecord]:
        """Running jobs whose worker stopped beating for ``older_than_s``: back to queued (the
        caller enqueues them again), or failed after ``max_attempts``. Each row changes under a
        compare-and-set, so of several workers doing this at once exactly one takes each job."""
        cutoff = utcnow() - timedelta(seconds=older_than_s)
        stale = (
            jobs.c.state == JobState.RUNNING.value,
            jobs.c.heartbeat_at < cutoff,
        )
        with self._read() as conn:
            rows = [_record(r) for r in conn.execute(select(jobs).where(*stale))]
        requeued = []
        for job in rows:
            gone = job.attempts >= max_attempts or job.cancel_requested
            values: dict[str, Any] = (
                {
                    "state": (
                        JobState.CANCELLED if job.cancel_requested else JobState.FAILED
                    ).value,
                    "finished_at": utcnow(),
                    "error": None
                    if job.cancel_requested
                    else f"WorkerLost: its worker stopped {job.attempts} time(s)",
                }
                if gone
                else {"state": JobState.QUEUED.value, "message": f"retrying after {job.worker}"}
            )
            with self._write() as conn:
                changed = conn.execute(
                    update(jobs).where(jobs.c.id == job.id, *stale).values(**values)
                ).rowcount
            if changed and not gone:
                requeued.append(self.get_job(job.id))
            elif changed and job.parent_id is not None:
                self._settle_parent(job.parent_id)
        return requeued
