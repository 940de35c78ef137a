"""The first server schema: projects, tokens, sessions and the per-run index, beside the ledger's
tables (made before by the ledger's own migrations: :func:`wattwise.server.db.migrate`).

Revision ID: 0001
Revises: -
"""

from __future__ import annotations

from alembic import op

from wattwise.server import schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema.metadata.create_all(op.get_bind(), tables=list(schema.TABLES))
