"""Tables of the annotation store (SQLAlchemy Core). Alembic migrations in ``migrations/`` create them.

Decisions are sparse: a pair with no row is ``unseen`` at revision 0. That keeps a GRD-size project
(31,524 pairs) small and makes progress a couple of GROUP BY queries.
"""

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

groups = Table(
    "groups",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("target_keyword", String(200), nullable=False, default=""),
    Column("scene_keyword", String(200), nullable=False, default=""),
    Column("meta", JSON, nullable=False, default=dict),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

images = Table(
    "images",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("group_id", Integer, ForeignKey("groups.id", ondelete="CASCADE"), nullable=False),
    Column("file", String(500), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("source_url", Text, nullable=False, default=""),
    Column("owner", String(300), nullable=False, default=""),
    Column("license", String(300), nullable=False, default=""),
    Column("meta", JSON, nullable=False, default=dict),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("group_id", "content_hash", name="uq_images_group_hash"),
    Index("ix_images_group", "group_id"),
    Index("ix_images_hash", "content_hash"),
)

expressions = Table(
    "expressions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("group_id", Integer, ForeignKey("groups.id", ondelete="CASCADE"), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_by", String(200), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("group_id", "text", name="uq_expressions_group_text"),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "expression_id", Integer, ForeignKey("expressions.id", ondelete="CASCADE"), nullable=False
    ),
    Column("image_id", Integer, ForeignKey("images.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("author", String(200), nullable=False, default=""),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("score", Float, nullable=True),
    Column("model_version", String(200), nullable=True),
    UniqueConstraint("expression_id", "image_id", name="uq_decisions_pair"),
    Index("ix_decisions_status", "expression_id", "status"),
)

instances = Table(
    "instances",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("decision_id", Integer, ForeignKey("decisions.id", ondelete="CASCADE"), nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("width", Integer, nullable=False),
    Column("counts", Text, nullable=False),
    Column("area", Integer, nullable=False),
    Column("bbox_x", Float, nullable=False),
    Column("bbox_y", Float, nullable=False),
    Column("bbox_w", Float, nullable=False),
    Column("bbox_h", Float, nullable=False),
    Index("ix_instances_decision", "decision_id"),
)

# -- migration 0006_decision_counts: progress without counting every decision ---------------
decision_counts = Table(
    "decision_counts",
    metadata,
    Column(
        "expression_id",
        Integer,
        ForeignKey("expressions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("author", String(200), primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("n", Integer, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("expression_id", Integer, nullable=False),
    Column("image_id", Integer, nullable=False),
    Column("author", String(200), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("action", String(40), nullable=False),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
    Column("batch_id", String(40), nullable=True),
    Index("ix_audit_pair", "expression_id", "image_id"),
    Index("ix_audit_batch", "batch_id"),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", JSON, nullable=True),
)

# -- teams (migration 0004_teams): accounts and assignments ----------------------------------
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("password_hash", String(300), nullable=False),
    Column("failed_signins", Integer, nullable=False, default=0),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    # Bumped by sign-out-everywhere, a password or a role change: older session tokens stop working.
    Column("session_epoch", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

assignments = Table(
    "assignments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("group_id", Integer, ForeignKey("groups.id", ondelete="CASCADE"), nullable=False),
    Column(
        "expression_id", Integer, ForeignKey("expressions.id", ondelete="CASCADE"), nullable=True
    ),
    Column("user_name", String(200), nullable=False),
    Column("assigned_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("group_id", "expression_id", "user_name", name="uq_assignment"),
    Index("ix_assignments_user", "user_name"),
)

#: Reviewer verdicts on a pair's decision at a given revision; the newest row per pair counts.
reviews = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("expression_id", Integer, nullable=False),
    Column("image_id", Integer, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("annotator", String(200), nullable=False),
    Column("reviewer", String(200), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_reviews_pair", "expression_id", "image_id"),
)

#: Pairs an admin marked as gold: a frozen copy of the decision annotators are scored against.
gold_pairs = Table(
    "gold_pairs",
    metadata,
    Column("expression_id", Integer, primary_key=True),
    Column("image_id", Integer, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("instances", JSON, nullable=False),
    Column("marked_by", String(200), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

# -- blind double assignment (migration 0005_blind_pairs) -------------------------------------
#: Pairs given to two annotators blind to each other: the first one's saves are the pair's
#: decision; the second one's go to ``second_opinions`` (``labeler/blind.py`` says who sees what).
blind_pairs = Table(
    "blind_pairs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "expression_id", Integer, ForeignKey("expressions.id", ondelete="CASCADE"), nullable=False
    ),
    Column("image_id", Integer, ForeignKey("images.id", ondelete="CASCADE"), nullable=False),
    Column("first_annotator", String(200), nullable=False),
    Column("second_annotator", String(200), nullable=False),
    Column("assigned_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("expression_id", "image_id", name="uq_blind_pair"),
    Index("ix_blind_pairs_second", "second_annotator"),
)

#: The second annotator's own judgement of a blind pair (masks: a JSON list of RLEs), with its own
#: revision for the same optimistic check as decisions.
second_opinions = Table(
    "second_opinions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "expression_id", Integer, ForeignKey("expressions.id", ondelete="CASCADE"), nullable=False
    ),
    Column("image_id", Integer, ForeignKey("images.id", ondelete="CASCADE"), nullable=False),
    Column("annotator", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("instances", JSON, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("saved_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("expression_id", "image_id", "annotator", name="uq_second_opinion"),
)
