"""A labeler project -> ``GresGroup``s, using *complete* expressions only.

Only an expression whose every image has a human decision is used: then its negatives are
certified, which is what GRES training needs (an undecided image may well contain the object).
Model proposals never count as ground truth.

    complete = complete_expressions(project.store)   # one read of the decisions
    groups = gres_groups(project, complete)           # training data from that read
    store_groups(root)                                # both, for a project folder
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from labeler.domain import DecisionStatus, ExpressionDecision, ImageRecord
from labeler.project import Project
from labeler.store import Store
from pipelines.training.datasets.base import GresGroup, GresItem, file_loader


@dataclass(frozen=True)
class CompleteExpression:
    """A complete expression as read once: its images and every image's human decision."""

    group_name: str
    expression_id: int
    text: str
    images: tuple[ImageRecord, ...]
    decisions: Mapping[int, ExpressionDecision]  # image id -> decision, every image of the group


def complete_expressions(store: Store, groups: set[str] | None = None) -> list[CompleteExpression]:
    """Every complete expression (optionally of some image groups only), with its decisions."""
    names = {g.id: g.name for g in store.list_groups()}
    images_by_group: dict[int, tuple[ImageRecord, ...]] = {}
    out = []
    for progress in store.expression_progress():
        name = names[progress.group_id]
        if not progress.complete or (groups is not None and name not in groups):
            continue
        if progress.group_id not in images_by_group:
            images_by_group[progress.group_id] = tuple(store.list_images(progress.group_id))
        images = images_by_group[progress.group_id]
        decisions = store.decisions_for_expression(progress.expression_id, [i.id for i in images])
        out.append(
            CompleteExpression(name, progress.expression_id, progress.text, images, decisions)
        )
    return out


def gres_groups(project: Project, complete: Sequence[CompleteExpression]) -> list[GresGroup]:
    """Training groups from complete expressions (positive masks; no mask = certified negative)."""
    out = []
    for expression in complete:
        items = []
        for image in expression.images:
            decision = expression.decisions[image.id]
            positive = decision.status is DecisionStatus.POSITIVE
            items.append(
                GresItem(
                    key=f"{project.root.name}/{image.id}",
                    load_image=file_loader(project.image_path(image)),
                    height=image.height,
                    width=image.width,
                    instances=tuple(i.rle for i in decision.instances) if positive else (),
                )
            )
        out.append(GresGroup(expression.group_name, expression.text, tuple(items)))
    return out


def store_groups(root: str | Path, groups: set[str] | None = None) -> list[GresGroup]:
    """Every complete expression of the project at ``root`` (optionally of some groups only)."""
    with Project.open(root) as project:
        return gres_groups(project, complete_expressions(project.store, groups))
