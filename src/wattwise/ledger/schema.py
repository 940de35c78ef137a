"""The ledger's tables as of the latest schema version (SQLAlchemy Core, portable SQL types).

The same tables work on SQLite (the default, one file per user) and PostgreSQL (a team ledger):
only ``Text``, ``String``, ``Integer`` and ``Float`` columns, JSON stored as text, timestamps as
ISO 8601 UTC text (they sort as strings).

Units: ``*_s`` are seconds since the run started (monotonic clock of the recording process),
``*_j`` joules, ``power_w`` watts. ``provenance`` is a :class:`~wattwise.readers.base.Provenance`
value (``measured``, ``integrated``, ``estimated``, ``assumed``).

This module describes the *current* schema and is what the queries use. Creating and changing
tables is the job of :mod:`wattwise.ledger.migrations`; a change here needs a new migration there
(the test suite checks that a migrated database matches these definitions).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()


def _run_fk() -> sa.Column[str]:
    """The ``run_id`` column of a child table: deleting a run deletes its rows."""
    return sa.Column(
        "run_id", sa.String(64), sa.ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False
    )


#: One row per schema migration applied; the ledger's version is the highest ``version``.
schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("applied_at", sa.Text, nullable=False),
    sa.Column("wattwise_version", sa.Text, nullable=False),
)

#: One row per run. ``status`` is running | finished | failed | interrupted. While a run is
#: recorded, ``updated_at`` is its heartbeat (wall clock, UTC) and ``pid`` / ``pid_host`` /
#: ``pid_create_time_s`` identify the recording process, so a reader can tell a live run from one
#: whose recorder was killed. ``extra`` is a JSON object for later features (accounting context,
#: footprint) that need no migration.
runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("started_at", sa.Text, nullable=False),
    sa.Column("ended_at", sa.Text, nullable=True),
    sa.Column("duration_s", sa.Float, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("command", sa.Text, nullable=True),  # JSON list of argv strings
    sa.Column("exit_code", sa.Integer, nullable=True),
    sa.Column("host", sa.Text, nullable=False, server_default="{}"),  # JSON object
    sa.Column("notes", sa.Text, nullable=False, server_default="[]"),  # JSON list of strings
    sa.Column("updated_at", sa.Text, nullable=False),
    sa.Column("pid", sa.Integer, nullable=True),
    sa.Column("pid_host", sa.Text, nullable=True),
    sa.Column("pid_create_time_s", sa.Float, nullable=True),  # seconds since the Unix epoch
    sa.Column("extra", sa.Text, nullable=False, server_default="{}"),  # JSON object
    # Highest sequence number of the run's spooled records replayed into this ledger (None: no
    # replay yet), so replaying a spool twice adds nothing (version 2).
    sa.Column("spool_seq", sa.Integer, nullable=True),
)

#: Devices a run reads (written at ``begin_run``), so energy can be derived from the samples of
#: a run that never finished.
devices = sa.Table(
    "devices",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.run_id", ondelete="CASCADE")),
    sa.Column("device_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("provenance", sa.String(16), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("params", sa.Text, nullable=False, server_default="{}"),  # JSON object
    sa.PrimaryKeyConstraint("run_id", "device_id"),
)

#: Named windows of a run; ``seq`` is the window's index in ``RunResult.windows``.
windows = sa.Table(
    "windows",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.run_id", ondelete="CASCADE")),
    sa.Column("seq", sa.Integer, nullable=False, autoincrement=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("parent", sa.Text, nullable=True),
    sa.Column("start_s", sa.Float, nullable=False),
    sa.Column("end_s", sa.Float, nullable=False),
    sa.PrimaryKeyConstraint("run_id", "seq"),
)

#: Energy of one device over the whole run (``window_seq`` NULL) or over one window.
components = sa.Table(
    "components",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    _run_fk(),
    sa.Column("window_seq", sa.Integer, nullable=True),
    sa.Column("device_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("energy_j", sa.Float, nullable=False),
    sa.Column("provenance", sa.String(16), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("params", sa.Text, nullable=False, server_default="{}"),  # JSON object
    sa.Column("missing_s", sa.Float, nullable=False, server_default="0"),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
)

#: The power timeline: power (W) and/or cumulative energy since the reader opened (J) at ``t_s``.
samples = sa.Table(
    "samples",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    _run_fk(),
    sa.Column("device_id", sa.Text, nullable=False),
    sa.Column("t_s", sa.Float, nullable=False),
    sa.Column("power_w", sa.Float, nullable=True),
    sa.Column("energy_j", sa.Float, nullable=True),
)

#: Intervals during which a device could not be read (``end_s`` NULL: still open).
gaps = sa.Table(
    "gaps",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    _run_fk(),
    sa.Column("device_id", sa.Text, nullable=False),
    sa.Column("start_s", sa.Float, nullable=False),
    sa.Column("end_s", sa.Float, nullable=True),
    sa.Column("error", sa.Text, nullable=False),
)

#: Work counts (tokens, requests, ...) of the whole run (``window_seq`` NULL) or of one window.
counts = sa.Table(
    "counts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    _run_fk(),
    sa.Column("window_seq", sa.Integer, nullable=True),
    sa.Column("unit", sa.Text, nullable=False),
    sa.Column("count", sa.Float, nullable=False),
)

#: Per-run, per-device totals of the samples appended so far, kept up to date by every
#: ``append_samples`` (version 2), so listing an unfinished run reads one row per device instead
#: of its whole timeline. ``counter_*``: cumulative-energy samples (J): count, first and last
#: time (s), last value, sum of the non-negative increments; ``power_*``: power samples (W):
#: count, first and last time, last value, trapezoidal integral (J). ``in_order`` is 0 once a
#: sample arrived out of time order: readers then derive from the samples themselves.
run_totals = sa.Table(
    "run_totals",
    metadata,
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
)

sa.Index("ix_runs_started_at", runs.c.started_at)
sa.Index("ix_components_run_id", components.c.run_id, components.c.window_seq)
sa.Index("ix_samples_run_id", samples.c.run_id, samples.c.device_id, samples.c.t_s)
sa.Index("ix_gaps_run_id", gaps.c.run_id)
sa.Index("ix_counts_run_id", counts.c.run_id)

#: Tables that hang off a run, children first (the order to delete them in).
RUN_CHILD_TABLES = (run_totals, samples, gaps, counts, components, windows, devices)

#: The ``runs`` columns readers select: those of every readable schema version (a read-only
#: open reads an older ledger without migrating it; ``spool_seq`` came with version 2).
RUN_READ_COLUMNS = tuple(c for c in runs.c if c.name != "spool_seq")
