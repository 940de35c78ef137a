"""Read commands open the ledger read-only (issue 10, defect 11): no write transaction, no
migration, no file created; a read-only ledger on a read-only folder can be listed and shown."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from cli.clirun import wattwise
from ledger.faultkit import in_namespace, mount_namespaces
from wattwise.errors import LedgerError
from wattwise.ledger import Ledger
from wattwise.ledger.migrations import LATEST_VERSION, MIGRATIONS
from wattwise.tracker.model import RunResult

needs_mounts = pytest.mark.skipif(bool(mount_namespaces()), reason=mount_namespaces() or "ok")


def _finished(led: Ledger, name: str = "done") -> str:
    rid = uuid.uuid4().hex
    led.finish_run(RunResult(rid, name, "2025-03-01T10:00:00+00:00", 2.0, ()))
    return rid


@needs_mounts
def test_runs_list_and_show_read_a_0444_ledger_in_a_0555_folder_on_a_read_only_mount(
    tmp_path: Path,
) -> None:
    # Tests run as root, and root ignores file modes: the folder is also mounted read-only in
    # a private mount namespace, so nothing can write there, root included.
    d = tmp_path / "ro"
    d.mkdir()
    db = d / "ledger.db"
    with Ledger.open(str(db)) as led:
        rid = _finished(led, "readable")
    db.chmod(0o444)
    d.chmod(0o555)
    try:
        assert not list(d.glob("ledger.db-*"))  # no -wal/-shm: SQLite cannot create them here
        out = in_namespace(
            "mount --bind ro ro && mount -o remount,bind,ro ro\n"
            f"$WW runs list --db ro/ledger.db --json\n$WW runs show {rid[:8]} --db ro/ledger.db"
            " --json\n$WW runs export --db ro/ledger.db\n",
            tmp_path,
        )
        decoder = json.JSONDecoder()
        listed, end = decoder.raw_decode(out)
        shown, end2 = decoder.raw_decode(out, end + 1)
        exported = json.loads(out[end2 + 1 :])
        assert [r["run_id"] for r in listed] == [rid]
        assert shown["name"] == "readable" and shown["status"] == "finished"
        assert [r["run_id"] for r in exported] == [rid]
        assert stat.S_IMODE(db.stat().st_mode) == 0o444 and sorted(os.listdir(d)) == ["ledger.db"]
    finally:
        d.chmod(0o755)
        db.chmod(0o644)


@needs_mounts
def test_read_only_mount_sees_what_a_live_writer_committed(tmp_path: Path) -> None:
    d = tmp_path / "ro"
    d.mkdir()
    db = d / "ledger.db"
    writer = Ledger.open(str(db))
    keep = sqlite3.connect(db)  # an open connection keeps -wal/-shm in place
    try:
        keep.execute("SELECT 1").fetchall()
        rid = _finished(writer, "live")
        out = in_namespace(
            "mount --bind ro ro && mount -o remount,bind,ro ro\n"
            "$WW runs list --db ro/ledger.db --json\n",
            tmp_path,
        )
        assert [r["run_id"] for r in json.loads(out)] == [rid]
    finally:
        keep.close()
        writer.close()


def test_read_only_open_of_a_missing_ledger_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "none.db"
    with Ledger.open(str(db), readonly=True) as led:
        assert led.list_runs() == []
        with pytest.raises(LedgerError, match="no run"):
            led.get_run("abc")
    p = wattwise("runs", "list", "--db", str(db))
    assert p.returncode == 0 and "no runs yet" in p.stdout
    assert not (tmp_path / "sub").exists()


def test_read_only_open_writes_nothing_and_refuses_writes(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    with Ledger.open(str(db)) as led:
        rid = _finished(led)
    before = db.read_bytes()
    with Ledger.open(str(db), readonly=True) as led:
        assert led.readonly and led.get_run(rid).name == "done"
        with pytest.raises(LedgerError, match="read-only"):
            led.heartbeat(rid)
        with pytest.raises(LedgerError, match="read-only"):
            led.mark_interrupted(rid)
    assert db.read_bytes() == before


def test_older_ledger_is_read_as_is_and_migrated_by_the_next_write(tmp_path: Path) -> None:
    db = tmp_path / "v1.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:  # a ledger written by the wattwise of schema version 1
        conn.execute(sa.text(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL,"
            " wattwise_version TEXT NOT NULL)"))
        MIGRATIONS[0](conn)
        conn.execute(sa.text("INSERT INTO schema_version VALUES (1, '2025-01-01', '0.1')"))
        conn.execute(sa.text(
            "INSERT INTO runs (run_id, name, started_at, status, updated_at, host, notes, extra)"
            " VALUES ('old1', 'old', '2025-01-01T00:00:00+00:00', 'finished', '2025', '{}',"
            " '[]', '{}')"))
    engine.dispose()
    with Ledger.open(str(db), readonly=True) as led:
        assert led.version == 1 and [r.run_id for r in led.list_runs()] == ["old1"]
        assert led.get_run("old1").status == "finished"
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT max(version) FROM schema_version").fetchone()[0] == 1
    with Ledger.open(str(db)) as led:
        assert led.version == LATEST_VERSION and led.get_run("old1").name == "old"
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT max(version) FROM schema_version").fetchone()[0] == 2


def test_read_only_open_of_a_newer_or_foreign_file_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE users (id INTEGER)")
    with pytest.raises(LedgerError, match="not a wattwise ledger"):
        Ledger.open(str(db), readonly=True)
    junk = tmp_path / "junk.db"
    junk.write_bytes(os.urandom(4096))
    with pytest.raises(LedgerError, match="not a wattwise ledger"):
        Ledger.open(str(junk), readonly=True)
