"""Blind pairs and second opinions at the connection level: what ``decisions.py`` reads and writes.

The rules (who sees what) are ``labeler/blind.py``; the store's API on top is ``blind.py``. Here:
loading blind pairs, second opinions and the model's last proposals, each viewer's view of a set
of decisions (:func:`views`), and the guarded write of one second opinion with its audit entry
(:func:`save_opinion_locked`; actions ``blind_<action>``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, and_, insert, select, update

from labeler import blind as rules
from labeler.blind import BlindPair, SecondOpinion
from labeler.domain import RLE, DecisionStatus, ExpressionDecision, Instance
from labeler.errors import LabelerError, StaleRevision
from labeler.store import schema as t
from labeler.store.repository import chunked, utcnow

#: Audit-log actions of second-opinion writes start with this (``blind_save``, ``blind_undo``...).
BLIND_ACTION = "blind_"


def _pair(r) -> BlindPair:
    return BlindPair(r.expression_id, r.image_id, r.first_annotator, r.second_annotator)


def _opinion(r) -> SecondOpinion:
    return SecondOpinion(
        r.expression_id,
        r.image_id,
        r.annotator,
        DecisionStatus(r.status),
        tuple(r.instances or ()),
        r.revision,
        r.saved_at,
    )


def opinion_snapshot(opinion: SecondOpinion) -> dict:
    """A second opinion as plain JSON for the audit log (enough to restore it exactly)."""
    return {
        "status": opinion.status.value,
        "revision": opinion.revision,
        "author": opinion.annotator,
        "annotator": opinion.annotator,
        "second_opinion": True,
        "instances": list(opinion.instances),
    }


def load_blind(
    conn: Connection, expression_id: int | None = None, *, second: str | None = None
) -> dict[tuple[int, int], BlindPair]:
    """Blind pairs (of one expression, of one second annotator), keyed by (expression, image)."""
    query = select(t.blind_pairs).order_by(t.blind_pairs.c.id)
    if expression_id is not None:
        query = query.where(t.blind_pairs.c.expression_id == expression_id)
    if second is not None:
        query = query.where(t.blind_pairs.c.second_annotator == second)
    return {(r.expression_id, r.image_id): _pair(r) for r in conn.execute(query)}


def load_opinions(
    conn: Connection, expression_id: int | None = None, annotator: str | None = None
) -> dict[tuple[int, int, str], SecondOpinion]:
    """Second opinions, keyed by (expression, image, annotator)."""
    query = select(t.second_opinions)
    if expression_id is not None:
        query = query.where(t.second_opinions.c.expression_id == expression_id)
    if annotator is not None:
        query = query.where(t.second_opinions.c.annotator == annotator)
    return {(r.expression_id, r.image_id, r.annotator): _opinion(r) for r in conn.execute(query)}


def last_proposals(
    conn: Connection, expression_id: int, image_ids: Sequence[int]
) -> dict[int, ExpressionDecision]:
    """The model's last proposal of each pair, from the audit log (``propose`` entries): what a
    blind second annotator is shown once the first annotator's decision replaced it."""
    out: dict[int, ExpressionDecision] = {}
    for chunk in chunked(sorted(image_ids), 500):
        query = (
            select(t.audit_log)
            .where(
                t.audit_log.c.expression_id == expression_id,
                t.audit_log.c.action == "propose",
                t.audit_log.c.image_id.in_(list(chunk)),
            )
            .order_by(t.audit_log.c.id)
        )
        for r in conn.execute(query):
            after = r.after or {}
            out[r.image_id] = ExpressionDecision(
                expression_id,
                r.image_id,
                DecisionStatus.PROPOSED,
                tuple(Instance(x) for x in after.get("instances", [])),
                0,
                r.author,
                r.at,
                after.get("score"),
                after.get("model_version"),
            )
    return out


def views(
    conn: Connection,
    expression_id: int,
    mains: dict[int, ExpressionDecision],
    viewer: str | None,
) -> dict[int, ExpressionDecision]:
    """``mains`` (image id -> decision) as ``viewer`` sees them (:func:`labeler.blind.view_for`)."""
    if viewer is None:
        return mains
    blind = {
        iid: pair
        for (_, iid), pair in load_blind(conn, expression_id, second=viewer).items()
        if iid in mains
    }
    if not blind:
        return mains
    opinions = {iid: o for (_, iid, _), o in load_opinions(conn, expression_id, viewer).items()}
    wanted = [
        iid
        for iid in blind
        if mains[iid].status is not DecisionStatus.PROPOSED
        and (iid not in opinions or opinions[iid].status is DecisionStatus.UNSEEN)
    ]
    proposals = last_proposals(conn, expression_id, wanted) if wanted else {}
    return {
        iid: rules.view_for(viewer, blind.get(iid), d, opinions.get(iid), proposals.get(iid))
        for iid, d in mains.items()
    }


def save_opinion_locked(
    conn: Connection,
    expression_id: int,
    image_id: int,
    annotator: str,
    status: DecisionStatus,
    rles: list[RLE],
    expected_revision: int,
    action: str,
    batch_id: str | None,
) -> SecondOpinion:
    """Write ``annotator``'s second opinion if it is still at ``expected_revision`` (else
    ``StaleRevision``; a concurrent first save fails on the unique constraint), and log it as
    ``blind_<action>``."""
    if status not in rules.OPINION_STATUSES:
        raise LabelerError(f"a blind judgement is positive or negative, not {status.value}")
    key = (expression_id, image_id, annotator)
    before = load_opinions_of(conn, *key) or SecondOpinion(*key, DecisionStatus.UNSEEN)
    if before.revision != expected_revision:
        raise StaleRevision("stale")
    now = utcnow()
    after = SecondOpinion(*key, status, tuple(rles), expected_revision + 1, now)
    values = dict(status=status.value, instances=list(rles), revision=after.revision, saved_at=now)
    if expected_revision == 0:
        conn.execute(
            insert(t.second_opinions).values(
                expression_id=expression_id, image_id=image_id, annotator=annotator, **values
            )
        )
    else:
        guarded = and_(
            t.second_opinions.c.expression_id == expression_id,
            t.second_opinions.c.image_id == image_id,
            t.second_opinions.c.annotator == annotator,
            t.second_opinions.c.revision == expected_revision,
        )
        if conn.execute(update(t.second_opinions).where(guarded).values(**values)).rowcount != 1:
            raise StaleRevision("stale")
    conn.execute(
        insert(t.audit_log).values(
            expression_id=expression_id,
            image_id=image_id,
            author=annotator,
            at=now,
            action=BLIND_ACTION + action,
            before=opinion_snapshot(before),
            after=opinion_snapshot(after),
            batch_id=batch_id,
        )
    )
    return after


def load_opinions_of(
    conn: Connection, expression_id: int, image_id: int, annotator: str
) -> SecondOpinion | None:
    row = conn.execute(
        select(t.second_opinions).where(
            t.second_opinions.c.expression_id == expression_id,
            t.second_opinions.c.image_id == image_id,
            t.second_opinions.c.annotator == annotator,
        )
    ).first()
    return None if row is None else _opinion(row)
