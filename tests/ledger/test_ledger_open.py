"""Opening ledgers: locations, URLs, SQLite settings, migrations, files that are not ledgers."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from wattwise.errors import ConfigError, LedgerError
from wattwise.ledger import Ledger, default_db_path, resolve_location
from wattwise.ledger import schema as current
from wattwise.ledger.migrations import LATEST_VERSION

SRC = Path(__file__).resolve().parents[2] / "src"


def test_plain_path_and_sqlite_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    loc = resolve_location("runs.db", env={})
    assert loc.sqlite_path == tmp_path / "runs.db" and loc.url == f"sqlite:///{tmp_path}/runs.db"
    loc = resolve_location("sqlite:///rel.db?timeout=5", env={})
    assert loc.sqlite_path == tmp_path / "rel.db" and loc.url.endswith("rel.db?timeout=5")
    assert resolve_location(f"sqlite:///{tmp_path}/abs.db", env={}).display == f"{tmp_path}/abs.db"
    assert resolve_location("sqlite://", env={}).sqlite_path is None  # in memory


def test_postgresql_url_is_accepted_and_password_hidden() -> None:
    loc = resolve_location("postgresql+psycopg://ww:s3cret@db.example:5432/wattwise", env={})
    assert loc.url == "postgresql+psycopg://ww:s3cret@db.example:5432/wattwise"
    assert not loc.is_sqlite and loc.sqlite_path is None
    assert "s3cret" not in loc.display and "db.example" in loc.display


def test_malformed_url() -> None:
    with pytest.raises(LedgerError, match="invalid ledger URL"):
        resolve_location("://nothing", env={})


def test_env_var_and_default_location(tmp_path: Path) -> None:
    env = {"WATTWISE_DB": str(tmp_path / "env.db"), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    assert resolve_location(None, env=env).sqlite_path == tmp_path / "env.db"
    assert resolve_location("other.db", env=env).sqlite_path == Path("other.db").absolute()
    del env["WATTWISE_DB"]
    assert resolve_location(None, env=env).sqlite_path == tmp_path / "xdg/wattwise/ledger.db"
    # A relative XDG_DATA_HOME is invalid per the XDG spec and ignored.
    home = {"HOME": str(tmp_path / "home"), "XDG_DATA_HOME": "relative"}
    assert default_db_path(home) == tmp_path / "home/.local/share/wattwise/ledger.db"


def test_open_uses_env_and_creates_parent_dirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATTWISE_DB", str(tmp_path / "a" / "b" / "ledger.db"))
    with Ledger.open() as led:
        assert led.list_runs() == []
    assert (tmp_path / "a" / "b" / "ledger.db").is_file()


def test_wal_and_version_recorded(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    Ledger.open(str(db)).close()
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        versions = [r[0] for r in con.execute("SELECT version FROM schema_version")]
    assert versions == list(range(1, LATEST_VERSION + 1))


def test_migration_is_idempotent_on_reopen(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    with Ledger.open(db) as led:
        led.begin_run("r1", "a", "2025-01-01T00:00:00+00:00", None, {}, [])
    for _ in range(2):
        with Ledger.open(db) as led:
            assert [r.run_id for r in led.list_runs()] == ["r1"]
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM schema_version").fetchone()[0] == LATEST_VERSION


def test_migrated_database_matches_schema_module(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    Ledger.open(str(db)).close()
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        inspector = sa.inspect(engine)
        assert set(inspector.get_table_names()) == set(current.metadata.tables)
        for name, table in current.metadata.tables.items():
            columns = {c["name"]: c["nullable"] for c in inspector.get_columns(name)}
            assert columns == {c.name: c.nullable for c in table.columns}, name
            indexed = {i["name"] for i in inspector.get_indexes(name)}
            assert indexed == {i.name for i in table.indexes}, name
    finally:
        engine.dispose()


def test_newer_schema_version_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    Ledger.open(str(db)).close()
    with sqlite3.connect(db) as con:
        con.execute(
            "INSERT INTO schema_version VALUES (?, '2030-01-01T00:00:00+00:00', '9.0')",
            (LATEST_VERSION + 1,),
        )
    with pytest.raises(LedgerError) as err:
        Ledger.open(str(db))
    msg = str(err.value)
    assert "newer wattwise" in msg and f"version {LATEST_VERSION + 1}" in msg
    assert "\n" not in msg


def test_corrupt_file_gives_one_line(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    db.write_bytes(os.urandom(8192))
    with pytest.raises(LedgerError) as err:
        Ledger.open(str(db))
    assert str(err.value) == (
        f"{db} is not a wattwise ledger (file is not a database): move it away or pass --db"
    )


def test_other_sqlite_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
    with pytest.raises(
        LedgerError, match=r"not a wattwise ledger \(it holds other tables: users\)"
    ):
        Ledger.open(str(db))
    with sqlite3.connect(db) as con:  # untouched
        assert [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")] == [
            "users"
        ]


def test_path_under_a_regular_file_is_refused(tmp_path: Path) -> None:
    # Tests run as root, so chmod would not block writing; a file used as a directory does.
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a directory")
    target = blocker / "sub" / "ledger.db"
    with pytest.raises(LedgerError) as err:
        Ledger.open(str(target))
    assert str(err.value) == f"cannot create ledger at {target}: {blocker} is not a directory"


def test_directory_as_ledger_path_is_refused(tmp_path: Path) -> None:
    # a bad flag: ConfigError, one line, exit 2 from the CLI
    with pytest.raises(ConfigError, match="is a folder"):
        Ledger.open(str(tmp_path))


def test_missing_postgres_driver_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # as if psycopg were not installed (CI installs it for the team server's tests)
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(LedgerError, match=r"driver missing.*wattwise\[postgres\]"):
        Ledger.open("postgresql+psycopg://u:p@localhost/ww")


def test_serialize_does_not_import_sqlalchemy() -> None:
    code = (
        "import sys, wattwise.ledger.serialize, wattwise.ledger;print('sqlalchemy' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"
