"""Blind double assignment: pairs judged by two annotators blind to each other, and the second
annotator's own judgements (second opinions).

``blind_pairs`` names, per (expression, image) pair, its first annotator (whose saves are the
pair's decision, as always) and its second annotator (whose saves go to ``second_opinions`` and
never touch the decision). A second opinion keeps its masks as a JSON list of RLEs (like
``gold_pairs``): it is read whole, per pair for display and in bulk for agreement, never queried by
area or box, so the decisions' ``instances`` table (made for those queries) is not needed.

Revision ID: 0005_blind_pairs
Revises: 0004_teams
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_blind_pairs"
down_revision = "0004_teams"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blind_pairs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "expression_id",
            sa.Integer,
            sa.ForeignKey("expressions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "image_id", sa.Integer, sa.ForeignKey("images.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("first_annotator", sa.String(200), nullable=False),
        sa.Column("second_annotator", sa.String(200), nullable=False),
        sa.Column("assigned_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("expression_id", "image_id", name="uq_blind_pair"),
    )
    op.create_index("ix_blind_pairs_second", "blind_pairs", ["second_annotator"])
    op.create_table(
        "second_opinions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "expression_id",
            sa.Integer,
            sa.ForeignKey("expressions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "image_id", sa.Integer, sa.ForeignKey("images.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("annotator", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("instances", sa.JSON, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("expression_id", "image_id", "annotator", name="uq_second_opinion"),
    )


def downgrade() -> None:
    op.drop_table("second_opinions")
    op.drop_index("ix_blind_pairs_second", "blind_pairs")
    op.drop_table("blind_pairs")
