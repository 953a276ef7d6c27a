"""Progress queries: per expression, per group, per annotator. Each is one SQL statement."""

from __future__ import annotations

from sqlalchemy import case, func, select

from labeler.domain import AnnotatorProgress, ExpressionProgress, GroupProgress
from labeler.store import schema as t
from labeler.store.repository import CatalogMixin


def _count_status(status: str):
    return func.coalesce(func.sum(case((t.decisions.c.status == status, 1), else_=0)), 0)


class ProgressMixin(CatalogMixin):
    def expression_progress(self, group_id: int | None = None) -> list[ExpressionProgress]:
        """Decided / proposed / unseen counts of every expression (of one group, or all)."""
        images_per_group = (
            select(func.count())
            .select_from(t.images)
            .where(t.images.c.group_id == t.expressions.c.group_id)
            .scalar_subquery()
        )
        query = (
            select(
                t.expressions.c.id,
                t.expressions.c.group_id,
                t.expressions.c.text,
                images_per_group.label("total"),
                _count_status("positive").label("positive"),
                _count_status("negative").label("negative"),
                _count_status("proposed").label("proposed"),
            )
            .select_from(
                t.expressions.outerjoin(
                    t.decisions, t.decisions.c.expression_id == t.expressions.c.id
                )
            )
            .group_by(t.expressions.c.id, t.expressions.c.group_id, t.expressions.c.text)
            .order_by(t.expressions.c.group_id, t.expressions.c.id)
        )
        if group_id is not None:
            query = query.where(t.expressions.c.group_id == group_id)
        with self._read() as conn:
            return [ExpressionProgress(*row) for row in conn.execute(query)]

    def group_progress(self) -> list[GroupProgress]:
        """Per group: images, expressions, pairs, decided and proposed pairs, complete expressions."""
        per_expression = self.expression_progress()
        image_counts = dict(
            self._scalar_rows(
                select(t.images.c.group_id, func.count()).group_by(t.images.c.group_id)
            )
        )
        result = []
        for group in self.list_groups():
            mine = [p for p in per_expression if p.group_id == group.id]
            images = image_counts.get(group.id, 0)
            result.append(
                GroupProgress(
                    group_id=group.id,
                    name=group.name,
                    images=images,
                    expressions=len(mine),
                    pairs=images * len(mine),
                    decided=sum(p.decided for p in mine),
                    proposed=sum(p.proposed for p in mine),
                    complete_expressions=sum(p.complete for p in mine),
                )
            )
        return result

    def annotator_progress(self) -> list[AnnotatorProgress]:
        """Human decisions currently standing, per author."""
        query = (
            select(
                t.decisions.c.author,
                _count_status("positive"),
                _count_status("negative"),
            )
            .where(t.decisions.c.status.in_(("positive", "negative")))
            .group_by(t.decisions.c.author)
            .order_by(t.decisions.c.author)
        )
        return [AnnotatorProgress(*row) for row in self._scalar_rows(query)]

    def _scalar_rows(self, query) -> list[tuple]:
        with self._read() as conn:
            return [tuple(row) for row in conn.execute(query)]
