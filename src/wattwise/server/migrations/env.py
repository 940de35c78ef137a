"""Alembic environment: always online, on the connection :mod:`wattwise.server.db` passes in
``config.attributes["connection"]`` (no alembic.ini, no URL of its own)."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
