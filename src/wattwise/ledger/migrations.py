"""Versioned schema migrations of the ledger.

``MIGRATIONS`` is an ordered list; migration *n* (1-based) takes a database from version *n - 1*
to *n*. The version is the highest row of the ``schema_version`` table (0 for an empty database).
Opening a ledger applies the pending migrations in one transaction; a database whose version is
higher than ``LATEST_VERSION`` was written by a newer wattwise and is refused.

Each migration is frozen once released: migration 1 defines the version-1 tables itself (not
through :mod:`wattwise.ledger.schema`, which always describes the latest version), so that a
database created today and one created by wattwise 0.1 end up identical after migrating. To change
the schema: edit ``schema.py`` *and* append a migration here (``ALTER TABLE`` / new tables). The
test suite checks that a freshly migrated database has exactly the columns of ``schema.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import sqlalchemy as sa

from wattwise.errors import LedgerError

Migration = Callable[[sa.Connection], None]


def _m001_create(conn: sa.Connection) -> None:
    """Version 1: runs, devices, windows, components, samples, gaps, counts."""
    md = sa.MetaData()

    def run_fk() -> sa.Column[str]:
        return sa.Column(
            "run_id",
            sa.String(64),
            sa.ForeignKey("runs.run_id", ondelete="CASCADE"),
            nullable=False,
        )

    runs = sa.Table(
        "runs",
        md,
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("started_at", sa.Text, nullable=False),
        sa.Column("ended_at", sa.Text, nullable=True),
        sa.Column("duration_s", sa.Float, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("command", sa.Text, nullable=True),
        sa.Column("exit_code", sa.Integer, nullable=True),
        sa.Column("host", sa.Text, nullable=False, server_default="{}"),
        sa.Column("notes", sa.Text, nullable=False, server_default="[]"),
        sa.Column("updated_at", sa.Text, nullable=False),
        sa.Column("pid", sa.Integer, nullable=True),
        sa.Column("pid_host", sa.Text, nullable=True),
        sa.Column("pid_create_time_s", sa.Float, nullable=True),
        sa.Column("extra", sa.Text, nullable=False, server_default="{}"),
    )
    sa.Table(
        "devices",
        md,
        run_fk(),
        sa.Column("device_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("provenance", sa.String(16), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("params", sa.Text, nullable=False, server_default="{}"),
        sa.PrimaryKeyConstraint("run_id", "device_id"),
    )
    sa.Table(
        "windows",
        md,
        run_fk(),
        sa.Column("seq", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("parent", sa.Text, nullable=True),
        sa.Column("start_s", sa.Float, nullable=False),
        sa.Column("end_s", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "seq"),
    )
    components = sa.Table(
        "components",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        run_fk(),
        sa.Column("window_seq", sa.Integer, nullable=True),
        sa.Column("device_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("energy_j", sa.Float, nullable=False),
        sa.Column("provenance", sa.String(16), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("params", sa.Text, nullable=False, server_default="{}"),
        sa.Column("missing_s", sa.Float, nullable=False, server_default="0"),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
    )
    samples = sa.Table(
        "samples",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        run_fk(),
        sa.Column("device_id", sa.Text, nullable=False),
        sa.Column("t_s", sa.Float, nullable=False),
        sa.Column("power_w", sa.Float, nullable=True),
        sa.Column("energy_j", sa.Float, nullable=True),
    )
    gaps = sa.Table(
        "gaps",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        run_fk(),
        sa.Column("device_id", sa.Text, nullable=False),
        sa.Column("start_s", sa.Float, nullable=False),
        sa.Column("end_s", sa.Float, nullable=True),
        sa.Column("error", sa.Text, nullable=False),
    )
    counts = sa.Table(
        "counts",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        run_fk(),
        sa.Column("window_seq", sa.Integer, nullable=True),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("count", sa.Float, nullable=False),
    )
    sa.Index("ix_runs_started_at", runs.c.started_at)
    sa.Index("ix_components_run_id", components.c.run_id, components.c.window_seq)
    sa.Index("ix_samples_run_id", samples.c.run_id, samples.c.device_id, samples.c.t_s)
    sa.Index("ix_gaps_run_id", gaps.c.run_id)
    sa.Index("ix_counts_run_id", counts.c.run_id)
    md.create_all(conn)


def _m002_totals_and_spool(conn: sa.Connection) -> None:
    """Version 2: ``run_totals`` (per-device sample totals) and ``runs.spool_seq``.

    Runs recorded before have no totals row; readers derive their energy from the samples.
    """
    conn.execute(sa.text("ALTER TABLE runs ADD COLUMN spool_seq INTEGER"))
    md = sa.MetaData()
    sa.Table("runs", md, sa.Column("run_id", sa.String(64), primary_key=True))
    sa.Table(
        "run_totals",
        md,
        sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.run_id", ondelete="CASCADE")),
        sa.Column("device_id", sa.Text, nullable=False),
        sa.Column("counter_n", sa.Integer, nullable=False, server_default="0"),
        sa.Column("counter_first_t_s", sa.Float, nullable=True),
        sa.Column("counter_last_t_s", sa.Float, nullable=True),
        sa.Column("counter_last_j", sa.Float, nullable=True),
        sa.Column("counter_sum_j", sa.Float, nullable=False, server_default="0"),
        sa.Column("power_n", sa.Integer, nullable=False, server_default="0"),
        sa.Column("power_first_t_s", sa.Float, nullable=True),
        sa.Column("power_last_t_s", sa.Float, nullable=True),
        sa.Column("power_last_w", sa.Float, nullable=True),
        sa.Column("power_sum_j", sa.Float, nullable=False, server_default="0"),
        sa.Column("last_t_s", sa.Float, nullable=True),
        sa.Column("in_order", sa.Integer, nullable=False, server_default="1"),
        sa.PrimaryKeyConstraint("run_id", "device_id"),
    ).create(conn)


#: The migrations in order; ``MIGRATIONS[n - 1]`` brings a database to version ``n``.
MIGRATIONS: tuple[Migration, ...] = (_m001_create, _m002_totals_and_spool)
LATEST_VERSION = len(MIGRATIONS)

_VERSION_TABLE = sa.Table(
    "schema_version",
    sa.MetaData(),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("applied_at", sa.Text, nullable=False),
    sa.Column("wattwise_version", sa.Text, nullable=False),
)


def _wattwise_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wattwise")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


def current_version(conn: sa.Connection, where: str) -> int:
    """The schema version of the database behind ``conn`` (0 for an empty database).

    Raises :class:`LedgerError` when the database holds tables but is not a wattwise ledger.
    ``where`` names the database in messages (a path or a URL without its password).
    """
    tables = set(sa.inspect(conn).get_table_names())
    if "schema_version" not in tables:
        if tables:
            shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
            raise LedgerError(
                f"{where} is not a wattwise ledger (it holds other tables: {shown}): "
                "move it away or pass --db"
            )
        return 0
    try:
        found = conn.execute(sa.select(sa.func.max(_VERSION_TABLE.c.version))).scalar()
    except sa.exc.DBAPIError as exc:  # a schema_version table of another application
        raise LedgerError(
            f"{where} is not a wattwise ledger (unexpected schema_version table): "
            "move it away or pass --db"
        ) from exc
    version = int(found or 0)
    if version >= 1 and "runs" not in tables:
        raise LedgerError(
            f"{where} is not a wattwise ledger (schema_version without runs): "
            "move it away or pass --db"
        )
    return version


#: The oldest schema version this wattwise can read without migrating it (read-only opens).
READABLE_FROM_VERSION = 1


def readable_version(conn: sa.Connection, where: str) -> int:
    """The schema version, checked readable by this wattwise without a migration.

    Raises :class:`LedgerError` (one line) for a newer ledger or one too old to read as is.
    """
    version = current_version(conn, where)
    if version > LATEST_VERSION:
        raise LedgerError(
            f"{where} was written by a newer wattwise (ledger schema version {version}; this "
            f"wattwise knows up to {LATEST_VERSION}): upgrade wattwise or pass --db"
        )
    if 0 < version < READABLE_FROM_VERSION:
        raise LedgerError(
            f"{where} has ledger schema version {version} and needs a migration before it can "
            "be read: any command that writes to it (e.g. wattwise run) migrates it"
        )
    return version


def migrate(conn: sa.Connection, where: str) -> tuple[int, int]:
    """Apply pending migrations inside the caller's transaction; return (from, to) versions.

    Raises :class:`LedgerError` for a database written by a newer wattwise.
    """
    before = current_version(conn, where)
    if before > LATEST_VERSION:
        raise LedgerError(
            f"{where} was written by a newer wattwise (ledger schema version {before}; this "
            f"wattwise knows up to {LATEST_VERSION}): upgrade wattwise or pass --db"
        )
    if before == LATEST_VERSION:
        return before, before
    if before == 0:
        _VERSION_TABLE.create(conn)
    now = datetime.now(timezone.utc).isoformat()
    wattwise_version = _wattwise_version()
    for number in range(before + 1, LATEST_VERSION + 1):
        MIGRATIONS[number - 1](conn)
        conn.execute(
            _VERSION_TABLE.insert().values(
                version=number, applied_at=now, wattwise_version=wattwise_version
            )
        )
    return before, LATEST_VERSION
