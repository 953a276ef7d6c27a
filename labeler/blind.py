"""Blind double assignment: which pairs two annotators judge blind to each other, and who sees what.

Pure rules, no I/O; ``labeler/store/blind.py`` keeps the blind pairs and the second annotators'
judgements (*second opinions*), and the store's reads and writes apply these rules.

    choose_overlap(pairs, 0.2, seed=0) -> the pairs (sorted) also given to a second annotator
    view_for(viewer, blind, main, opinion, proposal) -> the decision ``viewer`` is shown
    judgements_of(blind, main, opinion) -> {annotator: (status, RLEs)} for agreement

A blind pair has a *first* annotator, whose saves are the pair's decision as always, and a *second*
one, whose saves become their second opinion and never touch the decision. Nobody but the second
annotator is shown the second opinion (agreement reports use it); the second annotator is never
shown the decision.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from fractions import Fraction

from labeler.domain import RLE, DecisionStatus, ExpressionDecision, Instance
from labeler.errors import LabelerError

PairKey = tuple[int, int]
Judgement = tuple[str, list[RLE]]

#: Statuses a second opinion may hold: a judgement, or ``unseen`` (an undone one).
OPINION_STATUSES = (DecisionStatus.POSITIVE, DecisionStatus.NEGATIVE, DecisionStatus.UNSEEN)


@dataclass(frozen=True)
class BlindPair:
    """An (expression, image) pair judged by ``first`` (the decision) and ``second`` (blind)."""

    expression_id: int
    image_id: int
    first: str
    second: str


@dataclass(frozen=True)
class SecondOpinion:
    """The second annotator's own judgement of a blind pair, with its own revision."""

    expression_id: int
    image_id: int
    annotator: str
    status: DecisionStatus
    instances: tuple[RLE, ...] = ()
    revision: int = 0
    saved_at: datetime | None = None


# -- choosing the overlap ------------------------------------------------------------------------
def overlap_count(total: int, share: float) -> int:
    """How many of ``total`` pairs a ``share`` is: ``share * total`` rounded half up, computed on
    the decimal the user typed (0.25 of 10 -> 3, 0.2 of 10 -> 2, 0.05 of 10 -> 1)."""
    check_share(share)
    return math.floor(Fraction(str(share)) * total + Fraction(1, 2))


def check_share(share: float) -> float:
    """``share`` if it is a number in [0, 1]; else a one-line :class:`LabelerError`."""
    if not isinstance(share, int | float) or math.isnan(share) or not 0 <= share <= 1:
        raise LabelerError(f"the overlap share must be between 0 and 1, got {share!r}")
    return float(share)


def _rank(pair: PairKey, seed: int) -> bytes:
    return hashlib.sha256(f"{seed}:{pair[0]}:{pair[1]}".encode()).digest()


def choose_overlap(pairs: Iterable[PairKey], share: float, seed: int = 0) -> list[PairKey]:
    """The pairs (sorted) that a second annotator also gets: the :func:`overlap_count` of the
    distinct ``pairs`` whose SHA-256 of ``"seed:expression:image"`` is smallest.

    Reproducible (same pairs, share and seed -> same choice, whatever the input order), nested
    (a larger share with the same seed keeps every pair a smaller one chose), and not tied to
    image order (the first images of a group are not favoured)."""
    unique = sorted(set(pairs))
    k = overlap_count(len(unique), share)
    ranked = sorted(unique, key=lambda p: (_rank(p, seed), p))
    return sorted(ranked[:k])


# -- who sees what -------------------------------------------------------------------------------
def is_second(viewer: str | None, blind: BlindPair | None) -> bool:
    """Whether ``viewer`` is the blind second annotator of the pair (their view and writes are
    their second opinion)."""
    return viewer is not None and blind is not None and viewer == blind.second


def view_for(
    viewer: str | None,
    blind: BlindPair | None,
    main: ExpressionDecision,
    opinion: SecondOpinion | None = None,
    proposal: ExpressionDecision | None = None,
) -> ExpressionDecision:
    """The decision ``viewer`` is shown for a pair whose decision is ``main``.

    - No viewer (the command line, exports), a pair that is not blind, or a viewer who is not its
      second annotator (the first annotator, reviewers, admins, anyone else): ``main``.
    - The second annotator: their own ``opinion`` once it holds a judgement (positive or
      negative), authored by them. Before that the pair reads as undecided: the model's proposal
      if there is one (``main`` itself while it is a proposal, else ``proposal``: the model's last
      proposal for the pair, which the first annotator's decision replaced), else ``unseen``. The
      first annotator's decision never shows. The view's ``revision`` is the opinion's (0 before
      any save): the one the second annotator's next save must name.
    """
    if not is_second(viewer, blind):
        return main
    revision = opinion.revision if opinion is not None else 0
    if opinion is not None and opinion.status in (DecisionStatus.POSITIVE, DecisionStatus.NEGATIVE):
        return ExpressionDecision(
            opinion.expression_id,
            opinion.image_id,
            opinion.status,
            tuple(Instance(r) for r in opinion.instances),
            opinion.revision,
            opinion.annotator,
            opinion.saved_at,
        )
    shown = main if main.status is DecisionStatus.PROPOSED else proposal
    if shown is not None and shown.status is DecisionStatus.PROPOSED:
        return replace(shown, revision=revision)
    return ExpressionDecision(
        main.expression_id,
        main.image_id,
        revision=revision,
        updated_at=opinion.saved_at if opinion is not None else None,
    )


# -- agreement -----------------------------------------------------------------------------------
def judgements_of(
    blind: BlindPair, main: ExpressionDecision, opinion: SecondOpinion | None
) -> dict[str, Judgement]:
    """Both sides of a blind pair as judgements ``{annotator: (status, RLEs)}``: the decision
    under its author's name (the first annotator, unless someone else - a reviewer - saved it
    since; never the second annotator), and the second opinion under the second annotator's.
    A side not judged yet (no human decision, no positive / negative opinion) is absent."""
    out: dict[str, Judgement] = {}
    if main.is_human and main.author and main.author != blind.second:
        out[main.author] = (main.status.value, [i.rle for i in main.instances])
    if opinion is not None and opinion.status in (DecisionStatus.POSITIVE, DecisionStatus.NEGATIVE):
        out[opinion.annotator] = (opinion.status.value, list(opinion.instances))
    return out


def todo_count(pairs: Sequence[BlindPair], opinions: Iterable[SecondOpinion]) -> int:
    """How many of ``pairs`` their second annotator has not judged yet (no positive / negative
    opinion of theirs)."""
    judged = {
        (o.expression_id, o.image_id, o.annotator)
        for o in opinions
        if o.status in (DecisionStatus.POSITIVE, DecisionStatus.NEGATIVE)
    }
    return sum((p.expression_id, p.image_id, p.second) not in judged for p in pairs)
