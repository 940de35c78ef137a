"""Creating the SQLAlchemy engine of a ledger, with SQLite set up for incremental writing.

SQLite settings and why:

* ``journal_mode=WAL``: readers (``wattwise runs list``) never block the recorder and a commit is
  one append to the ``-wal`` file, so the recorder can commit every few seconds cheaply. A commit
  survives a SIGKILL of the writing process (the OS keeps the written pages).
* ``synchronous=NORMAL``: in WAL mode this loses at most the last commits on a power cut, never
  consistency; ``FULL`` would fsync at every sample flush.
* ``busy_timeout``: a writer waits for another one instead of failing at once.
* ``foreign_keys=ON``: same integrity as PostgreSQL (SQLite leaves it off by default).
* Real transactions: Python's sqlite3 module opens transactions lazily and not for DDL; it is set
  to autocommit and wattwise emits ``BEGIN`` itself (the recipe from SQLAlchemy's SQLite docs), with
  ``BEGIN IMMEDIATE`` for writes so that two writers queue on the busy timeout instead of failing
  with ``SQLITE_BUSY`` when a read lock is upgraded.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from wattwise.errors import LedgerError
from wattwise.ledger.location import LedgerLocation

BUSY_TIMEOUT_S = 10.0
#: Execution option that makes a SQLite transaction start with ``BEGIN IMMEDIATE``.
WRITE_OPTION = "wattwise_write"


def create_engine(location: LedgerLocation) -> sa.Engine:
    """An engine for ``location``; creates a SQLite file's parent directory first.

    Raises :class:`LedgerError` with one line for an unusable path or a missing driver. Nothing
    is connected yet.
    """
    if location.sqlite_path is not None:
        _prepare_sqlite_path(location)
    connect_args: dict[str, Any] = {}
    if location.is_sqlite:
        connect_args["timeout"] = BUSY_TIMEOUT_S
    try:
        engine = sa.create_engine(location.url, connect_args=connect_args)
    except ImportError as exc:  # psycopg (or another driver) is not installed
        hint = " (pip install 'wattwise[postgres]')" if "postgres" in location.url else ""
        raise LedgerError(
            f"cannot use ledger {location.display}: database driver missing: {exc}{hint}"
        ) from exc
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise LedgerError(f"cannot use ledger {location.display}: {exc}") from exc
    if location.is_sqlite:
        _configure_sqlite(engine, wal=location.sqlite_path is not None)
    return engine


def _prepare_sqlite_path(location: LedgerLocation) -> None:
    path = location.sqlite_path
    assert path is not None
    if path.is_dir():
        raise LedgerError(f"cannot create ledger at {path}: it is a directory")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except PermissionError as exc:
        raise LedgerError(f"cannot create ledger at {path}: permission denied") from exc
    except (FileExistsError, NotADirectoryError) as exc:
        blocker = next((p for p in reversed(path.parents) if p.exists() and not p.is_dir()), None)
        what = f"{blocker} is not a directory" if blocker else "a parent is not a directory"
        raise LedgerError(f"cannot create ledger at {path}: {what}") from exc
    except OSError as exc:
        raise LedgerError(f"cannot create ledger at {path}: {exc.strerror or exc}") from exc


def _configure_sqlite(engine: sa.Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # autocommit; BEGIN is emitted below
        cursor = dbapi_connection.cursor()
        try:
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def translate_error(exc: BaseException, display: str, action: str) -> LedgerError:
    """One clear line for a database error raised while doing ``action`` on ledger ``display``."""
    orig = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    msg = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    low = msg.lower()
    if "file is not a database" in low or "file is encrypted" in low:
        return LedgerError(
            f"{display} is not a wattwise ledger (file is not a database): "
            "move it away or pass --db"
        )
    if "database disk image is malformed" in low:
        return LedgerError(
            f"{display} is damaged (database disk image is malformed): move it away or pass --db"
        )
    if "unable to open database file" in low:
        return LedgerError(f"cannot open ledger at {display}: unable to open database file")
    if "readonly database" in low or "read-only" in low:
        return LedgerError(
            f"cannot write ledger at {display}: the file or its directory is read-only"
        )
    if "database is locked" in low:
        return LedgerError(
            f"ledger {display} is locked by another process (waited {BUSY_TIMEOUT_S:.0f} s)"
        )
    return LedgerError(f"ledger {display}: cannot {action}: {msg}")


#: Errors that :func:`translate_error` handles.
DB_ERRORS: tuple[type[BaseException], ...] = (sa.exc.SQLAlchemyError, sqlite3.Error)
