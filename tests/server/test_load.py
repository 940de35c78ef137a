"""Load (``slow``, ``make test-slow``): 20 concurrent pushers × 200 runs against a real server
process over PostgreSQL, every run stored exactly once; the project page with 100,000 runs
renders in under a second. Figures: ``benchmarks/server.md`` (``benchmarks/server_load.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from server.conftest import new_database
from server.live import LiveServer
from server.load import page_time_s, push_concurrently, seed_project
from wattwise.push.client import Target
from wattwise.server import auth
from wattwise.server import schema as s
from wattwise.server.db import migrate, open_engine

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pg(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield new_database("postgresql", tmp_path_factory.mktemp("load"), request)


def test_20_pushers_x_200_runs_on_postgresql_stored_exactly_once(pg: str) -> None:
    engine, loc = open_engine(pg)
    migrate(engine, loc.display)
    with engine.begin() as conn:
        _, token = auth.create_token(conn, auth.ensure_project(conn, "load"), ("ingest",))
    server = LiveServer(pg).start()
    try:
        figures = push_concurrently(Target(server.url, token), 20, 200, "load")
    finally:
        server.stop()
    with engine.connect() as conn:
        r = s.server_runs.c
        n, distinct = conn.execute(
            sa.select(sa.func.count(), sa.func.count(sa.distinct(r.run_id))).where(
                r.run_id.like("load-%")
            )
        ).one()
    engine.dispose()
    assert (n, distinct) == (4000, 4000)
    assert figures.runs == 4020  # with each pusher's retried first push


def test_one_run_pushed_by_10_pushers_at_once_is_stored_once(pg: str) -> None:
    import threading

    from server.runs import make_doc
    from wattwise.push.client import push_document

    engine, loc = open_engine(pg)
    migrate(engine, loc.display)
    with engine.begin() as conn:
        _, token = auth.create_token(conn, auth.ensure_project(conn, "race"), ("ingest",))
    server = LiveServer(pg).start()
    doc, answers = make_doc("race-1", tags=("a", "b"), phases=("train", "eval")), []
    gate = threading.Barrier(10)

    def push() -> None:
        gate.wait()
        answers.append(push_document(Target(server.url, token), doc))

    threads = [threading.Thread(target=push) for _ in range(10)]
    try:
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        server.stop()
    assert sorted(answers) == [False] * 9 + [True]
    with engine.connect() as conn:
        rolled = conn.execute(
            sa.select(s.server_rollup.c.runs)
            .where(s.server_rollup.c.dim == "all", s.server_rollup.c.key == "")
            .join(s.projects, s.projects.c.project_id == s.server_rollup.c.project_id)
            .where(s.projects.c.name == "race")
        ).scalars().all()
    engine.dispose()
    assert rolled == [1.0]  # counted once in the sums too


def test_project_page_with_100k_runs_under_a_second(pg: str, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from server.conftest import Served
    from server.test_dashboard import logged_in
    from wattwise.server.app import create_app

    engine, loc = open_engine(pg)
    migrate(engine, loc.display)
    with engine.begin() as conn:
        pid = auth.ensure_project(conn, "big")
        tid, token = auth.create_token(conn, pid, ("read",))
    seed_project(engine, pid, 100_000, "big")
    served = Served("postgresql", engine, TestClient(create_app(engine)), {"r": token}, {"r": tid})
    client = logged_in(served, "r")
    assert "data-value='100000'" in client.get("/").text  # the runs card
    seconds = page_time_s(client)
    engine.dispose()
    assert seconds < 1.0, f"project page: {seconds:.3f} s with 100,000 runs"
