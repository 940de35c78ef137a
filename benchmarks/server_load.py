"""The team server under load, on a real PostgreSQL (a throw-away cluster, as the tests make).

* push: ``--runs`` runs pushed by 1, 20 and 50 concurrent pushers (threads, each its own
  connection, urllib as ``wattwise push`` does) to one ``wattwise server`` process (uvicorn, one
  worker); runs/s over the wall time and the p95 / median latency of one push; every run stored
  exactly once is checked;
* dashboard: the project page (``GET /``: the totals, four charts, four breakdowns, top runs,
  assumptions) of a project of 1,000 and of 100,000 runs, median of 5 after a warm-up, rendered
  in-process (no network in the figure). The projects are seeded in bulk
  (:func:`server.load.seed_project`).

    python benchmarks/server_load.py [--runs 1000] [--pushers 1 20 50] [--pages 1000 100000]
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent  # benchmarks/integrations.py would hide tests/integrations
sys.path[:] = [str(_HERE.parent / "tests"), str(_HERE.parent / "src"),
               *(p for p in sys.path if Path(p or ".").resolve() != _HERE)]  # fmt: skip

import sqlalchemy as sa  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from server.conftest import Served  # noqa: E402
from server.live import LiveServer  # noqa: E402
from server.load import page_time_s, push_concurrently, seed_project  # noqa: E402
from server.pgcluster import cluster, create_database  # noqa: E402
from server.test_dashboard import logged_in  # noqa: E402
from wattwise.push.client import Target  # noqa: E402
from wattwise.server import auth  # noqa: E402
from wattwise.server import schema as s  # noqa: E402
from wattwise.server.app import create_app  # noqa: E402
from wattwise.server.db import migrate, open_engine  # noqa: E402


def bench_push(base: str, runs: int, pushers: list[int]) -> None:
    url = create_database(base, "push")
    engine, loc = open_engine(url)
    migrate(engine, loc.display)
    with engine.begin() as conn:
        _, token = auth.create_token(conn, auth.ensure_project(conn, "push"), ("ingest",))
    server = LiveServer(url).start()
    print("| pushers | runs | runs/s | p50 (ms) | p95 (ms) |\n|---|---|---|---|---|")
    try:
        for n in pushers:
            fig = push_concurrently(Target(server.url, token), n, max(1, runs // n), f"p{n}")
            print(f"| {n} | {fig.runs} | {fig.runs_per_s:.0f} | {fig.median_ms:.0f} | "
                  f"{fig.p95_ms:.0f} |", flush=True)  # fmt: skip
            with engine.connect() as conn:
                r = s.server_runs.c
                got = conn.execute(sa.select(sa.func.count(), sa.func.count(sa.distinct(
                    r.run_id))).where(r.run_id.like(f"p{n}-%"))).one()  # fmt: skip
            assert got[0] == got[1] == n * max(1, runs // n), got
    finally:
        server.stop()
        engine.dispose()


def bench_pages(base: str, sizes: list[int]) -> None:
    print("\n| runs in the project | project page (ms) |\n|---|---|")
    for n in sizes:
        url = create_database(base, f"page{n}")
        engine, loc = open_engine(url)
        migrate(engine, loc.display)
        with engine.begin() as conn:
            pid = auth.ensure_project(conn, "page")
            tid, token = auth.create_token(conn, pid, ("read",))
        seed_project(engine, pid, n, f"r{n}")
        with engine.connect() as conn:
            conn.execute(sa.text("ANALYZE"))
        served = Served("postgresql", engine, TestClient(create_app(engine)), {"r": token},
                        {"r": tid})  # fmt: skip
        seconds = page_time_s(logged_in(served, "r"))
        print(f"| {n:,} | {1000 * seconds:.0f} |", flush=True)
        engine.dispose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=1000)
    p.add_argument("--pushers", type=int, nargs="+", default=[1, 20, 50])
    p.add_argument("--pages", type=int, nargs="+", default=[1000, 100_000])
    args = p.parse_args()
    print(f"{platform.processor() or platform.machine()}, {platform.python_version()}\n")
    with cluster() as base:
        bench_push(base, args.runs, args.pushers)
        bench_pages(base, args.pages)


if __name__ == "__main__":
    main()
