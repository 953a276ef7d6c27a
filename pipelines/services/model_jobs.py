"""The model jobs the UI can start: pre-labeling, a feedback round, embeddings.

Each :class:`JobOffer` carries a callable with the :mod:`pipelines.services.jobs` signature
(``fn(progress, project, **params)``) or, when it cannot run here, the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labeler.project import Project
from pipelines.click_models.segmenters import embed_project_images
from pipelines.loop.feedback import run_round
from pipelines.loop.prelabel import prelabel_project
from pipelines.loop.registry import unavailable_reason


@dataclass(frozen=True)
class JobOffer:
    key: str
    label: str
    help: str
    fn: Callable[..., Any] | None
    unavailable: str | None = None


def _as_job(fn: Callable[..., Any]) -> Callable[..., Any]:
    def job(progress, project: Project, *, actor: str | None = None, **params):
        project.store.authorize(actor, "models")  # admins (anyone in local single-user mode)
        return fn(project, progress=progress, **params)

    job.__name__ = getattr(fn, "__name__", "job")
    return job


def offers(project: Project) -> list[JobOffer]:
    """What the model page can start for this project, each with a callable or a reason."""
    result = []
    for key, fn, label, help_ in (
        (
            "prelabel",
            prelabel_project,
            "Pre-label with GRSer",
            "Propose masks and presence for every undecided pair of the chosen group.",
        ),
        (
            "feedback",
            run_round,
            "Feedback round",
            "Train on the confirmed decisions, then pre-label what is left with the new model.",
        ),
    ):
        missing = unavailable_reason(project) if key == "prelabel" else None
        reason = f"needs a GRSer checkpoint: {missing}" if missing else None
        result.append(JobOffer(key, label, help_, None if reason else _as_job(fn), reason))
    result.append(
        JobOffer(
            "embed",
            "Precompute segmenter embeddings",
            "Embed every image of the group once, so the editor's first click is fast.",
            embed_group_job,
        )
    )
    return result


def embed_group_job(
    progress, project: Project, group_id: int | None = None, *, actor: str | None = None, **_: Any
) -> str:
    """Job: the segmenter's embedding of every image (of one group, or all), cached on disk."""
    project.store.authorize(actor, "models")
    return embed_project_images(project, group_id, progress)
