"""Decisions for (expression, image) pairs: optimistic locking, audit log, bulk actions and undo.

Every save names the revision it was based on. The write is a conditional UPDATE (or an INSERT guarded
by the pair's unique constraint), so of two annotators saving the same pair the second gets
``StaleRevision`` carrying the current decision, and its own attempt is kept in the audit log as
``rejected_stale``: neither decision is lost. Every accepted change appends (before, after) to the log.

Blind pairs (``labeler/blind.py``): reads take an optional ``viewer`` and return what that person
may see; a write by a pair's blind second annotator goes to their second opinion
(``opinions.py``), under the same revision check and into the same log (actions ``blind_...``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from sqlalchemy import Connection, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from labeler.accounts import PermissionDenied
from labeler.domain import (
    RLE,
    AuditEntry,
    BatchResult,
    DecisionStatus,
    ExpressionDecision,
    Instance,
)
from labeler.errors import InvalidMask, LabelerError, NotFound, StaleRevision
from labeler.limits import MAX_INSTANCES_PER_DECISION, check_text
from labeler.store import counts, opinions
from labeler.store import schema as t
from labeler.store.bulk_write import insert_rows
from labeler.store.repository import CatalogMixin, chunked, utcnow

Status = DecisionStatus | str


class PairWrite(NamedTuple):
    """One pair's save within a bulk action, based on ``expected_revision``."""

    expression_id: int
    image_id: int
    status: DecisionStatus
    instances: tuple[RLE, ...]
    expected_revision: int
    score: float | None = None
    model_version: str | None = None
    opinion_of: str | None = None  # a blind second annotator: write their second opinion instead


def _snapshot(decision: ExpressionDecision) -> dict:
    """A decision as plain JSON for the audit log (enough to restore it exactly)."""
    return {
        "status": decision.status.value,
        "revision": decision.revision,
        "author": decision.author,
        "score": decision.score,
        "model_version": decision.model_version,
        "instances": [i.rle for i in decision.instances],
    }


def _log_rejected(
    conn: Connection,
    current: ExpressionDecision,
    status: DecisionStatus,
    rles: list[RLE],
    expected_revision: int,
    author: str,
    batch_id: str | None,
    action: str = "rejected_stale",
) -> None:
    """Keep a save that lost a race in the audit log as ``rejected_stale`` (a second opinion's as
    ``blind_rejected_stale``, with the second annotator's own view as ``before``): nothing is lost."""
    conn.execute(
        insert(t.audit_log).values(
            expression_id=current.expression_id,
            image_id=current.image_id,
            author=author,
            at=utcnow(),
            action=action,
            before=_snapshot(current),
            after={"status": status.value, "instances": rles, "based_on": expected_revision},
            batch_id=batch_id,
        )
    )


def _instance_rows(decision_id: int, rles: Sequence[RLE]) -> list[dict]:
    from labeler import rle  # numpy and pycocotools: writes need them, reads (grd status) do not

    rows = []
    for ordinal, encoded in enumerate(rles):
        x, y, w, h = rle.bbox(encoded)
        rows.append(
            dict(
                decision_id=decision_id,
                ordinal=ordinal,
                height=encoded["size"][0],
                width=encoded["size"][1],
                counts=encoded["counts"],
                area=rle.area(encoded),
                bbox_x=x,
                bbox_y=y,
                bbox_w=w,
                bbox_h=h,
            )
        )
    return rows


def _instance(row) -> Instance:
    return Instance(
        rle={"size": [row.height, row.width], "counts": row.counts},
        id=row.id,
        area=row.area,
        bbox=(row.bbox_x, row.bbox_y, row.bbox_w, row.bbox_h),
    )


def _images_by_id(conn: Connection, wanted: set[int]) -> dict:
    """``id -> (id, group_id, height, width)`` of the images ``wanted``. An import's images have
    consecutive ids: one range query then, not a query per 500 ids (200 of them at ten times GRD)."""
    if not wanted:
        return {}
    columns = select(t.images.c.id, t.images.c.group_id, t.images.c.height, t.images.c.width)
    low, high = min(wanted), max(wanted)
    if high - low < 4 * len(wanted):
        rows = conn.execute(columns.where(t.images.c.id.between(low, high)))
        return {r.id: r for r in rows if r.id in wanted}
    return {
        r.id: r
        for chunk in chunked(sorted(wanted), 500)
        for r in conn.execute(columns.where(t.images.c.id.in_(list(chunk))))
    }


def checked_masks(
    status: DecisionStatus, instances: Sequence[RLE], height: int, width: int
) -> list[RLE]:
    """The rule every write obeys: ``positive`` carries masks, ``negative`` / ``unseen`` none, and
    each mask is a valid, non-empty RLE of the image's size (returned normalised). At most
    ``MAX_INSTANCES_PER_DECISION`` masks (counted before any is decoded); identical masks are
    merged: each is kept once, in first-seen order."""
    if len(instances) > MAX_INSTANCES_PER_DECISION:
        raise InvalidMask(
            f"a decision carries {len(instances):,} instance masks; the limit is "
            f"{MAX_INSTANCES_PER_DECISION} (labeler.limits.MAX_INSTANCES_PER_DECISION)"
        )
    if status is DecisionStatus.POSITIVE and not instances:
        raise InvalidMask("a positive decision needs at least one instance mask")
    if status in (DecisionStatus.NEGATIVE, DecisionStatus.UNSEEN) and instances:
        raise InvalidMask(f"a {status.value} decision cannot carry masks")
    from labeler import rle  # numpy and pycocotools: writes need them, reads (grd status) do not

    unique: dict[bytes | str, RLE] = {}
    for encoded in instances:
        checked = (
            encoded
            if rle.is_checked(encoded, height, width)
            else rle.validate_rle(encoded, height, width)
        )
        unique.setdefault(checked["counts"], checked)
    return list(unique.values())


class DecisionsMixin(CatalogMixin):
    # -- reads --------------------------------------------------------------------------------
    def get_decision(
        self, expression_id: int, image_id: int, viewer: str | None = None
    ) -> ExpressionDecision:
        """The pair's decision; with ``viewer``, what that person may see of it (a blind second
        annotator sees their own second opinion, :func:`labeler.blind.view_for`)."""
        with self._read() as conn:
            return self._view_one(conn, expression_id, image_id, viewer)

    def _view_one(
        self, conn: Connection, expression_id: int, image_id: int, viewer: str | None
    ) -> ExpressionDecision:
        main = self._load_decisions(conn, expression_id, [image_id]).get(
            image_id, ExpressionDecision(expression_id, image_id)
        )
        return opinions.views(conn, expression_id, {image_id: main}, viewer)[image_id]

    def decisions_for_expression(
        self,
        expression_id: int,
        image_ids: Sequence[int] | None = None,
        viewer: str | None = None,
    ) -> dict[int, ExpressionDecision]:
        """Every image of the expression's group -> its decision (``unseen`` ones included); with
        ``image_ids``, those images only (read alone: one tile's action does not read the group);
        with ``viewer``, what that person may see (see :meth:`get_decision`)."""
        expression = self.get_expression(expression_id)
        only = image_ids is not None
        if image_ids is None:
            image_ids = [img.id for img in self.list_images(expression.group_id)]
        with self._read() as conn:
            found = self._load_decisions(conn, expression_id, image_ids if only else None)
            mains = {
                iid: found.get(iid, ExpressionDecision(expression_id, iid)) for iid in image_ids
            }
            return opinions.views(conn, expression_id, mains, viewer)

    def _blind_images(self, expression_id: int, second: str) -> set[int]:
        """Images of the expression's blind pairs whose second annotator is ``second``."""
        with self._read() as conn:
            return {iid for _, iid in opinions.load_blind(conn, expression_id, second=second)}

    def _load_decisions(
        self, conn: Connection, expression_id: int, image_ids: Sequence[int] | None
    ) -> dict[int, ExpressionDecision]:
        query = select(t.decisions).where(t.decisions.c.expression_id == expression_id)
        if image_ids is not None:
            query = query.where(t.decisions.c.image_id.in_(list(image_ids)))
        rows = conn.execute(query).all()
        by_decision: dict[int, list[Instance]] = defaultdict(list)
        for ids in chunked([r.id for r in rows], 500):
            for inst in conn.execute(
                select(t.instances)
                .where(t.instances.c.decision_id.in_(list(ids)))
                .order_by(t.instances.c.decision_id, t.instances.c.ordinal)
            ):
                by_decision[inst.decision_id].append(_instance(inst))
        return {
            r.image_id: ExpressionDecision(
                expression_id=r.expression_id,
                image_id=r.image_id,
                status=DecisionStatus(r.status),
                instances=tuple(by_decision.get(r.id, ())),
                revision=r.revision,
                author=r.author,
                updated_at=r.updated_at,
                score=r.score,
                model_version=r.model_version,
            )
            for r in rows
        }

    # -- the one write path -------------------------------------------------------------------
    def save_decision(
        self,
        expression_id: int,
        image_id: int,
        status: Status,
        instances: Sequence[RLE] = (),
        *,
        author: str,
        expected_revision: int,
        score: float | None = None,
        model_version: str | None = None,
        action: str = "save",
        batch_id: str | None = None,
    ) -> ExpressionDecision:
        """Save the decision of one pair if nobody saved it since ``expected_revision``.

        ``positive`` needs at least one instance mask; ``negative`` and ``unseen`` none. Masks are
        validated against the image size (``InvalidMask`` on empty or out-of-bounds masks).
        Raises ``StaleRevision`` (with ``.current``) when the pair moved on meanwhile, and
        ``PermissionDenied`` when ``author`` is not a user allowed to annotate (projects with users).

        When ``author`` is the blind second annotator of the pair, the save is their second
        opinion (never the decision), checked against the opinion's revision (the one their view
        showed); it returns their view of the pair.
        """
        check_text("user name", author)
        if model_version is not None:
            check_text("model version", model_version)
        self.authorize(author, "annotate")
        if image_id in self._blind_images(expression_id, author):
            return self._save_opinion(
                expression_id,
                image_id,
                status,
                instances,
                author,
                expected_revision,
                action,
                batch_id,
            )
        return self._save_decision(
            expression_id,
            image_id,
            status,
            instances,
            author=author,
            expected_revision=expected_revision,
            score=score,
            model_version=model_version,
            action=action,
            batch_id=batch_id,
        )

    def _save_decision(
        self,
        expression_id: int,
        image_id: int,
        status: Status,
        instances: Sequence[RLE] = (),
        *,
        author: str,
        expected_revision: int,
        score: float | None = None,
        model_version: str | None = None,
        action: str = "save",
        batch_id: str | None = None,
    ) -> ExpressionDecision:
        """``save_decision`` once the author was authorized (or for the store's own authors)."""
        status = DecisionStatus(status)
        rles = self._validated(expression_id, image_id, status, instances)
        try:
            with self._write() as conn:
                return self._save_locked(
                    conn,
                    expression_id,
                    image_id,
                    status,
                    rles,
                    author,
                    expected_revision,
                    score,
                    model_version,
                    action,
                    batch_id,
                )
        except (StaleRevision, IntegrityError) as exc:
            current = self.get_decision(expression_id, image_id)
            with self._write() as conn:
                _log_rejected(conn, current, status, rles, expected_revision, author, batch_id)
            raise StaleRevision(
                f"{current.author or 'someone'} saved this pair (now revision {current.revision}) "
                f"after you loaded revision {expected_revision}; reload, compare, and save again",
                current=current,
            ) from exc

    def _save_opinion(
        self,
        expression_id: int,
        image_id: int,
        status: Status,
        instances: Sequence[RLE],
        annotator: str,
        expected_revision: int,
        action: str,
        batch_id: str | None,
    ) -> ExpressionDecision:
        """``save_decision`` by a blind second annotator: their second opinion."""
        status = DecisionStatus(status)
        rles = self._validated(expression_id, image_id, status, instances)
        try:
            with self._write() as conn:
                opinions.save_opinion_locked(
                    conn,
                    expression_id,
                    image_id,
                    annotator,
                    status,
                    rles,
                    expected_revision,
                    action,
                    batch_id,
                )
                return self._view_one(conn, expression_id, image_id, annotator)
        except (StaleRevision, IntegrityError) as exc:
            current = self.get_decision(expression_id, image_id, viewer=annotator)
            with self._write() as conn:
                _log_rejected(
                    conn,
                    current,
                    status,
                    rles,
                    expected_revision,
                    annotator,
                    batch_id,
                    action=opinions.BLIND_ACTION + "rejected_stale",
                )
            raise StaleRevision(
                f"your blind judgement of this pair is now revision {current.revision} (saved in "
                f"another window) but you loaded revision {expected_revision}; reload and save again",
                current=current,
            ) from exc

    def _validated(
        self, expression_id: int, image_id: int, status: DecisionStatus, instances: Sequence[RLE]
    ) -> list[RLE]:
        expression = self.get_expression(expression_id)
        image = self.get_image(image_id)
        if image.group_id != expression.group_id:
            raise NotFound(f"image {image_id} is not in the group of expression {expression_id}")
        return checked_masks(status, instances, image.height, image.width)

    def _save_locked(
        self,
        conn,
        expression_id,
        image_id,
        status,
        rles,
        author,
        expected_revision,
        score,
        model_version,
        action,
        batch_id,
        deltas: counts.Deltas | None = None,
    ) -> ExpressionDecision:
        """Write one pair inside ``conn``'s transaction. Its change to the decision counts goes
        into ``deltas`` (the caller applies them once for a batch), or is applied here."""
        before = self._load_decisions(conn, expression_id, [image_id]).get(
            image_id, ExpressionDecision(expression_id, image_id)
        )
        if before.revision != expected_revision:
            raise StaleRevision("stale")
        now = utcnow()
        values = dict(
            status=status.value,
            revision=expected_revision + 1,
            author=author,
            updated_at=now,
            score=score,
            model_version=model_version,
        )
        if expected_revision == 0:
            decision_id = conn.execute(
                insert(t.decisions).values(expression_id=expression_id, image_id=image_id, **values)
            ).inserted_primary_key[0]
        else:
            pair = and_(
                t.decisions.c.expression_id == expression_id, t.decisions.c.image_id == image_id
            )
            guarded = and_(pair, t.decisions.c.revision == expected_revision)
            if conn.execute(update(t.decisions).where(guarded).values(**values)).rowcount != 1:
                raise StaleRevision("stale")
            decision_id = conn.execute(select(t.decisions.c.id).where(pair)).scalar_one()
            conn.execute(delete(t.instances).where(t.instances.c.decision_id == decision_id))
        if rles:
            conn.execute(insert(t.instances), _instance_rows(decision_id, rles))
        after = ExpressionDecision(
            expression_id,
            image_id,
            status,
            tuple(Instance(r) for r in rles),
            expected_revision + 1,
            author,
            now,
            score,
            model_version,
        )
        conn.execute(
            insert(t.audit_log).values(
                expression_id=expression_id,
                image_id=image_id,
                author=author,
                at=now,
                action=action,
                before=_snapshot(before),
                after=_snapshot(after),
                batch_id=batch_id,
            )
        )
        pending = counts.Deltas() if deltas is None else deltas
        counts.moved(
            pending,
            expression_id,
            (before.author or "", before.status.value) if before.revision else None,
            (author, status.value),
        )
        if deltas is None:
            counts.bump(conn, pending)
        return after

    # -- bulk import (one transaction) ----------------------------------------------------------
    def import_decisions(
        self,
        rows: Iterable[tuple[int, int, Status, Sequence[RLE], str]],
        *,
        action: str = "import",
        batch_id: str | None = None,
    ) -> str:
        """Insert decisions of pairs that have none yet, all in one transaction; returns the batch id.

        ``rows`` are ``(expression_id, image_id, status, instance RLEs, author)``, checked like
        ``save_decision`` (same group, masks fit the image). Each becomes revision 1 with an audit
        entry, so ``undo_batch`` can take the whole import back. If any pair already has a decision,
        ``StaleRevision`` is raised and nothing is written.
        """
        batch_id = batch_id or uuid.uuid4().hex
        rows = list(rows)
        with self._read() as conn:
            images = _images_by_id(conn, {r[1] for r in rows})
            groups = dict(conn.execute(select(t.expressions.c.id, t.expressions.c.group_id)).all())
        checked, now = [], utcnow()
        for eid, iid, status, rles, author in rows:
            status, image = DecisionStatus(status), images.get(iid)
            if image is None or groups.get(eid) != image.group_id:
                raise NotFound(f"image {iid} is not in the group of expression {eid}")
            rles = checked_masks(status, rles, image.height, image.width)
            checked.append(
                ExpressionDecision(
                    eid, iid, status, tuple(Instance(r) for r in rles), 1, author, now
                )
            )
        with self._write() as conn:
            if not checked:
                return batch_id
            try:
                ids = insert_rows(
                    conn,
                    t.decisions,
                    [
                        dict(
                            expression_id=d.expression_id,
                            image_id=d.image_id,
                            status=d.status.value,
                            revision=1,
                            author=d.author,
                            updated_at=now,
                        )
                        for d in checked
                    ],
                    return_ids=True,
                )
            except IntegrityError as exc:
                raise StaleRevision(
                    "some of these pairs already have a decision; nothing was imported"
                ) from exc
            instances = [
                row
                for d, decision_id in zip(checked, ids, strict=True)
                for row in _instance_rows(decision_id, [i.rle for i in d.instances])
            ]
            insert_rows(conn, t.instances, instances)
            counts.bump(
                conn, counts.Deltas((d.expression_id, d.author, d.status.value) for d in checked)
            )
            nothing_before = _snapshot(ExpressionDecision(0, 0))  # every imported pair had none
            insert_rows(
                conn,
                t.audit_log,
                [
                    dict(
                        expression_id=d.expression_id,
                        image_id=d.image_id,
                        author=d.author,
                        at=now,
                        action=action,
                        batch_id=batch_id,
                        after=_snapshot(d),
                        before=nothing_before,
                    )
                    for d in checked
                ],
            )
        return batch_id

    # -- model proposals ------------------------------------------------------------------------
    def propose(
        self,
        expression_id: int,
        image_id: int,
        instances: Sequence[RLE],
        *,
        score: float,
        model_version: str,
    ) -> ExpressionDecision | None:
        """Store a model's proposal unless a person already decided the pair (returns None then).

        An empty ``instances`` list proposes that the object is absent.
        """
        current = self.get_decision(expression_id, image_id)
        if current.is_human:
            return None
        try:
            return self._save_decision(
                expression_id,
                image_id,
                DecisionStatus.PROPOSED,
                instances,
                author=f"model:{model_version}",
                expected_revision=current.revision,
                score=score,
                model_version=model_version,
                action="propose",
            )
        except StaleRevision as exc:  # a person saved it meanwhile: theirs wins
            if exc.current is not None and exc.current.is_human:
                return None
            raise

    # -- bulk actions (one transaction and one batch id each, undoable) --------------------------
    def _save_batch(self, writes: Sequence[PairWrite], *, author: str, action: str) -> BatchResult:
        """Save every pair not in conflict in one transaction under one new batch id.

        A pair whose revision moved on since it was read (``expected_revision``) is a conflict: it
        is left as it is, its attempt logged as ``rejected_stale``, and its current decision
        reported. Each pair's write runs in a savepoint, so a conflict found by the database itself
        (a concurrent insert on PostgreSQL) undoes only that pair.
        """
        foreign = {w.opinion_of for w in writes} - {None, author}
        if foreign:
            raise PermissionDenied(
                f"only {', '.join(sorted(foreign))} may change their own blind judgements"
            )
        batch_id = uuid.uuid4().hex
        checked = [
            w._replace(instances=tuple(rles))
            for w, rles in zip(writes, self._validated_many(writes), strict=True)
        ]
        saved, conflicts, deltas = [], [], counts.Deltas()
        with self._write() as conn:
            for w in checked:
                if w.opinion_of is not None:
                    self._save_opinion_in_batch(conn, w, action, batch_id, saved, conflicts)
                    continue
                try:
                    with conn.begin_nested():
                        saved.append(
                            self._save_locked(
                                conn,
                                w.expression_id,
                                w.image_id,
                                w.status,
                                list(w.instances),
                                author,
                                w.expected_revision,
                                w.score,
                                w.model_version,
                                action,
                                batch_id,
                                deltas,
                            )
                        )
                except (StaleRevision, IntegrityError):
                    current = self._load_decisions(conn, w.expression_id, [w.image_id]).get(
                        w.image_id, ExpressionDecision(w.expression_id, w.image_id)
                    )
                    _log_rejected(
                        conn,
                        current,
                        w.status,
                        list(w.instances),
                        w.expected_revision,
                        author,
                        batch_id,
                    )
                    conflicts.append(current)
            counts.bump(conn, deltas)
        return BatchResult(batch_id if saved else None, tuple(saved), tuple(conflicts))

    def _save_opinion_in_batch(
        self, conn: Connection, w: PairWrite, action: str, batch_id: str, saved, conflicts
    ) -> None:
        """One pair of ``_save_batch`` that is its author's second opinion (see there)."""
        try:
            with conn.begin_nested():
                opinions.save_opinion_locked(
                    conn,
                    w.expression_id,
                    w.image_id,
                    w.opinion_of,
                    w.status,
                    list(w.instances),
                    w.expected_revision,
                    action,
                    batch_id,
                )
                saved.append(self._view_one(conn, w.expression_id, w.image_id, w.opinion_of))
        except (StaleRevision, IntegrityError):
            current = self._view_one(conn, w.expression_id, w.image_id, w.opinion_of)
            _log_rejected(
                conn,
                current,
                w.status,
                list(w.instances),
                w.expected_revision,
                w.opinion_of,
                batch_id,
                action=opinions.BLIND_ACTION + "rejected_stale",
            )
            conflicts.append(current)

    def _validated_many(self, writes: Sequence[PairWrite]) -> list[list[RLE]]:
        """``_validated`` for many pairs, reading each expression and group's images once."""
        images: dict[int, dict] = {}
        out = []
        for w in writes:
            expression = self.get_expression(w.expression_id)
            if expression.group_id not in images:
                images[expression.group_id] = {
                    i.id: i for i in self.list_images(expression.group_id)
                }
            image = images[expression.group_id].get(w.image_id)
            if image is None:
                raise NotFound(
                    f"image {w.image_id} is not in the group of expression {w.expression_id}"
                )
            out.append(checked_masks(w.status, w.instances, image.height, image.width))
        return out

    def accept_proposals(
        self,
        expression_id: int,
        image_ids: Iterable[int],
        *,
        author: str,
        expected_revisions: Mapping[int, int] | None = None,
    ) -> BatchResult:
        """Turn proposals into human decisions: masks -> ``positive``, no mask -> ``negative``.

        Images without a pending proposal are left alone. ``expected_revisions`` (image id -> the
        revision the annotator saw) makes a proposal that a newer one replaced since a conflict.
        On the author's blind pairs (they are the second annotator) the proposals are those of
        their view, and accepting one writes their second opinion.
        """
        self.authorize(author, "annotate")
        image_ids = list(image_ids)
        current = self.decisions_for_expression(expression_id, image_ids, viewer=author)
        blind = self._blind_images(expression_id, author)
        writes = []
        for image_id in image_ids:
            decision = current.get(image_id)
            if decision is None or decision.status is not DecisionStatus.PROPOSED:
                continue
            status = DecisionStatus.POSITIVE if decision.instances else DecisionStatus.NEGATIVE
            expected = (expected_revisions or {}).get(image_id, decision.revision)
            writes.append(
                PairWrite(
                    expression_id,
                    image_id,
                    status,
                    tuple(i.rle for i in decision.instances),
                    expected,
                    decision.score,
                    decision.model_version,
                    author if image_id in blind else None,
                )
            )
        return self._save_batch(writes, author=author, action="accept_proposal")

    def confirm_negatives(
        self,
        expression_id: int,
        image_ids: Iterable[int] | None = None,
        *,
        author: str,
        expected_revisions: Mapping[int, int] | None = None,
    ) -> BatchResult:
        """Certify that the expression's object is absent from these images, as one undoable action.

        ``image_ids=None`` means every image of the group that has no human decision yet ("confirm all
        remaining undecided as negative"). Pairs a person already decided are left alone unless they
        are named explicitly; ``expected_revisions`` guards those against concurrent edits.

        On the author's blind pairs (they are the second annotator) "decided" and "already
        negative" mean their own second opinion, and the negative is recorded as their second
        opinion: a pair whose decision is negative still gets their own judgement.
        """
        self.authorize(author, "annotate")
        blind = self._blind_images(expression_id, author)
        if image_ids is None:
            current = self.decisions_for_expression(expression_id, viewer=author)
            targets = [iid for iid, d in current.items() if not d.is_human]
        else:
            targets = list(image_ids)
            current = self.decisions_for_expression(expression_id, targets, viewer=author)
        writes = []
        for image_id in targets:
            decision = current.get(image_id)
            if decision is None:
                raise NotFound(
                    f"image {image_id} is not in the group of expression {expression_id}"
                )
            if decision.status is DecisionStatus.NEGATIVE:
                continue
            expected = (expected_revisions or {}).get(image_id, decision.revision)
            writes.append(
                PairWrite(
                    expression_id,
                    image_id,
                    DecisionStatus.NEGATIVE,
                    (),
                    expected,
                    opinion_of=author if image_id in blind else None,
                )
            )
        return self._save_batch(writes, author=author, action="confirm_negative")

    def undo_batch(self, batch_id: str | None, *, author: str) -> BatchResult:
        """Restore every pair of a batch to what it was before, as a new batch (one transaction).

        A pair someone changed after the batch is left as it is and reported as a conflict;
        nothing is lost either way (all states stay in the audit log). Second opinions in the
        batch are restored as second opinions (only by their own annotator). ``batch_id`` must
        name a batch: None (nothing to undo) is refused, it would otherwise select the whole log.
        """
        if not batch_id:
            raise LabelerError("undo needs the id of a batch; none was given")
        self.authorize(author, "annotate")
        entries = [e for e in self.audit(batch_id=batch_id) if not _is_rejected(e.action)]
        if not entries:
            raise NotFound(f"no batch {batch_id!r} in the audit log")
        writes = []
        for entry in entries:
            before, after = entry.before or {}, entry.after or {}
            writes.append(
                PairWrite(
                    entry.expression_id,
                    entry.image_id,
                    DecisionStatus(before.get("status", "unseen")),
                    tuple(before.get("instances", [])),
                    after.get("revision", 0),
                    before.get("score"),
                    before.get("model_version"),
                    after.get("annotator")
                    if entry.action.startswith(opinions.BLIND_ACTION)
                    else None,
                )
            )
        return self._save_batch(writes, author=author, action="undo")

    # -- audit ----------------------------------------------------------------------------------
    def audit(
        self,
        expression_id: int | None = None,
        image_id: int | None = None,
        batch_id: str | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        query = select(t.audit_log).order_by(t.audit_log.c.id)
        if expression_id is not None:
            query = query.where(t.audit_log.c.expression_id == expression_id)
        if image_id is not None:
            query = query.where(t.audit_log.c.image_id == image_id)
        if batch_id is not None:
            query = query.where(t.audit_log.c.batch_id == batch_id)
        if limit is not None:
            query = query.order_by(None).order_by(t.audit_log.c.id.desc()).limit(limit)
        with self._read() as conn:
            rows = conn.execute(query).all()
        entries = [
            AuditEntry(
                r.id,
                r.expression_id,
                r.image_id,
                r.author,
                r.at,
                r.action,
                r.before,
                r.after,
                r.batch_id,
            )
            for r in rows
        ]
        return sorted(entries, key=lambda e: e.id)


def _is_rejected(action: str) -> bool:
    """Whether an audit action is a save that lost a race (``rejected_stale``, blind or not)."""
    return action.endswith("rejected_stale")


def last_batch(entries: Sequence[AuditEntry], author: str) -> str | None:
    """The newest undoable batch of ``author`` among audit entries (for an "undo" button)."""
    for entry in reversed(entries):
        if entry.batch_id and entry.author == author and not _is_rejected(entry.action):
            return entry.batch_id
    return None
