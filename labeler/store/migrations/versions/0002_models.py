"""Model registry: every trained GRSer checkpoint with its config, data snapshot, report, parent.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("models.id", ondelete="SET NULL"), nullable=True),
        sa.Column("dataset", sa.JSON, nullable=False),
        sa.Column("report", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_current", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_table("models")
