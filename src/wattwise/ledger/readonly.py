"""Opening a ledger read-only, for the commands that only read it (``runs list``, ``report``).

SQLite opens the file with ``mode=ro``: no write transaction, no migration, no spool replay, so
a ledger on a read-only file, folder or mount can be read. A WAL ledger whose ``-shm`` file
cannot be created (a read-only folder after the last writer closed) is opened ``immutable``. A
ledger file that does not exist yet, or holds no tables, reads as a ledger with no runs. A ledger
of an older schema is read as it is when this wattwise can (see
:data:`~wattwise.ledger.migrations.READABLE_FROM_VERSION`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from wattwise.errors import LedgerError
from wattwise.ledger.engine import DB_ERRORS, create_engine, error_text, translate_error
from wattwise.ledger.location import LedgerLocation
from wattwise.ledger.migrations import LATEST_VERSION, migrate, readable_version

if TYPE_CHECKING:
    from wattwise.ledger.store import Ledger


def _version(engine: sa.Engine, location: LedgerLocation) -> int:
    with engine.connect() as conn, conn.begin():
        return readable_version(conn, location.display)


def _empty(cls: type[Ledger], location: LedgerLocation, stale_after_s: float) -> Ledger:
    """A ledger with no runs, in memory, shown under ``location``'s name."""
    memory = LedgerLocation(url="sqlite://", display=location.display, sqlite_path=None)
    engine = create_engine(memory)
    with engine.connect() as conn, conn.begin():
        migrate(conn, location.display)
    return cls(engine, location, stale_after_s, readonly=True, version=LATEST_VERSION)


def open_readonly(cls: type[Ledger], location: LedgerLocation, stale_after_s: float) -> Ledger:
    """Open ``location`` for reading only (see the module docstring)."""
    path = location.sqlite_path
    if location.in_memory or (path is not None and not path.exists()):
        return _empty(cls, location, stale_after_s)
    if path is not None and path.is_dir():
        raise LedgerError(f"cannot open ledger at {path}: it is a directory")
    engine: Any = create_engine(location, readonly=True)
    try:
        try:
            version = _version(engine, location)
        except DB_ERRORS as exc:
            low = error_text(exc).lower()
            wal = Path(f"{path}-wal")
            if path is None or not ("unable to open" in low or "disk i/o" in low):
                raise
            if wal.exists() and wal.stat().st_size > 0:
                raise LedgerError(
                    f"cannot read ledger at {location.display}: SQLite cannot create its "
                    f"{path.name}-shm file there (read-only or full folder) and {wal.name} "
                    "holds recent commits; read it where it can be written, or after a writer "
                    "closed it"
                ) from exc
            # A WAL ledger without a -wal file, in a folder where SQLite cannot create its
            # -shm file: nobody can write it there either, so reading it immutable is exact.
            engine.dispose()
            engine = create_engine(location, readonly=True, immutable=True)
            version = _version(engine, location)
    except DB_ERRORS as exc:
        engine.dispose()
        raise translate_error(exc, location.display, "read") from exc
    except BaseException:
        engine.dispose()
        raise
    if version == 0:
        engine.dispose()
        return _empty(cls, location, stale_after_s)
    return cls(engine, location, stale_after_s, readonly=True, version=version)
