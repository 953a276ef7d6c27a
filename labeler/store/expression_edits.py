"""Deleting an expression, with its decisions kept in the audit log.

    store.delete_expression(expression_id, author="ann")              # refuses if people decided
    store.delete_expression(expression_id, author="ann", force=True)  # deletes them too

Delete refuses by default when a person has decided a pair of the expression
(``ExpressionHasDecisions``), because those decisions are the project's truth. With ``force`` every
decision of the expression (human or proposed) is written to the audit log as a
``delete_expression`` entry (``before`` = the decision, ``after`` = null) and the expression's own
entry (image id 0) keeps its text, group and author; then the rows go, in one transaction. The
audit log has no foreign key to expressions, so these entries outlive the expression. A deleted
expression is not undoable from the app; its decisions can be read back from the log.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, select

from labeler.errors import LabelerError
from labeler.store import counts
from labeler.store import schema as t
from labeler.store.decisions import DecisionsMixin, _snapshot
from labeler.store.repository import chunked, utcnow


class ExpressionHasDecisions(LabelerError):
    """An expression that people have decided pairs of cannot be deleted without ``force``."""


class ExpressionEditsMixin(DecisionsMixin):
    def delete_expression(self, expression_id: int, *, author: str, force: bool = False) -> int:
        """Delete an expression and its decisions (see the module docstring); returns how many
        human decisions went with it. Raises ``NotFound`` or ``ExpressionHasDecisions``."""
        # Deleting people's decisions (force) is an admin's call; an unused expression anyone's.
        self.authorize(author, "settings" if force else "annotate")
        expression = self.get_expression(expression_id)
        with self._write() as conn:
            decisions = self._load_decisions(conn, expression_id, None)
            human = sum(d.is_human for d in decisions.values())
            if human and not force:
                raise ExpressionHasDecisions(
                    f"expression {expression_id} “{expression.text}” has {human} human "
                    f"decision{'s' if human != 1 else ''}; delete it with force to remove them "
                    "(they stay in the audit log)"
                )
            now = utcnow()
            entries = [
                dict(
                    expression_id=expression_id,
                    image_id=image_id,
                    author=author,
                    at=now,
                    action="delete_expression",
                    before=_snapshot(decision),
                    after=None,
                )
                for image_id, decision in sorted(decisions.items())
            ]
            entries.append(
                dict(
                    expression_id=expression_id,
                    image_id=0,
                    author=author,
                    at=now,
                    action="delete_expression",
                    before={
                        "text": expression.text,
                        "group_id": expression.group_id,
                        "created_by": expression.created_by,
                    },
                    after=None,
                )
            )
            conn.execute(insert(t.audit_log), entries)
            ids = [
                r.id
                for r in conn.execute(
                    select(t.decisions.c.id).where(t.decisions.c.expression_id == expression_id)
                )
            ]
            for chunk in chunked(ids, 500):
                conn.execute(delete(t.instances).where(t.instances.c.decision_id.in_(list(chunk))))
            conn.execute(delete(t.decisions).where(t.decisions.c.expression_id == expression_id))
            counts.forget_expression(conn, expression_id)
            conn.execute(delete(t.expressions).where(t.expressions.c.id == expression_id))
        return human
