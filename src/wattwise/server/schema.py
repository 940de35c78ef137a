"""The server's own tables, beside the ledger's (:mod:`wattwise.ledger.schema`), same metadata
style: portable SQL types, timestamps as ISO 8601 UTC text.

* ``projects``: a team's unit of separation; every token belongs to one and sees only its runs.
* ``tokens``: only the SHA-256 of a token is stored (the token itself is shown once); ``scopes``
  is a comma-separated subset of ``ingest``, ``read``, ``admin``.
* ``sessions``: the dashboard's log-ins (the cookie's SHA-256, its CSRF token, its expiry).
* ``server_runs``: one row per pushed run (the run itself is in the ledger's ``runs`` and child
  tables): its project and the figures the dashboard aggregates, accounted once at push time
  (energy J, facility kWh, CO2e g location/market, cost, water L, tokens), with the calendar
  day / ISO week (its Monday) / month of its start, so aggregates are a SQL ``GROUP BY``.
* ``server_run_tags`` / ``server_run_phases``: a run's tags and top-level windows (phases).

A change here needs a new Alembic revision in ``migrations/versions`` (the tests check that a
migrated database has these columns).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

#: The ledger's ``runs`` table as far as the foreign keys below need it (created by the ledger's
#: own migrations, never from this metadata: see :data:`TABLES`).
_ledger_runs = sa.Table("runs", metadata, sa.Column("run_id", sa.String(64), primary_key=True))

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("project_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", sa.Text, nullable=False),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("token_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "project_id",
        sa.Integer,
        sa.ForeignKey("projects.project_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),  # shown in listings, not secret
    sa.Column("scopes", sa.Text, nullable=False),
    sa.Column("label", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("expires_at", sa.Text, nullable=True),
    sa.Column("revoked_at", sa.Text, nullable=True),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("session_hash", sa.String(64), primary_key=True),
    sa.Column(
        "token_id", sa.Integer, sa.ForeignKey("tokens.token_id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("expires_at", sa.Text, nullable=False),
)

server_runs = sa.Table(
    "server_runs",
    metadata,
    sa.Column(
        "run_id", sa.String(64), sa.ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "project_id",
        sa.Integer,
        sa.ForeignKey("projects.project_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("started_at", sa.Text, nullable=False),
    sa.Column("day", sa.String(10), nullable=False),  # YYYY-MM-DD (UTC)
    sa.Column("week", sa.String(10), nullable=False),  # the ISO week's Monday, YYYY-MM-DD
    sa.Column("month", sa.String(7), nullable=False),  # YYYY-MM
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("duration_s", sa.Float, nullable=False),
    sa.Column("energy_j", sa.Float, nullable=False),  # IT energy
    sa.Column("energy_provenance", sa.Text, nullable=False),
    sa.Column("facility_energy_kwh", sa.Float, nullable=False),
    sa.Column("co2e_location_g", sa.Float, nullable=False),
    sa.Column("co2e_market_g", sa.Float, nullable=False),
    sa.Column("cost", sa.Float, nullable=True),
    sa.Column("currency", sa.String(3), nullable=True),
    sa.Column("water_l", sa.Float, nullable=False),
    sa.Column("tokens", sa.Float, nullable=True),  # counted tokens (None: none counted)
    sa.Column("model", sa.Text, nullable=True),
    sa.Column("hardware", sa.Text, nullable=False),
    sa.Column("location", sa.Text, nullable=False),
    sa.Column("pushed_at", sa.Text, nullable=False),
)

server_run_tags = sa.Table(
    "server_run_tags",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("server_runs.run_id", ondelete="CASCADE")),
    sa.Column("project_id", sa.Integer, nullable=False),
    sa.Column("tag", sa.String(200), nullable=False),
    sa.PrimaryKeyConstraint("run_id", "tag"),
)

server_run_phases = sa.Table(
    "server_run_phases",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("server_runs.run_id", ondelete="CASCADE")),
    sa.Column("project_id", sa.Integer, nullable=False),
    sa.Column("phase", sa.String(200), nullable=False),
    sa.Column("energy_j", sa.Float, nullable=False),
    sa.Column("duration_s", sa.Float, nullable=False),
    sa.PrimaryKeyConstraint("run_id", "phase"),
)

#: Per project, day and value of a dimension (``all`` with key ``""``: the whole project; ``tag``,
#: ``model``, ``hardware``, ``phase``, ``status``, ``location``) and currency: the sums the
#: dashboard and ``/aggregates`` read, kept up to date by every push (an upsert), so a project
#: page reads a few hundred rows whatever its number of runs. A phase's row holds its share of
#: each run (its energy over the run's, applied to every figure).
server_rollup = sa.Table(
    "server_rollup",
    metadata,
    sa.Column("project_id", sa.Integer, nullable=False),
    sa.Column("day", sa.String(10), nullable=False),
    sa.Column("week", sa.String(10), nullable=False),
    sa.Column("month", sa.String(7), nullable=False),
    sa.Column("dim", sa.String(16), nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),  # "" when no price was known
    sa.Column("runs", sa.Float, nullable=False),
    sa.Column("duration_s", sa.Float, nullable=False),
    sa.Column("energy_j", sa.Float, nullable=False),
    sa.Column("facility_energy_kwh", sa.Float, nullable=False),
    sa.Column("co2e_location_g", sa.Float, nullable=False),
    sa.Column("co2e_market_g", sa.Float, nullable=False),
    sa.Column("water_l", sa.Float, nullable=False),
    sa.Column("cost", sa.Float, nullable=False),
    sa.Column("tokens", sa.Float, nullable=False),
    sa.Column("token_energy_j", sa.Float, nullable=False),  # energy of the runs that counted
    sa.PrimaryKeyConstraint("project_id", "dim", "day", "key", "currency"),
)

sa.Index(
    "ix_server_runs_project_started",
    server_runs.c.project_id,
    server_runs.c.started_at,
    server_runs.c.run_id,
)
sa.Index("ix_server_runs_project_day", server_runs.c.project_id, server_runs.c.day)
sa.Index(
    "ix_server_runs_project_energy",
    server_runs.c.project_id,
    server_runs.c.energy_j,
    server_runs.c.run_id,
)
sa.Index("ix_server_run_tags_project", server_run_tags.c.project_id, server_run_tags.c.tag)
sa.Index("ix_server_run_phases_project", server_run_phases.c.project_id, server_run_phases.c.phase)
sa.Index("ix_tokens_project", tokens.c.project_id)
sa.Index(
    "ix_server_runs_project_location",
    server_runs.c.project_id,
    server_runs.c.location,
    server_runs.c.started_at,
)

#: The server's tables in creation order (parents first).
TABLES = (
    projects,
    tokens,
    sessions,
    server_runs,
    server_run_tags,
    server_run_phases,
    server_rollup,
)
