"""The kinds of typed jobs: each with its parameter object, the function it runs, and its queue.

A job's parameters are a frozen dataclass, stored as JSON in its record and rebuilt from there by
whoever runs it (a thread of the app or a queue worker on another machine), so a job never takes
arguments it does not know. ``device`` is not a parameter: it is the runner's (``grd worker --gpu``).

    runner.start(project, PrelabelParams(group_id=3, refine=True), author="ann")
    run_recorded(project, job_id, device="cuda")   # what a worker does with a job id

Pre-labeling and embedding a whole project fan out: one job per group (:func:`fan_out`), spread
over the workers; their writes are idempotent, so a job retried after its worker died redoes only
what was not saved.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labeler.errors import LabelerError
from labeler.progress_types import Progress
from labeler.project import Project
from labeler.store import JobRecord
from pipelines.services.job_exec import execute


class BadJobParams(LabelerError, ValueError):
    """A job record's parameters do not fit its kind (unknown kind, unknown or missing field)."""


@dataclass(frozen=True)
class PrelabelParams:
    """GRSer proposals for the undecided pairs of one group / expression, or of all."""

    group_id: int | None = None
    expression_id: int | None = None
    refine: bool | None = None  # None: the project's ``prelabel_refine``
    checkpoint: str | None = None  # None: the registry's current model
    group_size: int | None = None  # None: the model's N
    batch_size: int = 4


@dataclass(frozen=True)
class EmbedParams:
    """The click segmenter's embedding of every image of one group (or of all), cached on disk."""

    group_id: int | None = None


@dataclass(frozen=True)
class FeedbackParams:
    """A feedback round: train on the confirmed decisions, register, pre-label the rest."""

    refine: bool | None = None
    epochs: int = 5


@dataclass(frozen=True)
class IngestPathParams:
    """Ingest a folder, manifest or image that the worker's machine sees at ``source``."""

    source: str
    group: str | None = None
    target: str = ""
    scene: str = ""


def _prelabel(progress: Progress, project: Project, p: PrelabelParams, device: str) -> Any:
    from pipelines.loop.prelabel import prelabel_project

    return prelabel_project(
        project,
        progress=progress,
        group_id=p.group_id,
        expression_id=p.expression_id,
        refine=p.refine,
        checkpoint=p.checkpoint,
        group_size=p.group_size,
        batch_size=p.batch_size,
        device=device,
    )


def _prelabel_prepare(project: Project, p: PrelabelParams) -> None:
    """Register the checkpoint once, before the jobs fan out: workers registering the same file
    at once would race on its copy and its name."""
    from pipelines.loop.registry import resolve_checkpoint

    resolve_checkpoint(project, p.checkpoint)


def _embed(progress: Progress, project: Project, p: EmbedParams, device: str) -> Any:
    from pipelines.click_models.segmenters import embed_project_images

    return embed_project_images(project, p.group_id, progress)


def _feedback(progress: Progress, project: Project, p: FeedbackParams, device: str) -> Any:
    from pipelines.loop.feedback import run_round

    return run_round(project, progress=progress, refine=p.refine, epochs=p.epochs, device=device)


def _ingest_path(progress: Progress, project: Project, p: IngestPathParams, device: str) -> Any:
    from pipelines.intake.uploads import ingest_server_path

    # The author was authorized when the job was started (JobRunner.start); the roots apply here.
    return ingest_server_path(progress, project, p.source, p.group, p.target, p.scene)


@dataclass(frozen=True)
class JobKind:
    key: str  # the record's ``kind``
    label: str  # what the app calls it
    params: type
    run: Callable[[Progress, Project, Any, str], Any]  # (progress, project, params, device)
    queue: str  # the worker queue it goes to: embed, prelabel, train, io
    #: run once by whoever starts the job, before it is queued (fails early, in the caller)
    prepare: Callable[[Project, Any], None] | None = None

    def describe(self, project: Project, params: Any) -> str:
        group_id = getattr(params, "group_id", None)
        if group_id is not None:
            return f"{self.label}: {project.store.get_group(group_id).name}"
        if getattr(params, "source", None):
            return f"{self.label}: {params.source}"
        return f"{self.label}: all groups" if hasattr(params, "group_id") else self.label


KINDS: dict[str, JobKind] = {
    k.key: k
    for k in (
        JobKind(
            "prelabel",
            "Pre-label with GRSer",
            PrelabelParams,
            _prelabel,
            "prelabel",
            _prelabel_prepare,
        ),
        JobKind("embed", "Precompute segmenter embeddings", EmbedParams, _embed, "embed"),
        JobKind("feedback", "Feedback round", FeedbackParams, _feedback, "train"),
        JobKind("ingest", "Ingest", IngestPathParams, _ingest_path, "io"),
    )
}
#: The worker queues, in the order a worker that serves them all takes jobs.
QUEUES = ("embed", "prelabel", "train", "io")


def kind_of(params: Any) -> JobKind:
    for kind in KINDS.values():
        if type(params) is kind.params:
            return kind
    raise BadJobParams(f"{type(params).__name__} is not the parameters of any job kind")


def encode(params: Any) -> dict[str, Any]:
    return dataclasses.asdict(params)


def decode(kind_key: str, data: dict[str, Any]) -> Any:
    """The typed parameters of a record (``BadJobParams`` names what does not fit)."""
    kind = KINDS.get(kind_key)
    if kind is None:
        raise BadJobParams(f"unknown job kind {kind_key!r}; known: {', '.join(KINDS)}")
    fields = {f.name for f in dataclasses.fields(kind.params)}
    unknown = sorted(set(data) - fields)
    if unknown:
        raise BadJobParams(f"{kind_key} job: unknown parameter(s) {', '.join(unknown)}")
    try:
        return kind.params(**data)
    except TypeError as exc:
        raise BadJobParams(f"{kind_key} job: {exc}") from exc


def fan_out(project: Project, params: Any) -> list[Any]:
    """The per-group jobs a project-wide pre-labeling or embedding splits into (else none)."""
    if type(params) is PrelabelParams and params.group_id is None and params.expression_id is None:
        pass
    elif type(params) is not EmbedParams or params.group_id is not None:
        return []
    return [dataclasses.replace(params, group_id=g.id) for g in project.store.list_groups()]


def offer_params(key: str, group_id: int | None, refine: bool | None) -> Any:
    """What the Model page starts for an offer: the scope and the refine box, typed."""
    if key == "prelabel":
        return PrelabelParams(group_id=group_id, refine=refine)
    if key == "embed":
        return EmbedParams(group_id=group_id)
    if key == "feedback":
        return FeedbackParams(refine=refine)
    raise BadJobParams(f"no job kind behind the offer {key!r}")


def run_recorded(project: Project, job_id: str, device: str = "cpu", worker: str = "") -> JobRecord:
    """Run the recorded job ``job_id`` of ``project`` (its kind and parameters from the record)."""
    record = project.store.get_job(job_id)
    kind = KINDS.get(record.kind)
    try:
        params = decode(record.kind, record.params or {})
    except BadJobParams as exc:
        message = str(exc)

        def refuse(progress: Progress) -> None:
            raise BadJobParams(message)

        return execute(project.store, job_id, refuse, worker=worker)
    return execute(project.store, job_id, kind.run, project, params, device, worker=worker)
