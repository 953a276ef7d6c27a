"""Decision counts per (expression, author, status), kept by every write (``labeler/store/counts.py``).

Backfilled from the decisions table, so a project made before keeps its progress figures.

Revision ID: 0006_decision_counts
Revises: 0005_blind_pairs
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_decision_counts"
down_revision = "0005_blind_pairs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decision_counts",
        sa.Column(
            "expression_id",
            sa.Integer,
            sa.ForeignKey("expressions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("author", sa.String(200), primary_key=True),
        sa.Column("status", sa.String(16), primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
    )
    op.execute(
        "INSERT INTO decision_counts (expression_id, author, status, n) "
        "SELECT expression_id, author, status, COUNT(*) FROM decisions "
        "GROUP BY expression_id, author, status"
    )


def downgrade() -> None:
    op.drop_table("decision_counts")
