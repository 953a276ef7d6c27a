"""Initial schema: groups, images, expressions, decisions, instances, audit log, settings.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _now_col(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("target_keyword", sa.String(200), nullable=False),
        sa.Column("scene_keyword", sa.String(200), nullable=False),
        sa.Column("meta", sa.JSON, nullable=False),
        _now_col("created_at"),
    )
    op.create_table(
        "images",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("group_id", sa.Integer, sa.ForeignKey("groups.id", ondelete="CASCADE"), nullable=False),
        sa.Column("file", sa.String(500), nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("source_url", sa.Text, nullable=False),
        sa.Column("owner", sa.String(300), nullable=False),
        sa.Column("license", sa.String(300), nullable=False),
        sa.Column("meta", sa.JSON, nullable=False),
        _now_col("created_at"),
        sa.UniqueConstraint("group_id", "content_hash", name="uq_images_group_hash"),
    )
    op.create_index("ix_images_group", "images", ["group_id"])
    op.create_index("ix_images_hash", "images", ["content_hash"])
    op.create_table(
        "expressions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("group_id", sa.Integer, sa.ForeignKey("groups.id", ondelete="CASCADE"), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        _now_col("created_at"),
        sa.UniqueConstraint("group_id", "text", name="uq_expressions_group_text"),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "expression_id", sa.Integer, sa.ForeignKey("expressions.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        _now_col("updated_at"),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("model_version", sa.String(200), nullable=True),
        sa.UniqueConstraint("expression_id", "image_id", name="uq_decisions_pair"),
    )
    op.create_index("ix_decisions_status", "decisions", ["expression_id", "status"])
    op.create_table(
        "instances",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "decision_id", sa.Integer, sa.ForeignKey("decisions.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("ordinal", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("counts", sa.Text, nullable=False),
        sa.Column("area", sa.Integer, nullable=False),
        sa.Column("bbox_x", sa.Float, nullable=False),
        sa.Column("bbox_y", sa.Float, nullable=False),
        sa.Column("bbox_w", sa.Float, nullable=False),
        sa.Column("bbox_h", sa.Float, nullable=False),
    )
    op.create_index("ix_instances_decision", "instances", ["decision_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("expression_id", sa.Integer, nullable=False),
        sa.Column("image_id", sa.Integer, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        _now_col("at"),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("before", sa.JSON, nullable=True),
        sa.Column("after", sa.JSON, nullable=True),
        sa.Column("batch_id", sa.String(40), nullable=True),
    )
    op.create_index("ix_audit_pair", "audit_log", ["expression_id", "image_id"])
    op.create_index("ix_audit_batch", "audit_log", ["batch_id"])
    op.create_table(
        "settings",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.JSON, nullable=True),
    )


def downgrade() -> None:
    for table in ("settings", "audit_log", "instances", "decisions", "expressions", "images", "groups"):
        op.drop_table(table)
