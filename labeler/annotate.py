"""Annotation use-cases: what one user intent does to the store, callable without any UI.

Pages call exactly one of these per action and render the result; tests call them directly.

    decision_badge(decision, margin) -> Badge         what a grid tile shows (scores in words)
    grid_order(decisions, by="score") -> [image_id]   presence score first, then undecided ...
    save_edit(store, expr, image, rles, author=, expected_revision=) -> decision
    accept_selected / negative_selected / confirm_remaining_negative -> BatchOutcome (undoable)
    undo_action(store, expr, batch_id, author=) -> BatchOutcome
    keep_mine(store, conflict, author=) / next_task(progress) / neighbours(order, image_id)

Every write names the revision it was based on, so a concurrent edit surfaces as a
:class:`Conflict` (both versions kept) instead of being overwritten.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from labeler import propagate
from labeler.domain import (
    RLE,
    BatchResult,
    DecisionStatus,
    ExpressionDecision,
    ExpressionProgress,
)
from labeler.errors import StaleRevision
from labeler.store import Store

SORT_ORDERS = ("score", "undecided", "image")
FILTERS = ("all", "undecided", "proposed", "positive", "negative")


# ---- what a tile shows --------------------------------------------------------------------------
@dataclass(frozen=True)
class Badge:
    """A decision's state for display: ``kind`` is stable (tests, CSS), ``label`` is for people."""

    kind: str
    label: str
    color: str  # a Streamlit markdown colour name
    help: str = ""  # a tooltip: what the label's numbers mean


#: GRSer's presence rule: an image shows the expression when d_pos + m < d_neg, i.e. when the
#: presence score d_neg - d_pos is above the margin m. 1.0 is ``GRSerConfig.margin``'s default;
#: a registered model's own margin is in its config (``presence_margin``).
DEFAULT_PRESENCE_MARGIN = 1.0


def presence_margin(model_config: Mapping | None) -> float:
    """The margin a model's presence rule uses: its registered config's ``model.margin`` (or a
    flat ``margin``), else the default."""
    config = model_config or {}
    model = config.get("model")
    value = model.get("margin") if isinstance(model, Mapping) else config.get("margin")
    return float(value) if isinstance(value, int | float) else DEFAULT_PRESENCE_MARGIN


def score_help(score: float | None, margin: float = DEFAULT_PRESENCE_MARGIN) -> str:
    """The presence score in plain words (a tooltip / legend)."""
    rule = (
        f"The model calls an image 'present' when its presence score is above {margin:.2f} "
        "and 'absent' below; far from that line it is sure, close to it unsure. The score is how "
        "much nearer the image lies to the expression than to 'not this' (d_neg - d_pos)."
    )
    return rule if score is None else f"Presence score {score:.2f}. {rule}"


def decision_badge(decision: ExpressionDecision, margin: float = DEFAULT_PRESENCE_MARGIN) -> Badge:
    """What a tile or the editor says of a decision; a proposal's score comes in plain words,
    with the line (``margin``) the model draws between present and absent."""
    status, n = decision.status, len(decision.instances)
    if status is DecisionStatus.POSITIVE:
        return Badge("positive", f"positive · {n} object{'s' * (n != 1)}", "green")
    if status is DecisionStatus.NEGATIVE:
        return Badge("negative", "negative (certified)", "blue")
    if status is DecisionStatus.PROPOSED:
        if propagate.parse_source(decision.model_version) is not None:  # its own threshold
            words = propagate.describe(decision.score, decision.model_version, bool(n))
            return Badge(
                "proposed-present" if n else "proposed-absent",
                f"proposed: {words}",
                "orange" if n else "violet",
                "Proposed from the group's confirmed images (propagation): present when the "
                "score is above the threshold calibrated on the group's human decisions.",
            )
        score = (
            ""
            if decision.score is None
            else f" · score {decision.score:.2f} (present above {margin:.2f})"
        )
        words = score_help(decision.score, margin)
        if decision.instances:
            return Badge("proposed-present", f"model: present{score}", "orange", words)
        return Badge("proposed-absent", f"model: absent{score}", "violet", words)
    return Badge("unseen", "unseen", "gray")


# ---- grid order and filters --------------------------------------------------------------------
def _score(d: ExpressionDecision) -> float:
    return -1.0 if d.score is None else float(d.score)


def grid_order(decisions: Mapping[int, ExpressionDecision], by: str = "score") -> list[int]:
    """Image ids in display order.

    ``score``: the model's presence score, highest first (unscored last), so likely positives come
    first and likely negatives cluster at the end, ready for one bulk confirm. ``undecided``: pairs
    without a human decision first, then by score. ``image``: by image id.
    """
    if by not in SORT_ORDERS:
        raise ValueError(f"unknown grid order {by!r}; use one of {SORT_ORDERS}")
    ids = sorted(decisions)
    if by == "image":
        return ids
    if by == "score":
        return sorted(ids, key=lambda i: (-_score(decisions[i]), i))
    return sorted(ids, key=lambda i: (decisions[i].is_human, -_score(decisions[i]), i))


def matches(decision: ExpressionDecision, show: str) -> bool:
    """Whether a decision passes a grid filter (one of :data:`FILTERS`)."""
    if show not in FILTERS:
        raise ValueError(f"unknown filter {show!r}; use one of {FILTERS}")
    if show == "all":
        return True
    if show == "undecided":
        return not decision.is_human
    return decision.status.value == show


# ---- single-pair decisions ----------------------------------------------------------------------
@dataclass(frozen=True)
class Conflict:
    """A save that lost a race: ``theirs`` is the decision now in the store, ``mine`` the attempt."""

    expression_id: int
    image_id: int
    mine_status: DecisionStatus
    mine: tuple[RLE, ...]
    theirs: ExpressionDecision
    based_on: int


def save_edit(
    store: Store,
    expression_id: int,
    image_id: int,
    instances: Sequence[RLE],
    *,
    author: str,
    expected_revision: int,
) -> ExpressionDecision:
    """Save the editor's result: one or more instance masks -> ``positive``; none -> ``negative``.

    Raises ``StaleRevision`` (with ``.current``) when someone saved the pair since
    ``expected_revision``; use :func:`conflict_from` to keep both versions for the annotator.
    """
    status = DecisionStatus.POSITIVE if instances else DecisionStatus.NEGATIVE
    return store.save_decision(
        expression_id,
        image_id,
        status,
        list(instances),
        author=author,
        expected_revision=expected_revision,
        action="edit",
    )


def conflict_from(
    exc: StaleRevision, expression_id: int, image_id: int, instances: Sequence[RLE], based_on: int
) -> Conflict:
    status = DecisionStatus.POSITIVE if instances else DecisionStatus.NEGATIVE
    return Conflict(expression_id, image_id, status, tuple(instances), exc.current, based_on)


def keep_mine(store: Store, conflict: Conflict, *, author: str) -> ExpressionDecision:
    """Resolve a conflict in favour of the annotator's version, on top of theirs (both stay logged).

    Raises ``StaleRevision`` again if the pair moved on once more meanwhile.
    """
    return store.save_decision(
        conflict.expression_id,
        conflict.image_id,
        conflict.mine_status,
        list(conflict.mine),
        author=author,
        expected_revision=conflict.theirs.revision,
        action="resolve_conflict",
    )


# ---- bulk decisions (each one undoable batch) ----------------------------------------------------
@dataclass(frozen=True)
class BatchOutcome:
    """What a bulk action did: the store's :class:`~labeler.domain.BatchResult` and its action.

    Every pair not in conflict was saved in one transaction under ``batch_id`` (None when nothing
    was saved), which undoes them together; ``conflicts`` lists the pairs someone else changed
    meanwhile (their decisions as they are now, left untouched).
    """

    action: str
    batch_id: str | None
    saved: tuple[ExpressionDecision, ...] = ()
    conflicts: tuple[ExpressionDecision, ...] = field(default=())

    @classmethod
    def of(cls, action: str, result: BatchResult) -> BatchOutcome:
        return cls(action, result.batch_id, result.saved, result.conflicts)

    @property
    def count(self) -> int:
        return len(self.saved)


def accept_selected(
    store: Store, expression_id: int, image_ids: Iterable[int], *, author: str
) -> BatchOutcome:
    """Accept the model's proposals for these images (masks -> positive, no mask -> negative).

    Images without a pending proposal are left alone.
    """
    result = store.accept_proposals(expression_id, list(image_ids), author=author)
    return BatchOutcome.of("accept_proposal", result)


def negative_selected(
    store: Store, expression_id: int, seen: Mapping[int, int], *, author: str
) -> BatchOutcome:
    """Certify absence in the selected images (``seen``: image id -> the revision the annotator
    saw); a pair saved by someone else since then is reported, not overwritten."""
    result = store.confirm_negatives(
        expression_id, list(seen), author=author, expected_revisions=dict(seen)
    )
    return BatchOutcome.of("confirm_negative", result)


def confirm_remaining_negative(store: Store, expression_id: int, *, author: str) -> BatchOutcome:
    """Every image of the group without a human decision becomes a certified negative, in one batch.

    Decisions a person already made (positive or negative) are never touched.
    """
    return BatchOutcome.of(
        "confirm_negative", store.confirm_negatives(expression_id, author=author)
    )


def undo_action(store: Store, expression_id: int, batch_id: str, *, author: str) -> BatchOutcome:
    """Restore every pair of a batch to its state before it (itself a new, undoable batch).

    Pairs someone changed after the batch are left as they are and reported as conflicts.
    ``expression_id`` names the expression the batch belongs to (the page's context).
    """
    del expression_id  # the batch's audit entries name their pairs
    return BatchOutcome.of("undo", store.undo_batch(batch_id, author=author))


# ---- what to do next ----------------------------------------------------------------------------
def next_task(
    progress: Sequence[ExpressionProgress], assigned: Collection[int] = ()
) -> ExpressionProgress | None:
    """The expression to work on next: expressions ``assigned`` to the annotator first, then
    unfinished ones already started (finish what is begun), then those with model proposals
    waiting, then the rest, in group order."""
    todo = [p for p in progress if p.total > 0 and not p.complete]
    if not todo:
        return None
    assigned = set(assigned)
    return min(
        todo,
        key=lambda p: (
            p.expression_id not in assigned,
            p.decided == 0,
            p.proposed == 0,
            p.group_id,
            p.expression_id,
        ),
    )
