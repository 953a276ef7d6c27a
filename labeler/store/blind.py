"""Blind double assignment in the store: assigning blind pairs, the second annotator's to-do, and
both sides of each blind pair for agreement.

The rules (who sees what, which pairs overlap) are ``labeler/blind.py``; the two tables of
migration ``0005_blind_pairs`` are read and written at the connection level by
``labeler/store/opinions.py``, which ``decisions.py`` uses so that

- ``get_decision`` / ``decisions_for_expression`` with ``viewer=`` return that viewer's view
  (:func:`labeler.blind.view_for`);
- a save, an accepted proposal or a confirmed negative by a pair's *second* annotator writes their
  second opinion (same optimistic revision check, same audit log, actions prefixed ``blind_``),
  never the pair's decision; ``undo_batch`` restores second opinions like decisions.

    store.assign_blind([(expr, img), ...], "ann", "bea", actor="root")  # admins only
    store.blind_judgements()  # {(expr, img): {"ann": (status, RLEs), "bea": (...)}}
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from labeler import blind as rules
from labeler.agreement import merge_judgements
from labeler.blind import BlindPair, SecondOpinion
from labeler.domain import ExpressionDecision
from labeler.errors import LabelerError, NotFound
from labeler.limits import check_text
from labeler.store import schema as t
from labeler.store.decisions import DecisionsMixin
from labeler.store.opinions import load_blind, load_opinions
from labeler.store.repository import utcnow

#: The two sources agreement is computed from (``BlindMixin.agreement_judgements``).
BLIND_SOURCE = "blind pairs"
SAVES_SOURCE = "last saves"


class BlindMixin(DecisionsMixin):
    # -- assignment -----------------------------------------------------------------------------
    def assign_blind(
        self, pairs: Iterable[tuple[int, int]], first: str, second: str, *, actor: str
    ) -> tuple[int, int]:
        """Give each (expression, image) pair to ``first`` (its decision) and, blind, to ``second``
        (their second opinion). Admins only. A pair that is already blind keeps its annotators.
        Returns ``(added, already blind)``; each added pair is logged as ``blind_assign``."""
        self.authorize(actor, "assign")
        first = check_text("user name", " ".join(first.split()))
        second = check_text("user name", " ".join(second.split()))
        if first == second:
            raise LabelerError("a blind pair needs two different annotators")
        if self.has_users():
            self.get_user(first)
            self.get_user(second)
        pairs = sorted(set(pairs))
        groups = {e.id: e.group_id for e in self.list_expressions()}
        images = {i.id: i.group_id for i in self.list_images()}
        for eid, iid in pairs:
            if eid not in groups or images.get(iid) != groups[eid]:
                raise NotFound(f"image {iid} is not in the group of expression {eid}")
        added = 0
        with self._write() as conn:
            taken = set(load_blind(conn))
            now = utcnow()
            for eid, iid in pairs:
                if (eid, iid) in taken:
                    continue
                try:
                    with conn.begin_nested():
                        conn.execute(
                            insert(t.blind_pairs).values(
                                expression_id=eid,
                                image_id=iid,
                                first_annotator=first,
                                second_annotator=second,
                                assigned_by=actor or "",
                                created_at=now,
                            )
                        )
                except IntegrityError:  # made blind concurrently
                    continue
                conn.execute(
                    insert(t.audit_log).values(
                        expression_id=eid,
                        image_id=iid,
                        author=actor or "",
                        at=now,
                        action="blind_assign",
                        before=None,
                        after={"first": first, "second": second},
                    )
                )
                added += 1
        return added, len(pairs) - added

    # -- reads ----------------------------------------------------------------------------------
    def blind_pairs(
        self, expression_id: int | None = None, *, second: str | None = None
    ) -> list[BlindPair]:
        """Blind pairs (of one expression, of one second annotator), in the order assigned."""
        with self._read() as conn:
            return list(load_blind(conn, expression_id, second=second).values())

    def second_opinions(self, annotator: str | None = None) -> list[SecondOpinion]:
        with self._read() as conn:
            return list(load_opinions(conn, annotator=annotator).values())

    def blind_todo(self, annotator: str) -> dict[int, int]:
        """Expression id -> how many of its blind pairs ``annotator`` (their second annotator)
        has not judged yet; expressions with none to do are left out."""
        with self._read() as conn:
            pairs = list(load_blind(conn, second=annotator).values())
            opinions = list(load_opinions(conn, annotator=annotator).values())
        out: dict[int, int] = {}
        for eid in dict.fromkeys(p.expression_id for p in pairs):
            n = rules.todo_count([p for p in pairs if p.expression_id == eid], opinions)
            if n:
                out[eid] = n
        return out

    def blind_judgements(self) -> dict[tuple[int, int], dict[str, tuple[str, list]]]:
        """For each blind pair, both annotators' judgements: ``{(expression, image): {name:
        (status, RLEs)}}``: the pair's decision under its author and the second opinion under
        the second annotator (:func:`labeler.blind.judgements_of`). Pairs neither side judged
        yet are left out; a pair one side judged has one entry."""
        out: dict[tuple[int, int], dict[str, tuple[str, list]]] = {}
        with self._read() as conn:
            by_expression: dict[int, list[BlindPair]] = {}
            for pair in load_blind(conn).values():
                by_expression.setdefault(pair.expression_id, []).append(pair)
            opinions = load_opinions(conn)
            for eid, pairs in sorted(by_expression.items()):
                mains = self._load_decisions(conn, eid, None)
                for pair in pairs:
                    main = mains.get(pair.image_id, ExpressionDecision(eid, pair.image_id))
                    opinion = opinions.get((eid, pair.image_id, pair.second))
                    both = rules.judgements_of(pair, main, opinion)
                    if both:
                        out[(eid, pair.image_id)] = both
        return out

    # -- agreement ------------------------------------------------------------------------------
    def agreement_judgements(
        self,
    ) -> tuple[str, dict[tuple[int, int], dict[str, tuple[str, list]]]]:
        """What agreement reports compare, and which source it is: ``("blind pairs",
        blind_judgements())`` as soon as any blind pair is assigned (two judgements made blind to
        each other), else ``("last saves", judgements())``: each person's last own save of each
        decision, from the audit log (the later one may have seen the earlier)."""
        if self.blind_pairs():
            return BLIND_SOURCE, self.blind_judgements()
        return SAVES_SOURCE, self.judgements()

    def all_judgements(self) -> dict[tuple[int, int], dict[str, tuple[str, list]]]:
        """Every judgement a person made: their last own saves of decisions and their blind
        second opinions (what gold accuracy is scored on)."""
        return merge_judgements(self.judgements(), self.blind_judgements())
