"""The annotation store: SQLite by default, PostgreSQL by URL, same code.

store = Store("sqlite:///project/project.db")   # migrates to the newest schema
group = store.create_group("dog x beach", "dog", "beach")
store.save_decision(expr.id, image.id, "negative", author="ann", expected_revision=0)
"""

from __future__ import annotations

from labeler.store.blind import BlindMixin
from labeler.store.bulk import BulkReadMixin
from labeler.store.decisions import last_batch
from labeler.store.expression_edits import ExpressionEditsMixin, ExpressionHasDecisions
from labeler.store.jobs import JobRecord, JobsMixin, JobState
from labeler.store.models import ModelRecord, ModelsMixin
from labeler.store.progress import ProgressMixin
from labeler.store.repository import open_engine
from labeler.store.teamwork import TeamworkMixin
from labeler.store.users import User, UsersMixin


class Store(
    ExpressionEditsMixin,
    BlindMixin,
    ProgressMixin,
    ModelsMixin,
    JobsMixin,
    BulkReadMixin,
    TeamworkMixin,
    UsersMixin,
):
    """One project's database. Thread-safe: every call opens its own short transaction."""

    def __init__(self, url: str, *, schema: str | None = None, create: bool = True):
        self.url = url
        self.engine = open_engine(url, schema=schema, create=create)

    def close(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"


__all__ = [
    "ExpressionHasDecisions",
    "JobRecord",
    "JobState",
    "ModelRecord",
    "Store",
    "User",
    "last_batch",
]
