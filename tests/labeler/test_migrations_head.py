"""The store skips Alembic when the database is at the newest migration: that shortcut is only
right while ``HEAD_REVISION`` names Alembic's head."""

from alembic.config import Config
from alembic.script import ScriptDirectory

from labeler.store import Store
from labeler.store.engine import HEAD_REVISION, MIGRATIONS_DIR, at_head


def test_head_revision_is_alembics_single_head():
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(cfg).get_heads() == [HEAD_REVISION]


def test_a_new_database_is_at_head_after_opening(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    assert at_head(store.engine)
    store.close()
