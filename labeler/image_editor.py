"""The editor of one image for one expression: instances, SAM prompts, brush, undo, confirm.

An :class:`ImageEditor` owns an :class:`~labeler.history.EditSession` (the instance masks with
undo / redo), the prompts of the instance being segmented, and the store revision the edit is based
on. Every event it takes is in original-image pixels (the UI converts canvas clicks through
:mod:`labeler.geometry`). It never touches a UI and saves only on :meth:`confirm`.

Prompts: point clicks (1 = object, 0 = not object) and an optional box refine the *active*
instance through the segmenter, each prediction starting from the previous one's logits. Brush and
eraser strokes on an instance are kept with its prompts and re-applied after every later
prediction, so a hole cut with the eraser survives the next click. Undo / redo step through
edits and restore the prompts that belonged to each state.

A click on an instance whose mask the prompts did not make (a model proposal, a painted object,
one opened again with :meth:`ImageEditor.select`) *corrects* it; re-predicting from the clicks
alone would throw the proposal away at the first click. A segmenter that can take any mask as its
starting point (a :class:`~labeler.segmenter.RefiningSegmenter`, the classic one) refines the mask with the
clicks, the way it refines its own predictions. A segmenter that finds objects from their box
(a :class:`~labeler.segmenter.BoxSegmenter`: SAM, whose mask input is trained on its own logits
only) corrects a mask *as the model proposed it* from the proposal's box and the click, and the
clicks after it refine that prediction: the box keeps what the proposal knew (where the object is
and how big), SAM draws the outline. Otherwise (a painted or reopened object under SAM, or a
segmenter with neither ability) a positive click adds the segmenter's region under the point and
a negative click cuts it out, the rest of the mask staying. docs/editing.md and docs/assist.md
give the measurements behind each rule. A box always segments afresh.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from labeler import mask_ops
from labeler.annotate import Conflict, conflict_from, keep_mine, save_edit
from labeler.domain import DecisionStatus, ExpressionDecision
from labeler.errors import StaleRevision
from labeler.history import EditSession
from labeler.segmenter import (
    Embedding,
    Prompts,
    RefiningSegmenter,
    Segmenter,
    segments_from_box,
)
from labeler.store import Store

Point = tuple[float, float]


@dataclass(frozen=True)
class Stroke:
    """A brush (or eraser) stroke in original pixels."""

    points: tuple[Point, ...]
    radius: float
    erase: bool


@dataclass(frozen=True)
class PromptState:
    """Prompts of the active instance; ``logits`` come from the last prediction."""

    points: tuple[Point, ...] = ()
    labels: tuple[int, ...] = ()
    box: tuple[float, float, float, float] | None = None
    strokes: tuple[Stroke, ...] = ()
    logits: np.ndarray | None = field(default=None, compare=False, repr=False)
    corrects: bool = False  # the clicks correct a mask made before them (see the module docs)

    @property
    def has_model_prompts(self) -> bool:
        return bool(self.points) or self.box is not None

    def prompts(self) -> Prompts:
        return Prompts(self.points, self.labels, self.box, self.logits)


def _mask_key(mask: np.ndarray) -> bytes:
    """A mask's content as a hashable key (bit-packed)."""
    return np.packbits(np.asarray(mask, bool)).tobytes()


@dataclass(frozen=True)
class _Snapshot:
    active: int | None
    prompts: PromptState


class ImageEditor:
    """Edits of one (expression, image) pair, based on the stored ``decision``.

    Args:
        decision: the pair's decision as read from the store (its instances are the start state,
            its revision the one the save will name).
        height, width: the image size in original pixels.
    """

    def __init__(
        self, decision: ExpressionDecision, height: int, width: int, max_history: int = 500
    ):
        self.expression_id = decision.expression_id
        self.image_id = decision.image_id
        self.size = (int(height), int(width))
        self._max_history = max_history
        self.conflict: Conflict | None = None
        self._load(decision)

    def _load(self, decision: ExpressionDecision) -> None:
        self.base = decision
        self.session = EditSession(
            [i.rle for i in decision.instances], *self.size, max_history=self._max_history
        )
        self.active: int | None = 0 if len(self.session) else None
        self.prompts = PromptState()
        proposed = decision.status is DecisionStatus.PROPOSED
        self._as_proposed = {_mask_key(m) for m in self.instances} if proposed else set()
        self._undo: list[tuple[_Snapshot, _Snapshot]] = []
        self._redo: list[tuple[_Snapshot, _Snapshot]] = []

    # ---- state -----------------------------------------------------------------------------------
    @property
    def base_revision(self) -> int:
        return self.base.revision

    @property
    def instances(self) -> tuple[np.ndarray, ...]:
        return self.session.instances

    @property
    def dirty(self) -> bool:
        return self.session.dirty

    @property
    def can_undo(self) -> bool:
        return self.session.can_undo

    @property
    def can_redo(self) -> bool:
        return self.session.can_redo

    def _snapshot(self) -> _Snapshot:
        return _Snapshot(self.active, self.prompts)

    def _record(self, before: _Snapshot, revision: int) -> None:
        """Log the prompt state around an edit the session accepted (no-ops are not logged)."""
        if self.session.revision == revision:
            self.active, self.prompts = before.active, before.prompts
            return
        self._undo.append((before, self._snapshot()))
        del self._undo[: -self._max_history]
        self._redo.clear()

    # ---- instance list ---------------------------------------------------------------------------
    def new_object(self) -> None:
        """The next click, box or brush stroke starts a new instance."""
        self.active, self.prompts = None, PromptState()

    def select(self, index: int) -> None:
        if not 0 <= index < len(self.session):
            raise IndexError(f"no instance #{index}: this image has {len(self.session)}")
        if index != self.active:
            self.active, self.prompts = index, PromptState()

    def delete(self, index: int) -> None:
        before, revision = self._snapshot(), self.session.revision
        self.session.delete_instance(index)
        self.active = None if not len(self.session) else min(index, len(self.session) - 1)
        self.prompts = PromptState()
        self._record(before, revision)

    def delete_all(self) -> None:
        """Every instance gone in one edit (a proposal that is all wrong); undo restores them."""
        if not len(self.session):
            return
        before, revision = self._snapshot(), self.session.revision
        self.session.delete_instances(range(len(self.session)))
        self.active, self.prompts = None, PromptState()
        self._record(before, revision)

    # ---- model prompts ---------------------------------------------------------------------------
    def click(
        self, segmenter: Segmenter, embedding: Embedding, x: float, y: float, positive: bool
    ) -> None:
        """A point prompt on the active instance (or a new one): positive adds, negative removes."""
        state = self.prompts
        if self.active is not None and (state.corrects or not state.has_model_prompts):
            point, label = (float(x), float(y)), 1 if positive else 0
            box = self._proposal_box(self.active)
            if not state.corrects and box is not None and segments_from_box(segmenter):
                self._predict(
                    segmenter, embedding, replace(state, box=box, points=(point,), labels=(label,))
                )
                return
            if not isinstance(segmenter, RefiningSegmenter):
                self._correct(segmenter, embedding, point, positive)
                return
            if not state.corrects:  # the first click on this mask: the mask is the start
                mask = self.instances[self.active]
                state = replace(
                    state, logits=segmenter.prior_logits(embedding, mask), corrects=True
                )
        self._predict(
            segmenter,
            embedding,
            replace(
                state,
                points=state.points + ((float(x), float(y)),),
                labels=state.labels + (1 if positive else 0,),
            ),
        )

    def box(
        self, segmenter: Segmenter, embedding: Embedding, box: tuple[float, float, float, float]
    ) -> None:
        """A box prompt: replaces the active instance's box (a new instance when none is active)."""
        box = tuple(float(v) for v in box)
        state = self.prompts
        if state.corrects:  # segment afresh in the box; the strokes still apply on top
            state = PromptState(strokes=state.strokes)
        self._predict(segmenter, embedding, replace(state, box=box))

    def _proposal_box(self, index: int) -> tuple[float, float, float, float] | None:
        """The XYXY box of instance ``index`` while its mask is still one the model proposed
        (compared by content, so deleting another instance or undoing keeps it), else None."""
        mask = self.instances[index]
        if not self._as_proposed or _mask_key(mask) not in self._as_proposed:
            return None
        box = mask_ops.bbox_xyxy(mask)
        return None if box is None else tuple(float(v) for v in box)

    def _correct(
        self, segmenter: Segmenter, embedding: Embedding, point: Point, positive: bool
    ) -> None:
        """Add (positive) or cut out (negative) the segmenter's region under ``point``."""
        region = segmenter.predict(embedding, Prompts((point,), (1,))).mask
        before, revision = self._snapshot(), self.session.revision
        state = self.prompts
        self.prompts = replace(
            state,
            points=state.points + (point,),
            labels=state.labels + (1 if positive else 0,),
            logits=None,
            corrects=True,
        )
        if positive:
            self.session.add_region(self.active, region)
        else:
            self.session.subtract_region(self.active, region)
        self._record(before, revision)

    def _predict(self, segmenter: Segmenter, embedding: Embedding, state: PromptState) -> None:
        if not state.points and state.box is None:
            return
        result = segmenter.predict(embedding, state.prompts())
        mask = mask_ops.as_mask(result.mask, self.size)
        for stroke in state.strokes:
            mask = mask_ops.brush(mask, stroke.points, stroke.radius, erase=stroke.erase)
        before, revision = self._snapshot(), self.session.revision
        self.prompts = replace(state, logits=result.low_res_logits)
        if self.active is None:
            self.active = self.session.add_instance(mask)
        else:
            self.session.set_instance(self.active, mask, label="click" if state.points else "box")
        self._record(before, revision)

    # ---- manual edits ----------------------------------------------------------------------------
    def stroke(self, points, radius: float, erase: bool = False) -> None:
        """Paint (or erase) on the active instance; painting with none active starts a new one."""
        pts = tuple((float(x), float(y)) for x, y in np.asarray(points, dtype=float).reshape(-1, 2))
        if not pts or (erase and self.active is None):
            return
        before, revision = self._snapshot(), self.session.revision
        if self.active is None:
            self.active = self.session.add_instance(mask_ops.stroke_mask(pts, radius, self.size))
        else:
            self.session.brush(self.active, pts, radius, erase=erase)
        self.prompts = replace(
            self.prompts, strokes=self.prompts.strokes + (Stroke(pts, radius, erase),)
        )
        self._record(before, revision)

    def paint(self, mask: np.ndarray) -> None:
        """Set the active instance to ``mask`` (``H x W`` bool, drawn by hand) in one undoable edit;
        a new instance when none is active. Its prompts are dropped: they did not make this mask,
        so a later click corrects it."""
        before, revision = self._snapshot(), self.session.revision
        if self.active is None:
            self.active = self.session.add_instance(mask)
        else:
            self.session.set_instance(self.active, mask, label="paint")
        self.prompts = PromptState()
        self._record(before, revision)

    # ---- undo / redo -----------------------------------------------------------------------------
    def undo(self) -> str | None:
        label = self.session.undo()
        if label is not None and self._undo:
            before, after = self._undo.pop()
            self._redo.append((before, after))
            self.active, self.prompts = before.active, before.prompts
        self._clamp_active()
        return label

    def redo(self) -> str | None:
        label = self.session.redo()
        if label is not None and self._redo:
            before, after = self._redo.pop()
            self._undo.append((before, after))
            self.active, self.prompts = after.active, after.prompts
        self._clamp_active()
        return label

    def _clamp_active(self) -> None:
        if self.active is not None and self.active >= len(self.session):
            self.active, self.prompts = (
                (len(self.session) - 1 if len(self.session) else None),
                PromptState(),
            )

    # ---- saving ----------------------------------------------------------------------------------
    def confirm(self, store: Store, *, author: str) -> ExpressionDecision | None:
        """Save the instances (none -> a certified negative) on top of the base revision.

        Returns the saved decision, or None when someone saved the pair meanwhile: then
        :attr:`conflict` holds both versions and nothing was overwritten.
        """
        return self._save(store, self.session.rles(), author)

    def mark_negative(self, store: Store, *, author: str) -> ExpressionDecision | None:
        """Certify that the expression's object is not in this image (drops any instances)."""
        return self._save(store, [], author)

    def _save(self, store: Store, rles: list, author: str) -> ExpressionDecision | None:
        try:
            saved = save_edit(
                store,
                self.expression_id,
                self.image_id,
                rles,
                author=author,
                expected_revision=self.base_revision,
            )
        except StaleRevision as exc:
            self.conflict = conflict_from(
                exc, self.expression_id, self.image_id, rles, self.base_revision
            )
            return None
        self._saved(saved, reload=not rles)
        return saved

    def _saved(self, decision: ExpressionDecision, reload: bool) -> None:
        self.conflict = None
        if reload:
            self._load(decision)
        else:
            self.base = decision
        self.session.mark_saved()
        self._redo.clear()  # Redo is disabled after Confirm (see EditSession.mark_saved)

    def keep_mine(self, store: Store, *, author: str) -> ExpressionDecision | None:
        """Resolve the conflict by saving this version on top of theirs."""
        if self.conflict is None:
            return None
        try:
            saved = keep_mine(store, self.conflict, author=author)
        except StaleRevision as exc:
            c = self.conflict
            self.conflict = conflict_from(
                exc, c.expression_id, c.image_id, list(c.mine), c.theirs.revision
            )
            return None
        self._saved(saved, reload=False)
        return saved

    def take_theirs(self) -> None:
        """Resolve the conflict by dropping this version and editing theirs."""
        if self.conflict is not None:
            theirs, self.conflict = self.conflict.theirs, None
            self._load(theirs)

    def reload_if_stale(self, current: ExpressionDecision) -> bool:
        """Follow someone else's newer save when there is nothing unsaved here; True if reloaded."""
        if current.revision != self.base_revision and not self.dirty and self.conflict is None:
            self._load(current)
            return True
        return False
