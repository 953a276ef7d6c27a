"""Progress queries: per expression, per group, per annotator. Each is one SQL statement over the
decision counts the write path keeps (:mod:`labeler.store.counts`), never over every decision."""

from __future__ import annotations

from sqlalchemy import case, func, select

from labeler.domain import AnnotatorProgress, ExpressionProgress, GroupProgress
from labeler.store import schema as t
from labeler.store.repository import CatalogMixin


def _count_status(status: str):
    c = t.decision_counts
    return func.coalesce(func.sum(case((c.c.status == status, c.c.n), else_=0)), 0)


def _images_per_group(group_id: int | None = None):
    i = t.images
    query = select(i.c.group_id, func.count().label("n")).group_by(i.c.group_id)
    return query if group_id is None else query.where(i.c.group_id == group_id)


def _per_expression(group_id: int | None = None, images=None):
    """Per expression: its group's image count and its decision counts by status. ``images``: the
    per-group image counts to use (a CTE the caller reads twice), else counted here."""
    c, e = t.decision_counts, t.expressions
    counts = select(
        c.c.expression_id,
        _count_status("positive").label("positive"),
        _count_status("negative").label("negative"),
        _count_status("proposed").label("proposed"),
    ).group_by(c.c.expression_id)
    if group_id is not None:
        counts = counts.where(c.c.expression_id.in_(select(e.c.id).where(e.c.group_id == group_id)))
    counts = counts.subquery()
    if images is None:
        images = _images_per_group(group_id).subquery()
    query = select(
        e.c.id,
        e.c.group_id,
        e.c.text,
        func.coalesce(images.c.n, 0).label("total"),
        func.coalesce(counts.c.positive, 0).label("positive"),
        func.coalesce(counts.c.negative, 0).label("negative"),
        func.coalesce(counts.c.proposed, 0).label("proposed"),
    ).select_from(
        e.outerjoin(counts, counts.c.expression_id == e.c.id).outerjoin(
            images, images.c.group_id == e.c.group_id
        )
    )
    return query if group_id is None else query.where(e.c.group_id == group_id)


class ProgressMixin(CatalogMixin):
    def expression_progress(self, group_id: int | None = None) -> list[ExpressionProgress]:
        """Decided / proposed / unseen counts of every expression (of one group, or all)."""
        query = _per_expression(group_id).order_by(t.expressions.c.group_id, t.expressions.c.id)
        with self._read() as conn:
            return [ExpressionProgress(*row) for row in conn.execute(query)]

    def group_progress(self) -> list[GroupProgress]:
        """Per group: images, expressions, pairs, decided and proposed pairs, complete expressions
        (one statement over the per-expression counts)."""
        g = t.groups
        images = _images_per_group().cte("images_per_group")  # counted once, read twice
        per = _per_expression(images=images).subquery()
        decided = per.c.positive + per.c.negative
        n_images = func.coalesce(images.c.n, 0)
        query = (
            select(
                g.c.id,
                g.c.name,
                n_images,
                func.count(per.c.id),
                func.coalesce(func.sum(decided), 0),
                func.coalesce(func.sum(per.c.proposed), 0),
                func.coalesce(
                    func.sum(case(((per.c.total > 0) & (decided == per.c.total), 1), else_=0)), 0
                ),
            )
            .select_from(
                g.outerjoin(images, images.c.group_id == g.c.id).outerjoin(
                    per, per.c.group_id == g.c.id
                )
            )
            .group_by(g.c.id, g.c.name, images.c.n)
            .order_by(g.c.id)
        )
        return [
            GroupProgress(
                group_id=gid,
                name=name,
                images=int(n),
                expressions=int(n_expr),
                pairs=int(n) * int(n_expr),
                decided=int(n_decided),
                proposed=int(n_proposed),
                complete_expressions=int(n_complete),
            )
            for gid, name, n, n_expr, n_decided, n_proposed, n_complete in self._scalar_rows(query)
        ]

    def annotator_progress(self) -> list[AnnotatorProgress]:
        """Human decisions currently standing, per author."""
        c = t.decision_counts
        query = (
            select(c.c.author, _count_status("positive"), _count_status("negative"))
            .where(c.c.status.in_(("positive", "negative")))
            .group_by(c.c.author)
            .having(func.sum(c.c.n) > 0)
            .order_by(c.c.author)
        )
        return [AnnotatorProgress(*row) for row in self._scalar_rows(query)]

    def _scalar_rows(self, query) -> list[tuple]:
        with self._read() as conn:
            return [tuple(row) for row in conn.execute(query)]
