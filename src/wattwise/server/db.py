"""The server database: an engine over the ledger's URL forms, Alembic migrations, the check at
start.

The URL forms are the ledger's (:func:`wattwise.ledger.location.resolve_location`): a SQLite
file path (the embedded default, nothing to set up) or ``postgresql+psycopg://...`` for a team.
:func:`migrate` brings a database to this wattwise's schema in one transaction: the ledger's
own versioned migrations (:mod:`wattwise.ledger.migrations`: the run tables, exactly a ledger's),
then Alembic's ``upgrade head`` over the server's revisions in ``migrations/versions`` (its own
tables). A plain ledger file can so become a server database. :func:`check_schema` refuses, in
one line, a database whose schema is newer than this wattwise (an Alembic revision it does not
know, or a ledger schema version above :data:`~wattwise.ledger.migrations.LATEST_VERSION`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from wattwise.errors import LedgerError
from wattwise.ledger.engine import create_engine
from wattwise.ledger.location import LedgerLocation, resolve_location
from wattwise.ledger.migrations import LATEST_VERSION, current_version
from wattwise.ledger.migrations import migrate as migrate_ledger

#: Where Alembic finds env.py and the revisions (package resource form).
SCRIPT_LOCATION = "wattwise.server:migrations"


@dataclass(frozen=True)
class SchemaState:
    """Where a database stands: its Alembic revision (None: never migrated), this wattwise's
    head revision, its ledger schema version."""

    revision: str | None
    head: str
    ledger_version: int

    @property
    def current(self) -> bool:
        return self.revision == self.head and self.ledger_version == LATEST_VERSION


def open_engine(url: str | None) -> tuple[sa.Engine, LedgerLocation]:
    """An engine for ``url`` (None: ``$WATTWISE_DB`` or the default ledger file)."""
    location = resolve_location(url)
    return create_engine(location), location


def _config(conn: sa.Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    cfg.attributes["connection"] = conn
    return cfg


def _head() -> tuple[str, set[str]]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    script = ScriptDirectory.from_config(cfg)
    known = {r.revision for r in script.walk_revisions()}
    head = script.get_current_head()
    assert head is not None
    return head, known


def state(conn: sa.Connection, where: str) -> SchemaState:
    """The schema state of the database behind ``conn``; raises LedgerError (one line) when it
    is newer than this wattwise."""
    from alembic.runtime.migration import MigrationContext

    head, known = _head()
    revision = MigrationContext.configure(conn).get_current_revision()
    if revision is not None and revision not in known:
        raise LedgerError(
            f"{where} has server schema revision {revision}, newer than this wattwise (it knows "
            f"up to {head}): upgrade wattwise"
        )
    tables = set(sa.inspect(conn).get_table_names())
    ledger_version = current_version(conn, where) if "schema_version" in tables else 0
    if ledger_version > LATEST_VERSION:
        raise LedgerError(
            f"{where} has ledger schema version {ledger_version}, newer than this wattwise (it "
            f"knows up to {LATEST_VERSION}): upgrade wattwise"
        )
    return SchemaState(revision, head, ledger_version)


def check_schema(engine: sa.Engine, where: str) -> SchemaState:
    """The database's state, refused (LedgerError, one line) when newer than this wattwise."""
    with engine.connect() as conn:
        return state(conn, where)


def migrate(engine: sa.Engine, where: str) -> tuple[SchemaState, SchemaState]:
    """Apply every pending migration in one transaction; return the states before and after."""
    from alembic import command

    with engine.begin() as conn:
        before = state(conn, where)
        if not before.current:
            migrate_ledger(conn, where)
            command.upgrade(_config(conn), "head")
        after = state(conn, where)
    return before, after
