"""``insert_rows``: COPY on PostgreSQL, a multi-row insert on SQLite, the same rows either way."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from labeler.store import schema as t
from labeler.store.bulk_write import insert_rows
from labeler.store.repository import utcnow

# ``store`` is the shared fixture of tests/conftest.py: SQLite and PostgreSQL.


def _image(group_id: int, k: int, meta) -> dict:
    return {
        "group_id": group_id,
        "file": f"images/{k}.png",
        "width": 8,
        "height": 6,
        "content_hash": f"hash{k}",
        "source_url": "https://example.org/a\tb\\c\nd",  # COPY's special characters survive
        "owner": "",
        "license": "CC BY 2.0",
        "meta": meta,
        "created_at": utcnow(),
    }


def test_rows_ids_and_json_as_a_plain_insert_writes_them(store):
    group = store.create_group("g")
    metas = [{"original_name": "ä.jpg", "nested": [1, None, {"x": 2.5}]}, {}, None]
    rows = [_image(group.id, k, meta) for k, meta in enumerate(metas)]
    with store.engine.begin() as conn:
        ids = insert_rows(conn, t.images, rows, return_ids=True)
        # an ordinary insert afterwards draws the next id from the same sequence: no collision
        later = conn.execute(
            insert(t.images).values(**_image(group.id, 9, {}))
        ).inserted_primary_key
        got = {r.id: r for r in conn.execute(select(t.images))}
    assert len(set(ids)) == 3 and later[0] not in ids
    for image_id, row in zip(ids, rows, strict=True):  # ids come back in the rows' order
        stored = got[image_id]
        assert (stored.file, stored.source_url, stored.meta) == (
            row["file"],
            row["source_url"],
            row["meta"],
        )
    with store.engine.connect() as conn:
        assert insert_rows(conn, t.images, []) == []


def test_a_duplicate_is_an_integrity_error_and_nothing_stays(store):
    group = store.create_group("g")
    with store.engine.begin() as conn:
        insert_rows(conn, t.images, [_image(group.id, 1, {})])
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        insert_rows(conn, t.images, [_image(group.id, 2, {}), _image(group.id, 1, {})])
    assert [i.file for i in store.list_images()] == ["images/1.png"]
