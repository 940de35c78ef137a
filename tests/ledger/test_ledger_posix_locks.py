"""The ledger never drops this process's own SQLite locks (a write stored, then silently lost).

Closing any file descriptor of a SQLite database releases every POSIX lock the process holds on
it, SQLite's own connections' included. The writer used to read the file's header with
``open()`` before each commit; with 32 recorders on one ledger another process could then take
the file for its last close, checkpoint and delete the WAL while a commit was in flight: a
``set_extra`` reported stored was gone (1 run in 32, about one CI run in five). The probe below
asks, from another process, whether SQLite's SHARED lock range of the file is still held.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from wattwise.core.run import Sample
from wattwise.ledger import Ledger
from wattwise.ledger.engine import sqlite_header_ok
from wattwise.readers.base import DeviceInfo, Provenance

#: SQLite's SHARED lock bytes (os_unix.c: PENDING_BYTE 0x40000000; SHARED_FIRST + 2; 510 bytes).
_PROBE = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 510, 0x40000002)
    print("free")
except OSError:
    print("held")
"""


def _shared_lock_seen_from_outside(db: Path) -> str:
    out = subprocess.run([sys.executable, "-c", _PROBE, str(db)], capture_output=True, text=True,
                         timeout=60, check=True)
    return out.stdout.strip()


def test_the_damage_check_keeps_this_process_sqlite_locks(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    con = sqlite3.connect(db, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE t (x)")
        assert _shared_lock_seen_from_outside(db) == "held"
        assert sqlite_header_ok(db)
        assert _shared_lock_seen_from_outside(db) == "held"
    finally:
        con.close()


def test_the_damage_check_still_sees_an_overwritten_or_truncated_file(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.close()
    assert sqlite_header_ok(db)
    db.write_bytes(b"not a database at all, " * 200)
    assert not sqlite_header_ok(db)
    db.write_bytes(b"")
    assert not sqlite_header_ok(db)


def test_ledger_writes_keep_the_lock_of_its_own_pooled_connection(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    dev = DeviceInfo("rapl:package-0", "cpu", "package-0", Provenance.MEASURED, "test")
    with Ledger.open(str(db)) as led:
        led.begin_run("r1", "locks", "2026-01-01T00:00:00+00:00", None, {}, [dev])
        led.append_samples("r1", [Sample(dev.device_id, 1.0, 5.0, 5.0)])
        assert _shared_lock_seen_from_outside(db) == "held"  # the pool's connection, still open
        led.set_extra("r1", "k", {"v": 1})
        assert _shared_lock_seen_from_outside(db) == "held"
        assert led.get_extra("r1") == {"k": {"v": 1}}
