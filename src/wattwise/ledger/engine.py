"""Creating the SQLAlchemy engine of a ledger, with SQLite set up for incremental writing.

SQLite settings and why:

* ``journal_mode=WAL``: readers (``wattwise runs list``) never block the recorder and a commit is
  one append to the ``-wal`` file, so the recorder can commit every few seconds cheaply. A commit
  survives a SIGKILL of the writing process (the OS keeps the written pages).
* ``synchronous=NORMAL``: in WAL mode this loses at most the last commits on a power cut, never
  consistency; ``FULL`` would fsync at every sample flush.
* ``busy_timeout``: a writer waits for another one instead of failing at once (one attempt;
  :mod:`wattwise.ledger.writer` retries with back-off beyond it).
* Writes open the file with ``mode=rw`` once it exists (a deleted ledger is never re-created
  mid-run), reads with ``mode=ro``. Write connections are pooled (a WAL checkpoint at every
  close would cost ~15 ms per write); before each write :mod:`wattwise.ledger.writer` checks
  that the file is still the one it opened and still writable, so a ledger deleted, replaced
  or made read-only mid-run is noticed (the write goes to the spool) instead of being written
  through a stale descriptor; after a failed write the pool is emptied.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import NullPool, QueuePool, StaticPool

from wattwise.errors import LedgerError
from wattwise.ledger.location import LedgerLocation

#: Seconds one write attempt waits for another writer's lock (``?timeout=S`` overrides it).
BUSY_TIMEOUT_S = 10.0
#: Execution option that makes a SQLite transaction start with ``BEGIN IMMEDIATE``.
WRITE_OPTION = "wattwise_write"


class SqliteOpener:
    """Opens DBAPI connections to one SQLite file in a given mode (``ro``, ``rw``, ``rwc``).

    ``mode`` may be changed after the engine is made (``rwc`` to create the file at the first
    open, ``rw`` afterwards so a deleted ledger is not silently re-created mid-run).
    """

    def __init__(self, path: str, mode: str, timeout_s: float, *, immutable: bool = False) -> None:
        self.path = path
        self.mode = mode
        self.timeout_s = timeout_s
        self.immutable = immutable

    def __call__(self) -> sqlite3.Connection:
        uri = f"file:{quote(self.path)}?mode={self.mode}"
        if self.immutable:
            uri += "&immutable=1"
        return sqlite3.connect(
            uri, uri=True, timeout=self.timeout_s, check_same_thread=False, isolation_level=None
        )


def busy_timeout_s(location: LedgerLocation) -> float:
    """Seconds one attempt waits on a lock: the URL's ``?timeout=`` or :data:`BUSY_TIMEOUT_S`."""
    return location.timeout_s if location.timeout_s is not None else BUSY_TIMEOUT_S


def create_engine(
    location: LedgerLocation, *, readonly: bool = False, immutable: bool = False
) -> sa.Engine:
    """An engine for ``location``; for writing, creates a SQLite file's parent directory first.

    ``readonly``: SQLite opens the file with ``mode=ro`` (``immutable`` also tells SQLite that
    nobody writes it, for a WAL ledger in a read-only folder whose ``-shm`` cannot be made).
    Raises :class:`LedgerError` with one line for an unusable path or a missing driver.
    Nothing is connected yet.
    """
    if location.is_sqlite:
        return _sqlite_engine(location, readonly=readonly, immutable=immutable)
    try:
        return sa.create_engine(location.url)
    except ImportError as exc:  # psycopg (or another driver) is not installed
        hint = " (pip install 'wattwise[postgres]')" if "postgres" in location.url else ""
        raise LedgerError(
            f"cannot use ledger {location.display}: database driver missing: {exc}{hint}"
        ) from exc
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise LedgerError(f"cannot use ledger {location.display}: {exc}") from exc


def _sqlite_engine(location: LedgerLocation, *, readonly: bool, immutable: bool) -> sa.Engine:
    timeout_s = busy_timeout_s(location)
    if location.sqlite_path is None:  # in memory: one connection shared by every thread
        engine = sa.create_engine(
            "sqlite://",
            creator=lambda: sqlite3.connect(
                ":memory:", check_same_thread=False, isolation_level=None
            ),
            poolclass=StaticPool,
        )
        _configure_sqlite(engine, wal=False, timeout_s=timeout_s)
        return engine
    if not readonly:
        _prepare_sqlite_path(location)
    mode = "ro" if readonly else ("rw" if location.sqlite_path.exists() else "rwc")
    opener = SqliteOpener(str(location.sqlite_path), mode, timeout_s, immutable=immutable)
    pool = NullPool if readonly else QueuePool
    engine = sa.create_engine("sqlite://", creator=opener, poolclass=pool)
    engine.info_opener = opener  # type: ignore[attr-defined]
    _configure_sqlite(engine, wal=not readonly, timeout_s=timeout_s)
    return engine


def sqlite_opener(engine: sa.Engine) -> SqliteOpener | None:
    """The opener of a file SQLite engine made here (None for other engines)."""
    opener = getattr(engine, "info_opener", None)
    return opener if isinstance(opener, SqliteOpener) else None


def file_identity(path: os.PathLike[str] | str) -> tuple[int, int] | None:
    """(device, inode) of a file, None when it does not exist (to notice a replaced ledger)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


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


def _configure_sqlite(engine: sa.Engine, *, wal: bool, timeout_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # autocommit; BEGIN is emitted below
        cursor = dbapi_connection.cursor()
        try:
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def set_busy_timeout(conn: sa.Connection, timeout_s: float) -> None:
    """Set SQLite's busy timeout of ``conn`` (before its transaction begins); no-op otherwise."""
    if conn.dialect.name != "sqlite":
        return
    raw: Any = conn.connection.driver_connection
    raw.execute(f"PRAGMA busy_timeout={max(0, int(timeout_s * 1000))}")


def error_text(exc: BaseException) -> str:
    """The first line of a database error's message (the driver's own, without SQL)."""
    orig = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    if isinstance(orig, OSError) and orig.strerror:
        return orig.strerror
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__


def is_busy(exc: BaseException) -> bool:
    """True when ``exc`` says another connection holds a lock (worth waiting out)."""
    low = error_text(exc).lower()
    return "database is locked" in low or "database table is locked" in low or "busy" in low


SQLITE_HEADER = b"SQLite format 3\x00"


def sqlite_header_ok(path: Path) -> bool:
    """True when ``path`` still reads as a SQLite database (not overwritten or truncated).

    Read through a fresh read-only SQLite connection, never by opening the file here: closing
    any descriptor of the database file drops every POSIX lock this process holds on it,
    SQLite's own connections' included (SQLite shares and defers closing its own descriptors
    for that reason). Another process could then take the file for its last close, checkpoint
    and delete the WAL under this process's commit: a write reported stored and silently lost
    (https://www.sqlite.org/howtocorrupt.html, section 2.2).
    """
    try:
        if os.stat(path).st_size < len(SQLITE_HEADER):
            return False
    except OSError:
        return True  # gone or unreadable: the identity check or the write itself says why
    try:
        con = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=0.0)
    except sqlite3.Error:
        return True
    try:
        con.execute("PRAGMA schema_version").fetchone()
        return True
    except sqlite3.OperationalError:  # busy, or cannot open: not a sign of damage
        return True
    except sqlite3.DatabaseError:  # "file is not a database"
        return False
    finally:
        con.close()


def file_read_only(path: Path) -> bool:
    """True when this process may no longer write the existing file ``path`` (its mode, or a
    read-only mount)."""
    try:
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return False
    return not os.access(path, os.W_OK)


#: Free bytes below which the filesystem of a SQLite ledger counts as full (SQLite needs room for
#: its 32 KiB ``-shm`` file and the first WAL frames just to read a WAL ledger).
FULL_DISK_BYTES = 256 * 1024


def disk_full(location: LedgerLocation, error: str) -> bool:
    """True when ``error`` (one line) is an I/O failure and the filesystem of the SQLite ledger
    ``location`` has (almost) no space left."""
    low = error.lower()
    if not any(k in low for k in ("disk i/o error", "disk is full", "unable to open")):
        return False
    path = location.sqlite_path
    if path is None:
        return False
    try:
        st = os.statvfs(path.parent)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < FULL_DISK_BYTES


def read_only_fs(path: Path | None) -> bool:
    """True when the SQLite file ``path`` or its folder cannot be written (a read-only mount,
    or file modes that bar this user)."""
    if path is None:
        return False
    try:
        if os.statvfs(path.parent).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return False
    return not os.access(path.parent, os.W_OK) or (
        path.exists() and not os.access(path, os.W_OK)
    )


def translate_error(
    exc: BaseException, display: str, action: str, path: Path | None = None
) -> LedgerError:
    """One clear line for a database error raised while doing ``action`` on ledger ``display``
    (``path``: its SQLite file, to tell a read-only one from a missing one)."""
    msg = error_text(exc)
    low = msg.lower()
    if ("unable to open" in low or "disk i/o error" in low) and read_only_fs(path):
        low = "readonly database"
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
    if "database or disk is full" in low or "no space left" in low:
        return LedgerError(f"cannot write ledger at {display}: the disk is full")
    if is_busy(exc):
        return LedgerError(f"ledger {display} is locked by another process")
    return LedgerError(f"ledger {display}: cannot {action}: {msg}")


#: Errors that :func:`translate_error` handles (OSError: a driver or the spool hitting the disk).
DB_ERRORS: tuple[type[BaseException], ...] = (sa.exc.SQLAlchemyError, sqlite3.Error, OSError)
