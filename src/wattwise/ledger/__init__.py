"""The run ledger: runs, windows, per-device energy with provenance, timelines and work counts.

SQLite by default (one file in the user's data directory), PostgreSQL for a team, through
SQLAlchemy Core and versioned migrations. ``Ledger`` and ``RunSummary`` are imported lazily so
that ``wattwise.ledger.serialize`` (used for ``--json`` output) does not import SQLAlchemy.

Writes never fail because the database is busy or unusable: they wait out locks, else go to a
local spool replayed at the next open (:mod:`wattwise.ledger.writer`, :mod:`~.spool`);
:meth:`Ledger.outcome` returns a :class:`WriteOutcome` saying where a run went. Read commands
open the ledger with ``Ledger.open(url, readonly=True)`` (:mod:`~.readonly`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wattwise.ledger.location import LedgerLocation, default_db_path, resolve_location
from wattwise.ledger.outcome import WriteOutcome
from wattwise.ledger.serialize import run_from_dict, run_to_dict

if TYPE_CHECKING:
    from wattwise.ledger.store import Ledger, RunSummary

__all__ = [
    "Ledger",
    "LedgerLocation",
    "RunSummary",
    "WriteOutcome",
    "default_db_path",
    "resolve_location",
    "run_from_dict",
    "run_to_dict",
]


def __getattr__(name: str) -> Any:
    if name in ("Ledger", "RunSummary"):
        from wattwise.ledger import store

        return getattr(store, name)
    raise AttributeError(f"module 'wattwise.ledger' has no attribute {name!r}")
