"""The server database's Alembic revisions, oldest first."""
