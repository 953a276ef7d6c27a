"""A project held in memory for export, and the shape every importer reads a file into.

``Snapshot`` is plain data built once from the store (``snapshot_from_store``) or from a file
(``exports.coco.read_coco`` and friends). The format builders are pure functions of it, and the
round-trip tests compare snapshots. Only human decisions and model proposals are kept: a pair that
is missing from ``decisions`` is unseen.

Which expressions an export contains (``selected_expressions``):

- ``incomplete="omit"`` (default): complete expressions only. Their negatives are certified,
  because every image of the group has a human decision.
- ``incomplete="mark"``: every expression; incomplete ones carry ``complete: false`` and list only
  the pairs that a person decided, so an undecided image never looks like a negative.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from labeler.domain import DecisionStatus, Expression, ExpressionDecision, Group, ImageRecord
from labeler.progress_types import Track
from labeler.store import Store

Incomplete = Literal["omit", "mark"]
INCOMPLETE_MODES: tuple[str, ...] = ("omit", "mark")


@dataclass(frozen=True)
class Snapshot:
    """Groups, images, expressions and the decided pairs of a project (or of an import file).

    ``decisions[expression_id][image_id]`` holds every pair that is not unseen. Ids are those of
    the source (database ids for a project, file ids for an import); ``ImageRecord.file`` is the
    image path relative to the image root (the project folder for a project).
    """

    groups: tuple[Group, ...]
    images: tuple[ImageRecord, ...]
    expressions: tuple[Expression, ...]
    decisions: dict[int, dict[int, ExpressionDecision]] = field(default_factory=dict)
    name: str = ""

    @cached_property
    def _by_group(self) -> dict[int, list[ImageRecord]]:
        by_group: dict[int, list[ImageRecord]] = {}
        for image in self.images:
            by_group.setdefault(image.group_id, []).append(image)
        return by_group

    def images_of(self, group_id: int) -> list[ImageRecord]:
        return list(self._by_group.get(group_id, ()))

    def group(self, group_id: int) -> Group:
        for group in self.groups:
            if group.id == group_id:
                return group
        raise KeyError(group_id)

    def human(self, expression_id: int) -> dict[int, ExpressionDecision]:
        """The pairs of an expression that a person decided (positive or negative)."""
        return {iid: d for iid, d in self.decisions.get(expression_id, {}).items() if d.is_human}

    def is_complete(self, expression: Expression) -> bool:
        """Every image of the expression's group has a human decision (and there is an image)."""
        images = {image.id for image in self.images_of(expression.group_id)}
        return bool(images) and images <= set(self.human(expression.id))

    def positives(self, expression_id: int) -> list[ExpressionDecision]:
        return sorted(
            (d for d in self.human(expression_id).values() if d.status is DecisionStatus.POSITIVE),
            key=lambda d: d.image_id,
        )

    def negatives(self, expression_id: int) -> list[ExpressionDecision]:
        return sorted(
            (d for d in self.human(expression_id).values() if d.status is DecisionStatus.NEGATIVE),
            key=lambda d: d.image_id,
        )

    def proposals(self, expression_id: int) -> list[ExpressionDecision]:
        return sorted(
            (
                d
                for d in self.decisions.get(expression_id, {}).values()
                if d.status is DecisionStatus.PROPOSED
            ),
            key=lambda d: d.image_id,
        )


@dataclass(frozen=True)
class SelectedExpression:
    expression: Expression
    complete: bool


def selected_expressions(
    snapshot: Snapshot, incomplete: Incomplete = "omit"
) -> list[SelectedExpression]:
    """The expressions an export writes, in id order (see the module docstring)."""
    if incomplete not in INCOMPLETE_MODES:
        raise ValueError(f"incomplete must be one of {INCOMPLETE_MODES}, got {incomplete!r}")
    chosen = []
    for expression in sorted(snapshot.expressions, key=lambda e: e.id):
        complete = snapshot.is_complete(expression)
        if complete or incomplete == "mark":
            chosen.append(SelectedExpression(expression, complete))
    return chosen


def snapshot_from_store(
    store: Store, *, name: str = "", progress: Track | None = None, reviewed_only: bool = False
) -> Snapshot:
    """Read a whole project once: every group, image, expression and non-unseen decision.

    ``store`` is a ``labeler.store.Store``; ``progress`` wraps the per-expression loop (a bar).
    ``reviewed_only`` keeps only the human decisions a reviewer accepted (as they stand now); the
    others read as undecided, so their expressions count as incomplete.
    """
    reviewed = store.reviewed_pairs() if reviewed_only else None
    groups = tuple(store.list_groups())
    images = tuple(store.list_images())
    expressions = tuple(store.list_expressions())
    # two streamed queries for every decision (not one per expression: 3,160 at 10x GRD)
    found = store.all_decisions()
    decisions: dict[int, dict[int, ExpressionDecision]] = {}
    for expression in progress(expressions) if progress else expressions:
        decisions[expression.id] = {
            iid: d
            for iid, d in found.get(expression.id, {}).items()
            if reviewed is None or not d.is_human or (expression.id, iid) in reviewed
        }
    return Snapshot(groups, images, expressions, decisions, name=name)
