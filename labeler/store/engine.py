"""Database engines and migrations: SQLite (WAL, the default) or PostgreSQL, by URL."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Engine, create_engine, event

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: Execution option that makes a SQLite transaction take the write lock up front (BEGIN IMMEDIATE), so
#: a read-then-write transaction waits for other writers instead of failing when it upgrades its lock.
WRITE_OPTION = "grd_write"
# Alembic keeps its migration context in module globals: one migration at a time per process.
_MIGRATE_LOCK = threading.Lock()


def make_engine(url: str, *, schema: str | None = None) -> Engine:
    """An engine for ``url``. ``schema`` (PostgreSQL only) puts every table in that schema (tests)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    connect_args = {"options": f"-csearch_path={schema}"} if schema else {}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event decide how transactions start (pysqlite's own is wrong for us).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


#: The newest migration (``tests/labeler/test_migrations_head.py`` checks it is Alembic's head).
HEAD_REVISION = "0006_decision_counts"


def at_head(engine: Engine) -> bool:
    """Whether the database already carries :data:`HEAD_REVISION` (one small query)."""
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return False
        versions = {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))}
    return versions == {HEAD_REVISION}


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema (Alembic ``upgrade head``); safe to run every start."""
    # Alembic (and its template engine) loads only when a migration runs: an up-to-date database is
    # one query, which keeps `grd` quick to start (loading Alembic's scripts took ~0.3 s a process).
    if at_head(engine):
        return
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with _MIGRATE_LOCK, engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
