"""Alembic's script directory of the server database (``script_location`` is this package)."""
