"""Whole-project reads in a fixed number of streamed queries (exports at ten times GRD size).

Reading decisions expression by expression costs a few round trips each; at 3,160 expressions on
PostgreSQL that was two minutes of an export. ``all_decisions`` reads every decision that is not
``unseen`` with one query and every instance with another, each streamed in chunks from a
server-side cursor, and joins them in memory: memory grows with the answer, not with the queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy import Connection, select

from labeler.domain import DecisionStatus, ExpressionDecision, Instance
from labeler.store import schema as t
from labeler.store.repository import CatalogMixin

#: Rows fetched per round trip while streaming.
CHUNK = 10_000


def _streamed(conn: Connection, query) -> Iterator[tuple]:
    # plain tuples, unpacked by position: attribute access on 400k Rows cost seconds
    result = conn.execution_options(stream_results=True, yield_per=CHUNK).execute(query)
    for chunk in result.tuples().partitions():
        yield from chunk


class BulkReadMixin(CatalogMixin):
    def all_decisions(self) -> dict[int, dict[int, ExpressionDecision]]:
        """expression id -> image id -> decision, for every pair that is not ``unseen``
        (one consistent read: both queries run in one transaction)."""
        d, i = t.decisions, t.instances
        instances: dict[int, list[Instance]] = defaultdict(list)
        out: dict[int, dict[int, ExpressionDecision]] = defaultdict(dict)
        with self.engine.connect() as conn, conn.begin():
            # one snapshot for both statements on PostgreSQL (SQLite: one read transaction anyway)
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            wanted = d.c.status != DecisionStatus.UNSEEN.value
            query = (
                select(i.c.decision_id, i.c.id, i.c.height, i.c.width, i.c.counts, i.c.area)
                .add_columns(i.c.bbox_x, i.c.bbox_y, i.c.bbox_w, i.c.bbox_h)
                .join(d, d.c.id == i.c.decision_id)
                .where(wanted)
                .order_by(i.c.decision_id, i.c.ordinal)
            )
            for dec_id, inst_id, height, width, counts, area, bx, by, bw, bh in _streamed(
                conn, query
            ):
                instances[dec_id].append(
                    Instance(
                        rle={"size": [height, width], "counts": counts},
                        id=inst_id,
                        area=area,
                        bbox=(bx, by, bw, bh),
                    )
                )
            statuses = {s.value: s for s in DecisionStatus}
            decided = (
                select(d.c.id, d.c.expression_id, d.c.image_id, d.c.status, d.c.revision)
                .add_columns(d.c.author, d.c.updated_at, d.c.score, d.c.model_version)
                .where(wanted)
                .order_by(d.c.expression_id, d.c.image_id)
            )
            for dec_id, eid, iid, status, rev, author, at, score, version in _streamed(
                conn, decided
            ):
                out[eid][iid] = ExpressionDecision(
                    expression_id=eid,
                    image_id=iid,
                    status=statuses[status],
                    instances=tuple(instances.get(dec_id, ())),
                    revision=rev,
                    author=author,
                    updated_at=at,
                    score=score,
                    model_version=version,
                )
        return dict(out)
