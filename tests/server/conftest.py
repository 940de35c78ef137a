"""The server tests' fixtures: one PostgreSQL cluster per session (:mod:`server.pgcluster`),
and per test module one fresh server database on each backend — SQLite and PostgreSQL — with two
projects, their tokens and a few runs, behind an in-process HTTP client (Starlette's)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from integrations.requires import module

module("fastapi", "server")
module("alembic", "server")
module("httpx", "server")

import sqlalchemy as sa  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from server.runs import make_doc  # noqa: E402
from wattwise.server import auth  # noqa: E402
from wattwise.server import schema as s  # noqa: E402
from wattwise.server.app import create_app  # noqa: E402
from wattwise.server.db import migrate, open_engine  # noqa: E402

_names = itertools.count()


@pytest.fixture(scope="session")
def pg_base() -> Iterator[str]:
    module("psycopg", "postgres")
    from server.pgcluster import cluster

    with cluster() as base:
        yield base


def new_database(backend: str, folder: Path, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database URL on ``backend``."""
    if backend == "sqlite":
        return str(folder / f"server-{next(_names)}.db")
    from server.pgcluster import create_database

    base: str = request.getfixturevalue("pg_base")
    return create_database(base, f"wattwise_{next(_names)}")


@dataclass
class Served:
    """A migrated server database with its app, tokens by role and the runs pushed."""

    backend: str
    engine: sa.Engine
    client: TestClient
    tokens: dict[str, str]
    token_ids: dict[str, int]
    a_runs: list[dict[str, Any]] = field(default_factory=list)
    b_runs: list[dict[str, Any]] = field(default_factory=list)

    def h(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


ROLES = {
    "a": ("A", ("ingest", "read")),
    "a_read": ("A", ("read",)),
    "a_ingest": ("A", ("ingest",)),
    "a_admin": ("A", ("admin", "read")),
    "a_expired": ("A", ("ingest", "read")),
    "a_revoked": ("A", ("ingest", "read")),
    "b": ("B", ("ingest", "read")),
}

#: Project A's runs: two days of one week, another month; tags, models, phases, hardware.
A_RUNS = (
    dict(run_id="a-run-1", day="2026-11-02", tags=("exp1", "baseline"), model="llama-8b",
         phases=("train", "eval"), energy_j=7.2e6),
    dict(run_id="a-run-2", day="2026-11-03", tags=("exp1",), model="llama-8b", energy_j=3.6e6),
    dict(run_id="a-run-3", day="2026-12-01", tags=("exp2",), model="mistral-7b",
         gpu="NVIDIA A100-SXM4-40GB", energy_j=1.8e6, tokens=None, country="DE",
         name="<script>alert('x')</script><b>bold</b>"),
)  # fmt: skip


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    url = new_database(request.param, tmp_path_factory.mktemp("server"), request)
    engine, loc = open_engine(url)
    migrate(engine, loc.display)
    tokens, ids = {}, {}
    with engine.begin() as conn:
        for role, (project, scopes) in ROLES.items():
            pid = auth.ensure_project(conn, project)
            ids[role], tokens[role] = auth.create_token(conn, pid, scopes)
        conn.execute(
            s.tokens.update()
            .where(s.tokens.c.token_id == ids["a_expired"])
            .values(expires_at="2020-01-01T00:00:00+00:00")
        )
        auth.revoke_token(conn, ids["a_revoked"])
    client = TestClient(create_app(engine))
    out = Served(request.param, engine, client, tokens, ids)
    for spec in A_RUNS:
        doc = make_doc(**spec)  # type: ignore[arg-type]
        assert client.post("/api/v1/runs", json=doc, headers=out.h("a")).status_code == 201
        out.a_runs.append(doc)
    doc = make_doc("b-run-1", tags=("exp1",), model="llama-8b")
    assert client.post("/api/v1/runs", json=doc, headers=out.h("b")).status_code == 201
    out.b_runs.append(doc)
    yield out
    client.close()
    engine.dispose()
