"""Alembic's environment: migrations run on the connection the archive opened."""

from __future__ import annotations

from alembic import context

from recoupe.archive.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only the archive runs these migrations
    raise RuntimeError("recoupe's migrations run through recoupe.archive.store.migrate")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
