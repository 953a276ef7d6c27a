"""Team work on top of decisions: assignments, reviews (accept / reject with a reason), gold pairs.

Every write names its acting user and is authorized by role (``UsersMixin.authorize``); reviews and
gold marks also go to the audit log, so the log tells the whole story of a pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, insert, select
from sqlalchemy.exc import IntegrityError

from labeler.errors import LabelerError, NotFound
from labeler.limits import check_text
from labeler.store import schema as t
from labeler.store.repository import CatalogMixin, utcnow

VERDICTS = ("accepted", "rejected")
#: Audit actions that record a person's own judgement of a pair's decision.
JUDGEMENT_ACTIONS = ("save", "edit", "resolve_conflict", "accept_proposal", "confirm_negative")


@dataclass(frozen=True)
class Assignment:
    group_id: int
    expression_id: int | None  # None: every expression of the group
    user_name: str
    assigned_by: str


@dataclass(frozen=True)
class Review:
    expression_id: int
    image_id: int
    revision: int
    verdict: str
    reason: str
    annotator: str
    reviewer: str
    at: datetime


def _review(r) -> Review:
    return Review(
        r.expression_id, r.image_id, r.revision, r.verdict, r.reason, r.annotator, r.reviewer, r.at
    )


class TeamworkMixin(CatalogMixin):
    # -- assignments ----------------------------------------------------------------------------
    def assign(
        self, group_id: int, user_name: str, *, actor: str, expression_id: int | None = None
    ) -> Assignment:
        """Give ``user_name`` a group (or one expression of it). Admins only; idempotent."""
        self.authorize(actor, "assign")
        group = self.get_group(group_id)
        if expression_id is not None and self.get_expression(expression_id).group_id != group.id:
            raise NotFound(f"expression {expression_id} is not in group {group.name!r}")
        if self.has_users():
            self.get_user(user_name)
        try:
            with self._write() as conn:
                conn.execute(
                    insert(t.assignments).values(
                        group_id=group.id,
                        expression_id=expression_id,
                        user_name=user_name,
                        assigned_by=actor or "",
                        created_at=utcnow(),
                    )
                )
        except IntegrityError:
            pass  # already assigned
        return Assignment(group.id, expression_id, user_name, actor or "")

    def assignments(self, user_name: str | None = None) -> list[Assignment]:
        query = select(t.assignments).order_by(t.assignments.c.id)
        if user_name is not None:
            query = query.where(t.assignments.c.user_name == user_name)
        with self._read() as conn:
            return [
                Assignment(r.group_id, r.expression_id, r.user_name, r.assigned_by)
                for r in conn.execute(query)
            ]

    def assigned_expressions(self, user_name: str) -> list[int]:
        """Expression ids assigned to ``user_name`` (a group assignment gives all its expressions)."""
        ids: list[int] = []
        for a in self.assignments(user_name):
            if a.expression_id is not None:
                ids.append(a.expression_id)
            else:
                ids.extend(e.id for e in self.list_expressions(a.group_id))
        return list(dict.fromkeys(ids))

    # -- review ---------------------------------------------------------------------------------
    def review(
        self, expression_id: int, image_id: int, verdict: str, *, reviewer: str, reason: str = ""
    ) -> Review:
        """Accept or reject the pair's current human decision. A rejection needs a reason and puts
        the pair back in its annotator's queue (``rejections_for``) until they save it again."""
        self.authorize(reviewer, "review")
        if verdict not in VERDICTS:
            raise LabelerError(f"unknown verdict {verdict!r}; choose accepted or rejected")
        reason = check_text("reason", " ".join(reason.split()), allow_empty=verdict == "accepted")
        decision = self.get_decision(expression_id, image_id)
        if not decision.is_human:
            raise LabelerError("only a person's decision can be reviewed; this pair has none yet")
        now = utcnow()
        row = dict(
            expression_id=expression_id,
            image_id=image_id,
            revision=decision.revision,
            verdict=verdict,
            reason=reason,
            annotator=decision.author,
            reviewer=reviewer,
            at=now,
        )
        with self._write() as conn:
            conn.execute(insert(t.reviews).values(**row))
            conn.execute(
                insert(t.audit_log).values(
                    expression_id=expression_id,
                    image_id=image_id,
                    author=reviewer,
                    at=now,
                    action=f"review_{verdict}",
                    before={"status": decision.status.value, "revision": decision.revision},
                    after={"verdict": verdict, "reason": reason},
                )
            )
        return Review(**row)

    def latest_reviews(self, expression_id: int | None = None) -> dict[tuple[int, int], Review]:
        """The newest review of each reviewed pair, still standing only if ``revision`` matches."""
        query = select(t.reviews).order_by(t.reviews.c.id)
        if expression_id is not None:
            query = query.where(t.reviews.c.expression_id == expression_id)
        with self._read() as conn:
            return {(r.expression_id, r.image_id): _review(r) for r in conn.execute(query)}

    def rejections_for(self, annotator: str) -> list[Review]:
        """Rejected pairs of ``annotator`` that nobody saved again since the rejection."""
        out = []
        for (eid, iid), review in self.latest_reviews().items():
            if review.verdict == "rejected" and review.annotator == annotator:
                if self.get_decision(eid, iid).revision == review.revision:
                    out.append(review)
        return out

    def reviewed_pairs(self) -> set[tuple[int, int]]:
        """Pairs whose current decision a reviewer accepted (for ``--reviewed-only`` exports)."""
        done = set()
        for (eid, iid), review in self.latest_reviews().items():
            if (
                review.verdict == "accepted"
                and self.get_decision(eid, iid).revision == review.revision
            ):
                done.add((eid, iid))
        return done

    # -- gold -----------------------------------------------------------------------------------
    def mark_gold(self, expression_id: int, image_id: int, *, actor: str) -> None:
        """Freeze the pair's current human decision as gold (admins only)."""
        self.authorize(actor, "assign")
        decision = self.get_decision(expression_id, image_id)
        if not decision.is_human:
            raise LabelerError("only a decided pair can be gold")
        with self._write() as conn:
            conn.execute(
                delete(t.gold_pairs).where(
                    and_(
                        t.gold_pairs.c.expression_id == expression_id,
                        t.gold_pairs.c.image_id == image_id,
                    )
                )
            )
            conn.execute(
                insert(t.gold_pairs).values(
                    expression_id=expression_id,
                    image_id=image_id,
                    status=decision.status.value,
                    instances=[i.rle for i in decision.instances],
                    marked_by=actor or "",
                    at=utcnow(),
                )
            )

    def gold(self) -> dict[tuple[int, int], tuple[str, list]]:
        with self._read() as conn:
            return {
                (r.expression_id, r.image_id): (r.status, r.instances)
                for r in conn.execute(select(t.gold_pairs))
            }

    # -- independent judgements (for agreement) -------------------------------------------------
    def judgements(self) -> dict[tuple[int, int], dict[str, tuple[str, list]]]:
        """Each person's last own saved state of each pair's decision, from the audit log:
        ``{(expression, image): {author: (status, instance RLEs)}}``. Saves from the grid, the
        editor (``edit``) and conflict resolutions count; model proposals, undos, stale attempts
        and blind second opinions (``blind_judgements``) are not in it."""
        out: dict[tuple[int, int], dict[str, tuple[str, list]]] = {}
        query = (
            select(t.audit_log)
            .where(t.audit_log.c.action.in_(JUDGEMENT_ACTIONS))
            .order_by(t.audit_log.c.id)
        )
        with self._read() as conn:
            for r in conn.execute(query):
                after = r.after or {}
                if after.get("status") in ("positive", "negative"):
                    out.setdefault((r.expression_id, r.image_id), {})[r.author] = (
                        after["status"],
                        after.get("instances", []),
                    )
        return out
