"""Decision counts kept by the write path, so progress never counts the decisions table.

``decision_counts`` holds, per (expression, author, status), how many of the expression's pairs
stand in that state by that author. Every write of a decision adds its change here in the same
transaction (:func:`bump`): a save moves one pair from (before author, before status) to (author,
status), an import adds its rows, an expression's delete removes its counts with it. Progress
(:mod:`labeler.store.progress`) sums these few thousand rows instead of aggregating every decision:
at ten times GRD (252k decisions) that was 60-80 ms a query on PostgreSQL and grew with the
project; this grows with expressions x authors.

Counts are applied in key order, one upsert per key, so two transactions touching the same keys
take their row locks in the same order (no deadlock between them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy import Connection, delete, func, select

from labeler.store import schema as t

#: (expression id, author, status) -> change in the number of pairs in that state.
Deltas = Counter[tuple[int, str, str]]


def moved(
    deltas: Deltas, expression_id: int, before: tuple[str, str] | None, after: tuple[str, str]
) -> None:
    """Record one pair moving from ``before`` (author, status; None: no row yet) to ``after``."""
    if before is not None:
        deltas[(expression_id, *before)] -= 1
    deltas[(expression_id, *after)] += 1


def bump(conn: Connection, deltas: Deltas) -> None:
    """Apply ``deltas`` to ``decision_counts`` (an upsert per changed key, in key order)."""
    c = t.decision_counts
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    rows = [
        {"expression_id": expression_id, "author": author, "status": status, "n": n}
        for (expression_id, author, status), n in sorted(deltas.items())
        if n
    ]
    if not rows:
        return
    statement = upsert(c)
    # one statement run for every row in turn (an import bumps ~30k keys at ten times GRD)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[c.c.expression_id, c.c.author, c.c.status],
            set_={"n": c.c.n + statement.excluded.n},
        ),
        rows,
    )


def forget_expression(conn: Connection, expression_id: int) -> None:
    """Drop an expression's counts (its decisions are being deleted with it)."""
    conn.execute(
        delete(t.decision_counts).where(t.decision_counts.c.expression_id == expression_id)
    )


def recount(conn: Connection) -> dict[tuple[int, str, str], int]:
    """The counts as the decisions table says they should be (what the kept ones must equal)."""
    d = t.decisions
    query = select(d.c.expression_id, d.c.author, d.c.status, func.count()).group_by(
        d.c.expression_id, d.c.author, d.c.status
    )
    return {(e, a, s): n for e, a, s, n in conn.execute(query)}


def stored(conn: Connection) -> dict[tuple[int, str, str], int]:
    """The kept counts, without keys at zero."""
    c = t.decision_counts
    rows: Iterable = conn.execute(select(c.c.expression_id, c.c.author, c.c.status, c.c.n))
    return {(e, a, s): n for e, a, s, n in rows if n}
