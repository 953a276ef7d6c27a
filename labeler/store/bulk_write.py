"""Many new rows in one go: PostgreSQL's COPY, a plain multi-row insert elsewhere.

    ids = insert_rows(conn, t.images, rows, return_ids=True)   # ids in ``rows``' order

At ten times GRD an import writes ~1 M rows (images, decisions, instances, audit entries). As
INSERT statements, psycopg spent most of that time building and sending statements; COPY streams
the rows in one command on the same connection, so it joins the caller's transaction (and
savepoint) like any statement. Ids, when asked for, are taken from the table's own sequence first,
so later inserts of any kind never collide with them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Connection, Table, insert, text
from sqlalchemy.exc import IntegrityError


def insert_rows(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], *, return_ids: bool = False
) -> list[int]:
    """Insert ``rows`` (dicts with the same keys, giving every column that has no database
    default) into ``table``; returns the new ``id``s in ``rows``' order when ``return_ids``, else
    ``[]``. A constraint violation is SQLAlchemy's ``IntegrityError`` on every backend, with the
    whole call undone by the caller's transaction."""
    if not rows:
        return []
    if conn.dialect.name != "postgresql":
        if return_ids:
            statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            return [r[0] for r in conn.execute(statement, list(rows))]
        conn.execute(insert(table), list(rows))
        return []
    columns = list(rows[0])
    ids: list[int] = []
    if return_ids:
        ids = list(
            conn.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
                ),
                {"table": table.name, "n": len(rows)},
            ).scalars()
        )
    as_json = {c.name for c in table.columns if isinstance(c.type, JSON)}
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in (["id"] if return_ids else []) + columns)
    command = f"COPY {quote(table.name)} ({names}) FROM STDIN"
    driver = conn.connection.driver_connection
    import psycopg  # only here: the PostgreSQL driver is not needed on SQLite

    try:
        with driver.cursor() as cursor, cursor.copy(command) as copy:
            for k, row in enumerate(rows):
                # JSON as SQLAlchemy writes it (None too becomes JSON null, not SQL NULL)
                values = [json.dumps(row[c]) if c in as_json else row[c] for c in columns]
                copy.write_row([ids[k], *values] if return_ids else values)
    except psycopg.IntegrityError as exc:
        raise IntegrityError(command, None, exc) from exc
    return ids
