"""The Store: transactional reads and writes of the catalogue (groups, images, expressions, settings).

Decisions, their optimistic locking and the audit log live in ``decisions.py``; progress queries in
``progress.py``. ``Store`` combines them behind one object.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from labeler.domain import Expression, Group, ImageRecord
from labeler.errors import DuplicateName, NotFound
from labeler.limits import check_text
from labeler.store import schema as t
from labeler.store.bulk_write import insert_rows
from labeler.store.engine import WRITE_OPTION, make_engine, migrate


def utcnow() -> datetime:
    return datetime.now(UTC)


def _group(row) -> Group:
    return Group(row.id, row.name, row.target_keyword, row.scene_keyword, dict(row.meta or {}))


def _image(row) -> ImageRecord:
    return ImageRecord(
        id=row.id,
        group_id=row.group_id,
        file=row.file,
        width=row.width,
        height=row.height,
        content_hash=row.content_hash,
        source_url=row.source_url,
        owner=row.owner,
        license=row.license,
        meta=dict(row.meta or {}),
    )


def _expression(row) -> Expression:
    return Expression(row.id, row.group_id, row.text, row.created_by)


_UNITS_LOCK = threading.Lock()


def _units(store) -> threading.local:
    """The store's per-thread open unit (see ``CatalogMixin.unit``)."""
    units = store.__dict__.get("_grd_units")
    if units is None:
        with _UNITS_LOCK:
            units = store.__dict__.setdefault("_grd_units", threading.local())
    return units


class CatalogMixin:
    """Groups, images, expressions and settings."""

    engine: Engine

    @contextlib.contextmanager
    def unit(self) -> Iterator[None]:
        """Every store call this thread makes inside the block runs in ONE transaction: committed
        when the block ends, rolled back entirely when it raises (imports and ingests are all or
        nothing this way, on SQLite and PostgreSQL alike). A nested ``unit`` joins the outer one.

        Keep the block short and free of slow I/O: on SQLite it holds the write lock throughout.
        """
        if self._unit_connection() is not None:
            yield
            return
        with self.engine.connect().execution_options(**{WRITE_OPTION: True}) as conn:
            with conn.begin():
                _units(self).connection = conn
                try:
                    yield
                finally:
                    _units(self).connection = None

    def _unit_connection(self) -> Connection | None:
        return getattr(_units(self), "connection", None)

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        shared = self._unit_connection()
        if shared is not None:  # inside a unit: read what it has written so far
            yield shared
            return
        with self.engine.connect() as conn:
            yield conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        shared = self._unit_connection()
        if shared is not None:
            # A savepoint per call: a call that fails (e.g. a duplicate name caught by its caller)
            # undoes only its own statements, and the unit goes on.
            with shared.begin_nested():
                yield shared
            return
        with self.engine.connect().execution_options(**{WRITE_OPTION: True}) as conn:
            with conn.begin():
                yield conn

    # -- groups -------------------------------------------------------------------------------
    def create_group(
        self, name: str, target_keyword: str = "", scene_keyword: str = "", meta: dict | None = None
    ) -> Group:
        (gid,) = self.create_groups([(name, target_keyword, scene_keyword, meta)])
        return Group(gid, name.strip(), target_keyword, scene_keyword, meta or {})

    def create_groups(self, rows: Sequence[tuple[str, str, str, dict | None]]) -> list[int]:
        """New groups ``(name, target keyword, scene keyword, meta)`` in one statement (an import
        makes a thousand); their ids in ``rows``' order. A name taken already (or twice in
        ``rows``) is ``DuplicateName``, and nothing is inserted."""
        now, values = utcnow(), []
        for name, target_keyword, scene_keyword, meta in rows:
            values.append(
                dict(
                    name=check_text("group name", name.strip()),
                    target_keyword=check_text("target keyword", target_keyword, allow_empty=True),
                    scene_keyword=check_text("scene keyword", scene_keyword, allow_empty=True),
                    meta=meta or {},
                    created_at=now,
                )
            )
        return self._insert_new(
            t.groups,
            values,
            lambda v: f"a group named {v['name']!r} already exists",
            "some of these groups exist already (or are named twice)",
        )

    def _insert_new(self, table, values: list[dict], one: Callable[[dict], str], many: str):
        """Insert ``values`` in one statement, all or nothing; their ids. A unique constraint
        hit is ``DuplicateName``: ``one(row)`` names it for a single row, ``many`` otherwise."""
        if not values:
            return []
        try:
            with self._write() as conn:
                return insert_rows(conn, table, values, return_ids=True)
        except IntegrityError as exc:
            raise DuplicateName(one(values[0]) if len(values) == 1 else many) from exc

    def ensure_group(self, name: str, target_keyword: str = "", scene_keyword: str = "") -> Group:
        """The group called ``name``, created if missing (ingest re-runs must not fail on it)."""
        existing = self.group_by_name(name)
        if existing is not None:
            return existing
        try:
            return self.create_group(name, target_keyword, scene_keyword)
        except DuplicateName:  # created concurrently by another ingest
            return self.group_by_name(name)

    def group_by_name(self, name: str) -> Group | None:
        with self._read() as conn:
            row = conn.execute(select(t.groups).where(t.groups.c.name == name.strip())).first()
        return _group(row) if row else None

    def get_group(self, group_id: int) -> Group:
        with self._read() as conn:
            row = conn.execute(select(t.groups).where(t.groups.c.id == group_id)).first()
        if row is None:
            raise NotFound(f"no group with id {group_id}")
        return _group(row)

    def find_group(self, name_or_id: str | int) -> Group:
        """A group by id or by name, as a user types it on the command line."""
        if isinstance(name_or_id, int) or str(name_or_id).isdigit():
            with contextlib.suppress(NotFound):
                return self.get_group(int(name_or_id))
        group = self.group_by_name(str(name_or_id))
        if group is None:
            raise NotFound(f"no group named {name_or_id!r}; `grd status DIR` lists the groups")
        return group

    def add_images(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Insert many new images in one statement (an import, which has already matched the
        images the project holds and refused repeated pictures); their ids, in ``rows``' order.
        Each row holds :meth:`add_image`'s arguments by name (``group_id``, ``file``, ``width``,
        ``height``, ``content_hash``; optional ``source_url``, ``owner``, ``license``, ``meta``).
        A picture already in its group is an ``IntegrityError``, nothing inserted."""
        now = utcnow()
        values = []
        for row in rows:
            check_text("image file", row["file"])
            for label, key in (
                ("source URL", "source_url"),
                ("owner", "owner"),
                ("license", "license"),
            ):
                check_text(label, row.get(key) or "", allow_empty=True)
            values.append(
                {
                    "group_id": row["group_id"],
                    "file": row["file"],
                    "width": int(row["width"]),
                    "height": int(row["height"]),
                    "content_hash": row["content_hash"],
                    "source_url": row.get("source_url") or "",
                    "owner": row.get("owner") or "",
                    "license": row.get("license") or "",
                    "meta": row.get("meta") or {},
                    "created_at": now,
                }
            )
        if not values:
            return []
        with self._write() as conn:
            return insert_rows(conn, t.images, values, return_ids=True)

    def list_groups(self) -> list[Group]:
        with self._read() as conn:
            rows = conn.execute(select(t.groups).order_by(t.groups.c.id)).all()
        return [_group(r) for r in rows]

    # -- images -------------------------------------------------------------------------------
    def add_image(
        self,
        group_id: int,
        file: str,
        width: int,
        height: int,
        content_hash: str,
        source_url: str = "",
        owner: str = "",
        license: str = "",
        meta: dict[str, Any] | None = None,
    ) -> tuple[ImageRecord, bool]:
        """Add an image to a group; returns ``(record, created)``. Same content twice -> the first one."""
        check_text("image file", file)
        check_text("source URL", source_url or "", allow_empty=True)
        check_text("owner", owner or "", allow_empty=True)
        check_text("license", license or "", allow_empty=True)
        existing = self.image_by_hash(group_id, content_hash)
        if existing is not None:
            return existing, False
        values = dict(
            group_id=group_id,
            file=file,
            width=int(width),
            height=int(height),
            content_hash=content_hash,
            source_url=source_url or "",
            owner=owner or "",
            license=license or "",
            meta=meta or {},
        )
        try:
            with self._write() as conn:
                iid = conn.execute(
                    insert(t.images).values(**values, created_at=utcnow())
                ).inserted_primary_key[0]
        except IntegrityError:
            existing = self.image_by_hash(group_id, content_hash)
            if existing is None:
                raise NotFound(f"no group with id {group_id}") from None
            return existing, False
        return ImageRecord(id=iid, **values), True

    def image_by_hash(self, group_id: int, content_hash: str) -> ImageRecord | None:
        with self._read() as conn:
            row = conn.execute(
                select(t.images).where(
                    t.images.c.group_id == group_id, t.images.c.content_hash == content_hash
                )
            ).first()
        return _image(row) if row else None

    def referenced_files(self, files: Sequence[str]) -> set[str]:
        """Those of ``files`` (project-relative paths) that an image row names."""
        found: set[str] = set()
        with self._read() as conn:
            for start in range(0, len(files), 500):
                chunk = list(files[start : start + 500])
                found.update(
                    conn.execute(
                        select(t.images.c.file).where(t.images.c.file.in_(chunk))
                    ).scalars()
                )
        return found

    def get_image(self, image_id: int) -> ImageRecord:
        with self._read() as conn:
            row = conn.execute(select(t.images).where(t.images.c.id == image_id)).first()
        if row is None:
            raise NotFound(f"no image with id {image_id}")
        return _image(row)

    def list_images(self, group_id: int | None = None) -> list[ImageRecord]:
        query = select(t.images).order_by(t.images.c.id)
        if group_id is not None:
            query = query.where(t.images.c.group_id == group_id)
        with self._read() as conn:
            return [_image(r) for r in conn.execute(query)]

    # -- expressions ----------------------------------------------------------------------------
    def add_expression(self, group_id: int, text: str, created_by: str = "") -> Expression:
        (eid,) = self.add_expressions([(group_id, text, created_by)])
        return Expression(eid, group_id, " ".join(text.split()), created_by)

    def add_expressions(self, rows: Sequence[tuple[int, str, str]]) -> list[int]:
        """New expressions ``(group id, text, created by)`` in one statement (an import makes
        thousands); their ids in ``rows``' order. Texts are whitespace-normalised and checked,
        each author must be allowed to annotate, each group must exist. A text its group has
        already (or twice in ``rows``) is ``DuplicateName``, and nothing is inserted."""
        now, values = utcnow(), []
        for group_id, text, created_by in rows:
            text = " ".join(text.split())
            if not text:
                raise ValueError("an expression needs some text")
            check_text("expression", text)
            check_text("user name", created_by, allow_empty=True)
            values.append(dict(group_id=group_id, text=text, created_by=created_by, created_at=now))
        if not values:
            return []
        for author in sorted({v["created_by"] for v in values}):
            self.authorize(author, "annotate")
        wanted = sorted({v["group_id"] for v in values})
        with self._read() as conn:
            found = {
                gid
                for chunk in chunked(wanted, 500)
                for gid in conn.execute(
                    select(t.groups.c.id).where(t.groups.c.id.in_(list(chunk)))
                ).scalars()
            }
        missing = [gid for gid in wanted if gid not in found]
        if missing:
            raise NotFound(f"no group with id {missing[0]}")
        return self._insert_new(
            t.expressions,
            values,
            lambda v: f"the group already has the expression {v['text']!r}",
            "some of these expressions exist already in their group (or come twice)",
        )

    def ensure_expression(self, group_id: int, text: str, created_by: str = "") -> Expression:
        text = " ".join(text.split())
        for expression in self.list_expressions(group_id):
            if expression.text == text:
                return expression
        return self.add_expression(group_id, text, created_by)

    def edit_expression(self, expression_id: int, text: str, author: str) -> Expression:
        """Fix an expression's wording; the old text is kept in the audit log (image_id 0)."""
        text = check_text("expression", " ".join(text.split()))
        self.authorize(author, "annotate")
        old = self.get_expression(expression_id)
        try:
            with self._write() as conn:
                conn.execute(
                    update(t.expressions)
                    .where(t.expressions.c.id == expression_id)
                    .values(text=text)
                )
                conn.execute(
                    insert(t.audit_log).values(
                        expression_id=expression_id,
                        image_id=0,
                        author=author,
                        at=utcnow(),
                        action="edit_expression",
                        before={"text": old.text},
                        after={"text": text},
                    )
                )
        except IntegrityError as exc:
            raise DuplicateName(f"the group already has the expression {text!r}") from exc
        return Expression(expression_id, old.group_id, text, old.created_by)

    def get_expression(self, expression_id: int) -> Expression:
        with self._read() as conn:
            row = conn.execute(
                select(t.expressions).where(t.expressions.c.id == expression_id)
            ).first()
        if row is None:
            raise NotFound(f"no expression with id {expression_id}")
        return _expression(row)

    def list_expressions(self, group_id: int | None = None) -> list[Expression]:
        query = select(t.expressions).order_by(t.expressions.c.id)
        if group_id is not None:
            query = query.where(t.expressions.c.group_id == group_id)
        with self._read() as conn:
            return [_expression(r) for r in conn.execute(query)]

    def counts(self) -> dict[str, int]:
        with self._read() as conn:
            return {
                name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in (
                    ("groups", t.groups),
                    ("images", t.images),
                    ("expressions", t.expressions),
                    ("decisions", t.decisions),
                    ("instances", t.instances),
                )
            }

    def authorize(self, actor: str | None, action: str) -> None:  # pragma: no cover - see users.py
        """Overridden by ``UsersMixin``: a catalogue alone has no users, so everything is allowed."""

    # -- settings -----------------------------------------------------------------------------
    def get_setting(self, key: str, default: Any = None) -> Any:
        with self._read() as conn:
            row = conn.execute(select(t.settings.c.value).where(t.settings.c.key == key)).first()
        return default if row is None else row.value

    def set_setting(self, key: str, value: Any) -> None:
        with self._write() as conn:
            done = conn.execute(
                update(t.settings).where(t.settings.c.key == key).values(value=value)
            ).rowcount
            if not done:
                conn.execute(insert(t.settings).values(key=key, value=value))


def open_engine(url: str, *, schema: str | None = None, create: bool = True) -> Engine:
    engine = make_engine(url, schema=schema)
    if create:
        migrate(engine)
    return engine


def chunked(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
