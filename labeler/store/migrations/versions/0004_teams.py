"""Teams: user accounts (argon2 password hashes, sign-in throttling), assignments, reviews, gold.

Revision ID: 0004_teams
Revises: 0003_jobs
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_teams"
down_revision = "0003_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("failed_signins", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("session_epoch", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "group_id", sa.Integer, sa.ForeignKey("groups.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "expression_id",
            sa.Integer,
            sa.ForeignKey("expressions.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("user_name", sa.String(200), nullable=False),
        sa.Column("assigned_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("group_id", "expression_id", "user_name", name="uq_assignment"),
    )
    op.create_index("ix_assignments_user", "assignments", ["user_name"])
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("expression_id", sa.Integer, nullable=False),
        sa.Column("image_id", sa.Integer, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("annotator", sa.String(200), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_reviews_pair", "reviews", ["expression_id", "image_id"])
    op.create_table(
        "gold_pairs",
        sa.Column("expression_id", sa.Integer, primary_key=True),
        sa.Column("image_id", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("instances", sa.JSON, nullable=False),
        sa.Column("marked_by", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("gold_pairs")
    op.drop_index("ix_reviews_pair", "reviews")
    op.drop_table("reviews")
    op.drop_index("ix_assignments_user", "assignments")
    op.drop_table("assignments")
    op.drop_table("users")
