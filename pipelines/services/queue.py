"""Jobs past one machine: RQ on Redis carries job ids to ``grd worker`` processes anywhere.

With a Redis URL (``GRD_REDIS_URL``, else ``redis_url`` under ``extra`` in project.json) the app
puts each typed job's id on an RQ queue named after its kind's queue (embed, prelabel, train, io);
a worker on any machine that sees the project's database and files takes it, rebuilds the typed
parameters from the job's record and runs it (:func:`pipelines.services.job_kinds.run_recorded`).
The record in the database stays the truth about the job: state, progress, result, cancel flag.

Why RQ: it is the Redis job queue CVAT and Label Studio run, small (one pure-Python package on
``redis``), with plain queues a worker subscribes to by name, and its ``SimpleWorker`` runs jobs in
the worker's own process, so a GPU worker keeps CUDA and its models warm between jobs. Celery
would bring a broker abstraction and a result backend this project already has in its database.

A worker that dies mid-job (``kill -9``, a lost machine) stops beating the job's heartbeat; every
live worker checks every few seconds for such jobs (``Store.requeue_stale``: exactly one worker wins
each) and puts them back on the queue, up to three attempts. The jobs' writes are idempotent
(pre-labeling skips pairs its model version already proposed), so a retry redoes only the rest.
RQ's own abandoned-job handling needs a minute or more to notice; this takes ``stale_s``.

    grd worker DIR --queues prelabel,embed --gpu
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from labeler.errors import ProjectError
from labeler.project import Project
from pipelines.services.job_exec import STALE_S, worker_name

REDIS_ENV = "GRD_REDIS_URL"
#: Queue names are ``<prefix>-<queue>``: several projects (or test runs) can share one Redis.
PREFIX_ENV = "GRD_QUEUE_PREFIX"
DEFAULT_PREFIX = "grd"
#: How often an idle or finishing worker looks for jobs whose worker died (seconds).
CHECK_S = 2.0


def redis_url(project: Project) -> str:
    return os.environ.get(REDIS_ENV) or str(project.settings.extra.get("redis_url", "") or "")


def queue_prefix(project: Project) -> str:
    return os.environ.get(PREFIX_ENV) or str(
        project.settings.extra.get("queue_prefix", "") or DEFAULT_PREFIX
    )


class RedisQueue:
    """Puts job ids on the RQ queues of one project (``<prefix>-<queue>``)."""

    def __init__(self, url: str, prefix: str = DEFAULT_PREFIX):
        from redis import Redis

        self.url, self.prefix = url, prefix
        self.connection = Redis.from_url(url)

    def rq_queue(self, queue: str):
        from rq import Queue

        return Queue(f"{self.prefix}-{queue}", connection=self.connection)

    def enqueue(self, job_id: str, queue: str) -> None:
        # No RQ timeout (a training round runs for hours) and no RQ retry: retries come from the
        # job's record (``requeue_stale``), which knows whether the job is still wanted.
        self.rq_queue(queue).enqueue(
            perform,
            job_id,
            job_id=f"{self.prefix}-{job_id}-{uuid.uuid4().hex[:8]}",
            job_timeout=-1,
            result_ttl=3600,
            failure_ttl=7 * 86400,
        )

    def held_job_ids(self, queues: Sequence[str]) -> set[str]:
        """Record ids of the jobs Redis holds on ``queues``: waiting, or taken by a worker."""
        from rq.registry import StartedJobRegistry

        held = set()
        for name in queues:
            rq_queue = self.rq_queue(name)
            held.update(rq_queue.job_ids)
            held.update(StartedJobRegistry(queue=rq_queue).get_job_ids())
        start = len(self.prefix) + 1  # RQ ids read "<prefix>-<record id>-<8 hex>" (enqueue)
        return {i[start:].rsplit("-", 1)[0] for i in held if i.startswith(f"{self.prefix}-")}

    def requeue_lost(self, store, older_than_s: float) -> list[str]:
        """Queue again the jobs whose record says queued (for ``older_than_s``) but that Redis
        does not hold: lost with a Redis restart or flush. Returns their ids. A job put back
        twice (two workers checking at once) runs once: a worker claims a record only while
        it is queued (``Store.claim_job``)."""
        from pipelines.services.job_kinds import KINDS, QUEUES

        waiting = store.waiting_since(older_than_s)
        if not waiting:
            return []
        held = self.held_job_ids(QUEUES)
        lost = [job for job in waiting if job.id not in held and job.kind in KINDS]
        for job in lost:
            self.enqueue(job.id, KINDS[job.kind].queue)
        return [job.id for job in lost]

    def pending(self, queues: Sequence[str]) -> int:
        """Jobs waiting on these queues (not yet taken by a worker)."""
        return sum(len(self.rq_queue(q)) for q in queues)

    def delete(self) -> None:
        """Remove every RQ key of this prefix: queues, registries, jobs, results, workers (tests;
        a project taken down). Job ids and worker names carry the prefix, so nothing else goes."""
        mine = list(self.connection.scan_iter(match=f"*{self.prefix}-*", count=1000))
        if mine:
            self.connection.delete(*mine)
        for registry in ("rq:workers", "rq:queues"):
            for member in self.connection.smembers(registry):
                if f"{self.prefix}-".encode() in member:
                    self.connection.srem(registry, member)


def project_queue(project: Project) -> RedisQueue | None:
    """The project's queue when a Redis URL is configured; None means jobs run in-process."""
    url = redis_url(project)
    return RedisQueue(url, queue_prefix(project)) if url else None


@dataclass
class _Worker:
    project: Project
    device: str
    name: str


_worker: _Worker | None = None  # set by run_worker in the worker process


def perform(job_id: str) -> str:
    """The RQ task: run the recorded job ``job_id`` of this worker's project; its final state."""
    from pipelines.services.job_kinds import run_recorded

    worker = _worker
    if worker is None:  # a plain `rq worker` with GRD_PROJECT set
        worker = _Worker(Project.open(os.environ["GRD_PROJECT"]), "cpu", worker_name())
    return run_recorded(worker.project, job_id, worker.device, worker.name).state.value


def _worker_class():
    from rq.worker import SimpleWorker

    class GrdWorker(SimpleWorker):
        """RQ's in-process worker that also puts back, every ``CHECK_S``, jobs whose worker died
        and queued jobs that Redis no longer holds."""

        def __init__(self, *args, grd_queue: RedisQueue, project: Project, stale_s: float, **kw):
            super().__init__(*args, **kw)
            self.grd_queue, self.project, self.stale_s = grd_queue, project, stale_s
            self._last_check = 0.0

        @property
        def should_run_maintenance_tasks(self) -> bool:
            return time.monotonic() - self._last_check >= CHECK_S

        def run_maintenance_tasks(self) -> None:
            from pipelines.services.job_kinds import KINDS

            self._last_check = time.monotonic()
            for job in self.project.store.requeue_stale(self.stale_s):
                self.log.warning("job %s lost its worker %s: queued again", job.id, job.worker)
                self.grd_queue.enqueue(job.id, KINDS[job.kind].queue)
            for job_id in self.grd_queue.requeue_lost(self.project.store, self.stale_s):
                self.log.warning("job %s was queued but Redis lost it: queued again", job_id)
            due = self.last_cleaned_at is None or (
                time.time() - self.last_cleaned_at.timestamp() > self.maintenance_interval
            )
            if due:
                super().run_maintenance_tasks()

    return GrdWorker


def run_worker(
    directory: str | os.PathLike,
    queues: Sequence[str],
    *,
    gpu: bool = False,
    burst: bool = False,
    stale_s: float = STALE_S,
    log_level: str = "INFO",
) -> bool:
    """Serve ``queues`` of the project at ``directory`` until stopped (``burst``: until empty).

    Returns whether it ran any job. ``gpu`` runs the jobs on CUDA (refused where there is none).
    """
    global _worker
    from pipelines.services.job_kinds import QUEUES

    project = Project.open(directory)
    url = redis_url(project)
    if not url:
        raise ProjectError(
            f"no Redis URL for {directory}: set {REDIS_ENV} or `redis_url` under `extra` in "
            "project.json (without one, jobs run inside the app)"
        )
    unknown = sorted(set(queues) - set(QUEUES))
    if unknown:
        raise ProjectError(f"unknown queue(s) {', '.join(unknown)}; known: {', '.join(QUEUES)}")
    device = "cpu"
    if gpu:
        import torch

        if not torch.cuda.is_available():
            raise ProjectError("--gpu: no CUDA device is visible to this worker")
        device = "cuda"
    _worker = _Worker(project, device, worker_name())
    if "prelabel" in queues:  # load the model before taking jobs, not during the first one
        from pipelines.loop.prelabel import warm_up

        warm_up(project, device)
    grd_queue = RedisQueue(url, queue_prefix(project))
    worker = _worker_class()(
        [grd_queue.rq_queue(q) for q in queues],
        connection=grd_queue.connection,
        name=f"{grd_queue.prefix}-{socket.gethostname()}-{os.getpid()}",
        worker_ttl=15 + int(CHECK_S),  # RQ wakes from an idle wait every worker_ttl - 15 s
        grd_queue=grd_queue,
        project=project,
        stale_s=stale_s,
    )
    return worker.work(burst=burst, logging_level=log_level)
