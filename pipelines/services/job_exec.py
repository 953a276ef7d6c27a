"""Running one recorded job: claim it, beat its heartbeat, turn progress into record updates.

:func:`execute` is the one way a job runs against its record (:mod:`labeler.store.jobs`), whether
on a thread of the app (:class:`pipelines.services.jobs.JobRunner`) or in a queue worker on
another machine (:mod:`pipelines.services.queue`). Cancelling is cooperative and works across
processes: ``progress`` raises :class:`JobCancelled` once the record's cancel flag is set.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import threading
import traceback
from collections.abc import Callable
from typing import Any

from labeler.store import JobRecord, JobState, Store

#: Seconds between heartbeats of a running job (its record's ``heartbeat_at``).
HEARTBEAT_S = 1.0
#: A running job whose heartbeat is older than this lost its worker (retried, or failed).
STALE_S = 30.0


class JobCancelled(Exception):
    """Raised inside a job by its ``progress`` callback once someone asked to cancel it."""


def worker_name() -> str:
    """``host:pid``: who ran a job, as its record says."""
    return f"{socket.gethostname()}:{os.getpid()}"


def jsonable(result: Any) -> Any:
    """A job's return value as JSON: a dataclass report becomes its fields plus ``summary``."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        data = json.loads(json.dumps(dataclasses.asdict(result), default=str))
        if hasattr(result, "summary"):
            data["summary"] = result.summary()
        return data
    try:
        return json.loads(json.dumps(result))
    except (TypeError, ValueError):
        return {"summary": str(result)}


def execute(
    store: Store,
    job_id: str,
    fn: Callable[..., Any],
    *args: Any,
    worker: str = "",
    heartbeat_s: float = HEARTBEAT_S,
    **kwargs: Any,
) -> JobRecord:
    """Run ``fn(progress, *args, **kwargs)`` as the job ``job_id``; returns its final record.

    A job that is not queued (finished, cancelled before it started, taken by another worker)
    does not run. While it runs a thread beats its heartbeat and watches the cancel flag.
    """
    if store.claim_job(job_id, worker or worker_name()) is None:
        return store.get_job(job_id)
    cancel, stop = threading.Event(), threading.Event()

    def beat() -> None:
        while not stop.wait(heartbeat_s):
            if not store.report_progress(job_id):
                cancel.set()

    def progress(fraction: float | None = None, message: str | None = None) -> None:
        if cancel.is_set() or not store.report_progress(job_id, fraction, message):
            cancel.set()
            raise JobCancelled(job_id)

    beater = threading.Thread(target=beat, name=f"grd-beat-{job_id}", daemon=True)
    beater.start()
    try:
        result = fn(progress, *args, **kwargs)
    except JobCancelled:
        store.finish_job(job_id, JobState.CANCELLED, message="cancelled")
    except Exception as exc:  # noqa: BLE001 - a job's failure is data for the UI, not a crash
        store.finish_job(
            job_id,
            JobState.FAILED,
            error=f"{type(exc).__name__}: {exc}",
            details=traceback.format_exc(),
        )
    else:
        store.finish_job(job_id, JobState.DONE, result=jsonable(result))
    finally:
        stop.set()
        beater.join()
    return store.get_job(job_id)
