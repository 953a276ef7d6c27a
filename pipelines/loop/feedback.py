"""The feedback loop: corrections train the next model, the next model proposes better.

    result = run_round(project)          # grd round DIR, or the "Feedback round" button

One round: snapshot the human decisions (which pairs, at which revision) -> training groups from
the complete expressions (certified negatives included), minus a held-out split of image groups
that is never trained on -> fine-tune the current model -> evaluate child and parent on the same
held-out split -> register the child with its config, snapshot, report and parent -> if its
bar-mIoU beats the parent's, make it current and pre-label what is still undecided with it.

The held-out split is chosen once per image group and remembered in the store (setting
``feedback.holdout_groups``), so a group never moves from evaluation into training.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from labeler.domain import DecisionStatus
from labeler.progress_types import Progress
from labeler.project import Project
from labeler.store import ModelRecord, Store
from pipelines.loop.prelabel import prelabel_project
from pipelines.loop.registry import (
    MODELS_DIR,
    current_model,
    json_safe,
    model_path,
    register_checkpoint,
)
from pipelines.training.datasets.base import GresGroup
from pipelines.training.datasets.store import (
    CompleteExpression,
    complete_expressions,
    gres_groups,
)

HOLDOUT_SETTING = "feedback.holdout_groups"


class RoundError(ValueError):
    """A round cannot run (no complete expressions, nothing held out, ...); the message says why."""


@dataclass
class RoundResult:
    model: ModelRecord
    parent: ModelRecord | None
    improved: bool
    report: dict
    parent_report: dict
    prelabel: Any = None
    train_groups: list[str] = field(default_factory=list)
    holdout_groups: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parent = self.parent.name if self.parent else "none"
        text = (
            f"{self.model.name} (parent {parent}): held-out bar-mIoU "
            f"{self.report.get('bar_miou', float('nan')):.4f} vs parent "
            f"{self.parent_report.get('bar_miou', float('nan')):.4f}; "
            + ("now current" if self.improved else "not better: the current model stays")
        )
        if self.prelabel is not None:
            text += f"; {self.prelabel.summary()}"
        return text


# ------------------------------------------------------------------------------- data snapshot
def snapshot_of(complete: Sequence[CompleteExpression]) -> dict:
    """The record of what a round trained on: every human decision of every complete expression,
    by revision, with a hash and counts."""
    pairs, positives, negatives = [], 0, 0
    for expression in complete:
        for image_id, d in sorted(expression.decisions.items()):
            pairs.append([expression.expression_id, image_id, d.revision])
            positives += d.status is DecisionStatus.POSITIVE
            negatives += d.status is DecisionStatus.NEGATIVE
    digest = hashlib.sha256(json.dumps(pairs).encode()).hexdigest()
    return {
        "pairs": pairs,
        "hash": digest,
        "expressions": len(complete),
        "positives": positives,
        "negatives": negatives,
    }


def dataset_snapshot(store: Store) -> dict:
    """:func:`snapshot_of` the store as it is now."""
    return snapshot_of(complete_expressions(store))


def read_corrections(project: Project) -> tuple[dict, list[GresGroup]]:
    """(snapshot, training groups) from ONE read of the decisions, so the round records exactly
    the data it trains and evaluates on, even if someone saves while it reads."""
    complete = complete_expressions(project.store)
    return snapshot_of(complete), gres_groups(project, complete)


def split_holdout(store: Store, names: Sequence[str], fraction: float = 0.2) -> set[str]:
    """The held-out image groups among ``names``; remembered, so a group's side never changes.

    Groups seen for the first time go to the held-out side by a hash of their name (stable across
    machines); if nothing is held out yet, the group with the lowest hash is.
    """
    known = dict(store.get_setting(HOLDOUT_SETTING, None) or {})
    new = sorted((n for n in names if n not in known), key=lambda n: zlib.crc32(n.encode()))
    for name in new:
        known[name] = (zlib.crc32(name.encode()) % 1000) < fraction * 1000
    if new and not any(known[n] for n in names):
        known[new[0]] = True  # something must be held out
    if len(names) > 1 and all(known[n] for n in names):
        for name in reversed(new):  # ... and something trained on (only new groups may move)
            if sum(known[n] for n in names) > 1:
                known[name] = False
                break
    store.set_setting(HOLDOUT_SETTING, known)
    return {n for n in names if known.get(n)}


# ------------------------------------------------------------------------------- the round
def run_round(
    project: Project,
    *,
    progress: Progress | None = None,
    epochs: int = 5,
    lr: float = 1e-3,
    batch_size: int = 4,
    max_steps: int = 0,
    holdout_fraction: float = 0.2,
    device: str = "cpu",
    base_model: str = "tiny",
    prelabel: bool = True,
    prelabel_batch_size: int = 4,
    train_overrides: dict | None = None,
    seed: int = 0,
    log: Callable[[str], None] = lambda _: None,
    refine: bool | None = None,
    segmenter: Any = None,
    **_: Any,
) -> RoundResult:
    """Snapshot, fine-tune from the current model, evaluate, register, pre-label if better.

    Without any model yet the round trains ``base_model`` from its initial weights (the parent is
    then none and the child becomes current). ``train_overrides`` are ``TrainConfig`` fields.
    ``refine`` / ``segmenter`` go to the pre-labeling (``pipelines.loop.prelabel.prelabel_project``).
    """
    from model.checkpoint import load_checkpoint
    from pipelines.training.config import TrainConfig
    from pipelines.training.evaluate import evaluate_groups
    from pipelines.training.train import train

    def step(fraction: float, message: str) -> None:
        log(message)
        if progress is not None:
            progress(fraction, message)

    store = project.store
    step(0.0, "snapshot of the corrections")
    snapshot, groups = read_corrections(project)
    names = sorted({g.name for g in groups if g.positives})
    if len(names) < 2:
        raise RoundError(
            f"need complete expressions (with a positive) in at least 2 image groups, "
            f"found {len(names)}: annotate more before a round"
        )
    held = split_holdout(store, names, holdout_fraction)
    if held == set(names):
        raise RoundError("every complete group is held out for evaluation; annotate another group")
    train_set = [g for g in groups if g.name not in held]
    eval_set = [g for g in groups if g.name in held]
    parent = current_model(project)
    round_index = len(store.list_models())
    out_dir = project.root / MODELS_DIR / "runs" / f"round-{round_index:03d}-{snapshot['hash'][:8]}"
    if out_dir.exists():
        shutil.rmtree(out_dir)  # a crashed attempt of this very round: start it over
    cfg_fields = dict(
        model=(parent.config.get("model", {}).get("name", base_model) if parent else base_model),
        init_checkpoint=str(model_path(project, parent)) if parent else "",
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        max_steps=max_steps,
        out_dir=str(out_dir),
        seed=seed,
        resume=False,
        device=device,
        tensorboard=False,
        eval_every=0,
        log_every=10,
    )
    cfg_fields.update(train_overrides or {})
    cfg = TrainConfig(**cfg_fields)
    step(
        0.05,
        f"fine-tuning on {len(train_set)} expressions of {len(names) - len(held)} groups "
        f"({len(held)} groups, {len(eval_set)} expressions held out)",
    )
    train(cfg, progress=False, train_groups=train_set, val_groups=[])
    step(0.6, "evaluating on the held-out groups")
    child_model, _ = load_checkpoint(out_dir / "checkpoints" / "final.pt", map_location=device)
    report = evaluate_groups(child_model, eval_set, device=device, seed=seed)
    if parent is not None:
        parent_model, _ = load_checkpoint(model_path(project, parent), map_location=device)
        parent_report = evaluate_groups(parent_model, eval_set, device=device, seed=seed)
    else:
        parent_report = {}
    improved = parent is None or report["bar_miou"] > parent_report["bar_miou"]
    full_report = dict(
        json_safe(report),
        parent_bar_miou=parent_report.get("bar_miou"),
        holdout_groups=sorted(held),
        train_groups=sorted(set(names) - held),
    )
    step(0.7, "registering the new model")
    record = register_checkpoint(
        project,
        out_dir / "checkpoints" / "final.pt",
        round_index=round_index,
        parent_id=parent.id if parent else None,
        dataset=snapshot,
        report=full_report,
        train_config=cfg.to_dict(),
        make_current=improved,
    )
    shutil.rmtree(out_dir, ignore_errors=True)  # the registry keeps the slim copy
    result = RoundResult(
        record,
        parent,
        improved,
        report,
        parent_report,
        train_groups=sorted(set(names) - held),
        holdout_groups=sorted(held),
    )
    if improved and prelabel:

        def sub(fraction: float, message: str = "") -> None:
            if progress is not None:
                progress(0.75 + 0.25 * fraction, message)

        result.prelabel = prelabel_project(
            project,
            checkpoint=model_path(project, record),
            model_version=record.name,
            device=device,
            batch_size=prelabel_batch_size,
            progress=sub,
            refine=refine,
            segmenter=segmenter,
        )
    step(1.0, result.summary())
    return result
