"""The model jobs the UI can start, found at run time: pre-labeling, a feedback round, embeddings.

Each :class:`JobOffer` carries a callable with the :mod:`pipelines.services.jobs` signature
(``fn(progress, project, **params)``) or, when it cannot run here, the reason. Pre-labeling and
the feedback round are looked up in ``pipelines.loop.prelabel`` / ``pipelines.loop.feedback`` by name
(:data:`ENTRY_POINTS`), so the page works before they exist and picks them up when they do.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labeler.project import Project

#: offer key -> (module, function). The function is called as ``fn(project, progress=..., **params)``
#: with params ``group_id`` / ``expression_id`` (None = all) and returns a short summary or a report.
ENTRY_POINTS = {
    "prelabel": ("pipelines.loop.prelabel", "prelabel_project"),
    "feedback": ("pipelines.loop.feedback", "run_round"),
}


@dataclass(frozen=True)
class JobOffer:
    key: str
    label: str
    help: str
    fn: Callable[..., Any] | None
    unavailable: str | None = None


def _entry(key: str) -> Callable[..., Any] | None:
    module_name, attr = ENTRY_POINTS[key]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise
    return getattr(module, attr, None)


def _as_job(fn: Callable[..., Any]) -> Callable[..., Any]:
    def job(progress, project: Project, **params):
        return fn(project, progress=progress, **params)

    job.__name__ = getattr(fn, "__name__", "job")
    return job


def _no_checkpoint_reason(project: Project) -> str | None:
    """Why pre-labeling cannot run, or None: it needs a current model in the registry or a
    ``grser_checkpoint`` in project.json (``pipelines.loop.prelabel.resolve_checkpoint``'s order;
    checked without its side effect of registering the file)."""
    if project.store.current_model() is not None:
        return None
    configured = str(project.settings.extra.get("grser_checkpoint", "") or "")
    if not configured:
        return (
            "needs a GRSer checkpoint: run `grd round` (or `grd prelabel --checkpoint`), "
            "or set `grser_checkpoint` under `extra` in project.json"
        )
    path = Path(configured)
    if not (path if path.is_absolute() else project.root / path).exists() and not path.exists():
        return f"needs a GRSer checkpoint: {configured} does not exist"
    return None


def offers(project: Project) -> list[JobOffer]:
    """What the model page can start for this project, each with a callable or a reason."""
    result = []
    for key, label, help_ in (
        (
            "prelabel",
            "Pre-label with GRSer",
            "Propose masks and presence for every undecided pair of the chosen group.",
        ),
        (
            "feedback",
            "Feedback round",
            "Train on the confirmed decisions, then pre-label what is left with the new model.",
        ),
    ):
        fn = _entry(key)
        if fn is None:
            module, attr = ENTRY_POINTS[key]
            reason = f"not available in this installation ({module}.{attr} is missing)"
        elif key == "prelabel":
            reason = _no_checkpoint_reason(project)
        else:
            reason = None
        result.append(
            JobOffer(key, label, help_, _as_job(fn) if fn and not reason else None, reason)
        )
    result.append(
        JobOffer(
            "embed",
            "Precompute segmenter embeddings",
            "Embed every image of the group once, so the editor's first click is fast.",
            embed_group_job,
        )
    )
    return result


def embed_group_job(progress, project: Project, group_id: int | None = None, **_: Any) -> str:
    """Job: the segmenter's embedding of every image (of one group, or all), in sweep order."""
    from pipelines.click_models.prefetch import embed_images_job, sweep_order
    from pipelines.click_models.segmenters import project_segmenter

    groups = [group_id] if group_id is not None else [g.id for g in project.store.list_groups()]
    images = [im for g in groups for im in sweep_order(project.store, g)]
    return embed_images_job(progress, project, project_segmenter(project), images)
