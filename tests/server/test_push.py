"""Pushing to a real server process: ``wattwise run --server`` arrives; a pusher whose server is
stopped mid-way and restarted loses nothing and sends nothing twice (the push spool and the
server's idempotent push); a newer database schema is refused in one line."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from integrations.requires import module
from server.live import LiveServer
from server.runs import make_doc

module("uvicorn", "server")

from wattwise.push.client import pending, push_pending, push_run_document, target_from  # noqa: E402
from wattwise.server import auth  # noqa: E402
from wattwise.server import schema as s  # noqa: E402
from wattwise.server.db import migrate, open_engine  # noqa: E402


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str, Path]]:
    folder = tmp_path_factory.mktemp("live")
    db = str(folder / "server.db")
    engine, loc = open_engine(db)
    migrate(engine, loc.display)
    with engine.begin() as conn:
        _, token = auth.create_token(conn, auth.ensure_project(conn, "P"), ("ingest", "read"))
    engine.dispose()
    server = LiveServer(db).start()
    yield server, token, folder
    server.stop()


def _stored(db: Path) -> list[str]:
    engine, _ = open_engine(str(db))
    with engine.connect() as conn:
        ids = list(conn.execute(sa.select(s.server_runs.c.run_id)).scalars())
    engine.dispose()
    return ids


def test_wattwise_run_pushes_to_the_server(live: tuple[LiveServer, str, Path], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    server, token, folder = live
    env = {"WATTWISE_TOKEN": token, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    import os

    proc = subprocess.run(
        [sys.executable, "-m", "wattwise", "run", "--server", server.url, "--name", "pushed",
         "--tag", "ci", "--model", "none", "--interval", "0.1", "--", sys.executable, "-c",
         "import time; time.sleep(0.3)"],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "1 pushed to" in proc.stderr, proc.stderr
    engine, _ = open_engine(str(folder / "server.db"))
    with engine.connect() as conn:
        row = conn.execute(sa.select(s.server_runs).where(s.server_runs.c.name == "pushed")).one()
        tags = list(conn.execute(sa.select(s.server_run_tags.c.tag)).scalars())
    engine.dispose()
    assert row.model == "none" and "ci" in tags and row.energy_j >= 0


def test_nothing_lost_nothing_twice_when_the_server_stops_mid_way(
    live: tuple[LiveServer, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, token, folder = live
    monkeypatch.setenv("WATTWISE_TOKEN", token)
    target = target_from(server.url)
    assert target is not None
    ids = [f"lost-{i}" for i in range(30)]
    for i, run_id in enumerate(ids):
        if i == 10:
            server.stop()  # mid-way: the next pushes find no server
        report = push_run_document(target, make_doc(run_id), retries=0)
        if i >= 10:
            assert report.waiting >= 1
    assert len(pending(target)) == 20  # kept on disk, not lost
    server.start()
    # one spooled file as if pushed but its removal lost (a crash after the server answered)
    import shutil

    first = pending(target)[0]
    keep = first.with_suffix(".bak")
    shutil.copy(first, keep)
    report = push_pending(target, retries=3, backoff_s=0.05)
    assert report.stored == 20 and report.waiting == 0 and pending(target) == []
    keep.rename(first)
    again = push_pending(target, retries=3, backoff_s=0.05)
    assert again.duplicate == 1 and again.stored == 0
    stored = [i for i in _stored(folder / "server.db") if i.startswith("lost-")]
    assert sorted(stored) == sorted(ids)  # every run once


def test_a_newer_schema_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wattwise.cli import main

    db = tmp_path / "newer.db"
    engine, loc = open_engine(str(db))
    migrate(engine, loc.display)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    assert main(["server", "--db", str(db), "--port", "0"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "newer than this wattwise" in lines[0] and "9999" in lines[0]


def test_migrate_command_and_a_migrated_database_matches_the_schema(tmp_path: Path) -> None:
    from wattwise.cli import main
    from wattwise.ledger import schema as ledger_schema

    db = str(tmp_path / "m.db")
    assert main(["server", "migrate", "--db", db]) == 0
    assert main(["server", "migrate", "--db", db]) == 0
    engine, _ = open_engine(db)
    inspector = sa.inspect(engine)
    for table in (*s.TABLES, *ledger_schema.metadata.tables.values()):
        have = {c["name"] for c in inspector.get_columns(table.name)}
        assert have == {c.name for c in table.c}, table.name
    engine.dispose()


def test_token_create_prints_the_token_alone_on_its_last_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wattwise.cli import main

    db = str(tmp_path / "t.db")
    assert main(["server", "token", "create", "--project", "X", "--scope", "ingest,read",
                 "--expires", "90d", "--db", db]) == 0  # fmt: skip
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("wwt_") and len(token) == 47
    engine, _ = open_engine(db)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(s.tokens)).one()
        assert token not in str(stored._mapping) and stored.token_hash == auth.digest(token)
        assert auth.authenticate(conn, token) is not None
    engine.dispose()
    assert main(["server", "token", "revoke", str(stored.token_id), "--db", db]) == 0
    with engine.connect() as conn:
        assert auth.authenticate(conn, token) is None
    assert main(["server", "token", "create", "--project", "X", "--scope", "root",
                 "--db", db]) == 2  # fmt: skip


def test_readme_sink_example_pushes(
    live: tuple[LiveServer, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import re

    server, token, folder = live
    monkeypatch.setenv("WATTWISE_SERVER_URL", server.url)
    monkeypatch.setenv("WATTWISE_TOKEN", token)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Team server\n", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    ns: dict[str, object] = {}
    exec(compile(code, "README.md (Team server)", "exec"), ns)  # our own README
    run_id = ns["t"].run_id  # type: ignore[attr-defined]
    assert run_id in _stored(folder / "server.db")


def test_the_python_api_pushes_when_the_server_url_is_set(
    live: tuple[LiveServer, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import wattwise

    server, token, folder = live
    monkeypatch.setenv("WATTWISE_TOKEN", token)
    monkeypatch.setenv("WATTWISE_SERVER_URL", server.url)
    with wattwise.track("from-env") as t:
        t.count(tokens=5)
    assert t.run_id in _stored(folder / "server.db")
    monkeypatch.delenv("WATTWISE_TOKEN")
    from wattwise.api import tracker
    from wattwise.errors import ConfigError

    with pytest.raises(ConfigError, match="WATTWISE_TOKEN"):  # said at once, not after the run
        tracker("no-token")


def test_an_unreachable_server_is_retried_with_back_off_and_the_run_kept(tmp_path: Path) -> None:
    from server.live import free_port
    from wattwise.push.client import PushReport, Target, push_file, spool

    target = Target(f"http://127.0.0.1:{free_port()}", "wwt_x")  # nothing listens there
    path = spool(target, make_doc("kept"))
    waits: list[float] = []
    report = PushReport()
    push_file(target, path, report, retries=4, backoff_s=0.5, max_backoff_s=3.0,
              sleep=waits.append)  # fmt: skip
    assert waits == [0.5, 1.0, 2.0, 3.0] and report.waiting == 1 and path.exists()
    assert "not reachable" in report.line(target.url)
