"""Alembic environment: runs against the connection handed in by ``storage.sql.schema``."""

from __future__ import annotations

from alembic import context

from modelyard.storage.sql.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - always called through storage.sql.schema
    raise RuntimeError("run migrations through 'modelyard db upgrade'")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
