"""Alembic environment: runs on the connection the Store hands over (``config.attributes['connection']``)."""

from alembic import context

from labeler.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through labeler.store.migrate(engine), not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
