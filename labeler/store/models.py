"""The model registry: each trained GRSer checkpoint, what it was trained on, how it scored, its parent.

A registered model's ``name`` (e.g. ``grser-r2-1a2b3c4d``) is the version string stamped into every
proposal it makes, so a decision can always be traced to the checkpoint and the data behind it.
``dataset`` is a snapshot of the human decisions trained on (``(expression_id, image_id, revision)``
triples plus a hash and counts); ``report`` the held-out evaluation. At most one model is current.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from labeler.errors import DuplicateName, NotFound
from labeler.store.repository import CatalogMixin, utcnow
from labeler.store.schema import metadata

models = Table(
    "models",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("path", String(500), nullable=False),
    Column("config", JSON, nullable=False),
    Column("parent_id", Integer, ForeignKey("models.id", ondelete="SET NULL"), nullable=True),
    Column("dataset", JSON, nullable=False),
    Column("report", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("is_current", Boolean, nullable=False, default=False),
)


@dataclass(frozen=True)
class ModelRecord:
    """One registered checkpoint. ``path`` is relative to the project folder when inside it."""

    id: int
    name: str
    path: str
    config: dict[str, Any] = field(default_factory=dict)
    parent_id: int | None = None
    dataset: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    is_current: bool = False


def _record(row) -> ModelRecord:
    return ModelRecord(
        row.id,
        row.name,
        row.path,
        dict(row.config or {}),
        row.parent_id,
        dict(row.dataset or {}),
        dict(row.report or {}),
        row.created_at,
        bool(row.is_current),
    )


class ModelsMixin(CatalogMixin):
    def register_model(
        self,
        name: str,
        path: str,
        *,
        config: dict[str, Any],
        dataset: dict[str, Any],
        report: dict[str, Any],
        parent_id: int | None = None,
        make_current: bool = False,
    ) -> ModelRecord:
        """Add a checkpoint to the registry (``DuplicateName`` if the name is taken)."""
        try:
            with self._write() as conn:
                if (
                    parent_id is not None
                    and conn.execute(select(models.c.id).where(models.c.id == parent_id)).first()
                    is None
                ):
                    raise NotFound(f"no registered model with id {parent_id}")
                if make_current:
                    conn.execute(update(models).values(is_current=False))
                new_id = conn.execute(
                    insert(models).values(
                        name=name,
                        path=path,
                        config=config,
                        parent_id=parent_id,
                        dataset=dataset,
                        report=report,
                        created_at=utcnow(),
                        is_current=make_current,
                    )
                ).inserted_primary_key[0]
        except IntegrityError as exc:
            raise DuplicateName(f"a model named {name!r} is already registered") from exc
        return self.get_model(new_id)

    def get_model(self, model_id: int | str) -> ModelRecord:
        """A model by id or by name."""
        column = models.c.id if isinstance(model_id, int) else models.c.name
        with self._read() as conn:
            row = conn.execute(select(models).where(column == model_id)).first()
        if row is None:
            raise NotFound(f"no registered model {model_id!r}")
        return _record(row)

    def list_models(self) -> list[ModelRecord]:
        with self._read() as conn:
            return [_record(r) for r in conn.execute(select(models).order_by(models.c.id))]

    def current_model(self) -> ModelRecord | None:
        with self._read() as conn:
            row = conn.execute(select(models).where(models.c.is_current.is_(True))).first()
        return None if row is None else _record(row)

    def set_current_model(self, model_id: int | str) -> ModelRecord:
        """Mark one model current (and no other)."""
        record = self.get_model(model_id)
        with self._write() as conn:
            conn.execute(update(models).values(is_current=False))
            conn.execute(update(models).where(models.c.id == record.id).values(is_current=True))
        return self.get_model(record.id)

    def lineage(self, model_id: int | str) -> list[ModelRecord]:
        """The model, its parent, the parent's parent, ... (oldest last)."""
        chain = [self.get_model(model_id)]
        while chain[-1].parent_id is not None and len(chain) < 1000:
            chain.append(self.get_model(chain[-1].parent_id))
        return chain
