"""The model registry: which GRSer checkpoint labels this project, and how a checkpoint joins it.

    record = register_checkpoint(project, "run/final.pt", round_index=1, make_current=True)
    record = current_model(project)             # the current model, else the configured one
    record = resolve_checkpoint(project, path)  # an explicit file, registered if it is new
    reason = unavailable_reason(project)        # why nothing can pre-label yet, or None

The rule, in one place: the registry's current model; else the project's configured checkpoint
(``ProjectSettings.grser_checkpoint`` in project.json), registered as round 0 and made current the
first time it is used. Every model that proposes is registered, so each proposal's
``model_version`` (the registered name ``grser-r<k>-<sha8>``) traces back to its checkpoint, which
the registry keeps slimmed (weights and config, no optimizer state) under ``DIR/models/``.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

from labeler.errors import LabelerError
from labeler.project import Project
from labeler.store import ModelRecord

MODELS_DIR = "models"


class NoCheckpoint(LabelerError, ValueError):
    """No checkpoint was given, or it does not exist, and the project has no model to fall back on."""


def model_path(project: Project, record: ModelRecord) -> Path:
    """The registered checkpoint file of ``record``."""
    return project.root / record.path


def slim_copy(source: str | Path, target: Path, **meta: Any) -> Path:
    """Weights + config only (no optimizer state): what the registry keeps."""
    from model.checkpoint import load_checkpoint, save_checkpoint

    model, old = load_checkpoint(source)
    kept = {k: old[k] for k in ("epoch", "step") if k in old}
    return save_checkpoint(target, model, model.config, **kept, **meta)


def register_checkpoint(
    project: Project,
    checkpoint: str | Path,
    *,
    round_index: int = 0,
    parent_id: int | None = None,
    dataset: dict | None = None,
    report: dict | None = None,
    train_config: dict | None = None,
    make_current: bool = False,
) -> ModelRecord:
    """Copy a checkpoint into ``DIR/models/`` (slimmed) and register it as ``grser-r<k>-<sha8>``.

    A checkpoint whose slim copy is already registered under that name returns the existing record.
    """
    from model.checkpoint import read_checkpoint

    folder = project.root / MODELS_DIR
    folder.mkdir(exist_ok=True)
    tmp = slim_copy(checkpoint, folder / ".incoming.pt")
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()[:8]
    name = f"grser-r{round_index}-{digest}"
    for record in project.store.list_models():
        if record.name == name:
            tmp.unlink()
            return record
    path = folder / f"{name}.pt"
    tmp.replace(path)
    config = {"model": read_checkpoint(path)["config"], "train": train_config or {}}
    return project.store.register_model(
        name,
        _relative(project, path),
        config=config,
        dataset=dataset or {},
        report=json_safe(report or {}),
        parent_id=parent_id,
        make_current=make_current,
    )


def json_safe(report: dict) -> dict:
    """JSON-safe: NaN -> None, non-plain values dropped."""
    out = {}
    for key, value in report.items():
        if isinstance(value, float) and math.isnan(value):
            out[key] = None
        elif isinstance(value, (str, int, float, bool, type(None), list, dict)):
            out[key] = value
    return out


def _relative(project: Project, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(project.root.resolve()))
    except ValueError:
        return str(path.resolve())


def _locate(project: Project, checkpoint: str | Path) -> Path:
    """A checkpoint path as given, else relative to the project folder."""
    path = Path(checkpoint)
    if not path.is_absolute() and not path.exists():
        path = project.root / path
    return path


def unavailable_reason(project: Project) -> str | None:
    """Why :func:`current_model` has nothing to give, or None; checked without registering."""
    if project.store.current_model() is not None:
        return None
    configured = project.settings.grser_checkpoint
    if not configured:
        return (
            "no current model in the registry and no `grser_checkpoint` in project.json "
            "(`grd round` or `grd prelabel --checkpoint` registers one)"
        )
    if not _locate(project, configured).exists():
        return f"checkpoint {configured} does not exist"
    return None


def current_model(project: Project) -> ModelRecord | None:
    """The current model; else the configured ``grser_checkpoint``, registered as round 0 and made
    current; else None. Raises :class:`NoCheckpoint` when the configured file does not exist."""
    current = project.store.current_model()
    if current is not None:
        return current
    configured = project.settings.grser_checkpoint
    if not configured:
        return None
    path = _locate(project, configured)
    if not path.exists():
        raise NoCheckpoint(f"checkpoint {configured} does not exist")
    return register_checkpoint(
        project,
        path,
        round_index=0,
        make_current=True,
        report={"note": "imported from project.json grser_checkpoint"},
    )


def resolve_checkpoint(project: Project, checkpoint: str | Path | None = None) -> ModelRecord:
    """The registered model to label with: ``checkpoint`` if given (registered first if it is new,
    and made current if no model is), else :func:`current_model`. Raises :class:`NoCheckpoint`."""
    if checkpoint is None:
        record = current_model(project)
        if record is None:
            raise NoCheckpoint(f"no checkpoint given, {unavailable_reason(project)}")
        return record
    path = _locate(project, checkpoint)
    if not path.exists():
        raise NoCheckpoint(f"checkpoint {checkpoint} does not exist")
    store = project.store
    for record in store.list_models():
        if model_path(project, record).resolve() == path.resolve():
            return record
    return register_checkpoint(
        project,
        path,
        round_index=0,
        make_current=store.current_model() is None,
        report={"note": f"registered when pre-labeling with {checkpoint}"},
    )
