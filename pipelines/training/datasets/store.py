"""A labeler project -> ``GresGroup``s, using *complete* expressions only.

Only an expression whose every image has a human decision is used: then its negatives are
certified, which is what GRES training needs (an undecided image may well contain the object).
Model proposals never count as ground truth.
"""

from __future__ import annotations

from pathlib import Path

from labeler.domain import DecisionStatus
from labeler.project import Project
from pipelines.training.datasets.base import GresGroup, GresItem, file_loader


def store_groups(root: str | Path, groups: set[str] | None = None) -> list[GresGroup]:
    """Every complete expression of the project at ``root`` (optionally of some groups only)."""
    out = []
    with Project.open(root) as project:
        store = project.store
        names = {g.id: g.name for g in store.list_groups()}
        images_by_group: dict[int, list] = {}
        for progress in store.expression_progress():
            name = names[progress.group_id]
            if not progress.complete or (groups is not None and name not in groups):
                continue
            if progress.group_id not in images_by_group:
                images_by_group[progress.group_id] = store.list_images(progress.group_id)
            images = images_by_group[progress.group_id]
            decisions = store.decisions_for_expression(
                progress.expression_id, [i.id for i in images]
            )
            items = []
            for image in images:
                decision = decisions[image.id]
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
            out.append(GresGroup(name, progress.text, tuple(items)))
    return out
