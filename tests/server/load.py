"""Load helpers shared by the slow load tests and ``benchmarks/server_load.py``: concurrent pushers
against a real server process, and a project of N runs for the dashboard's page time.

The 100,000-run project is built from a few runs accounted as a push accounts them
(:func:`wattwise.server.index.index_rows`), their rows repeated with new run ids and start times
spread over a year (bulk inserts: pushing 100,000 runs one by one would time the push, not the
page)."""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from server.runs import make_doc, make_run
from wattwise.accounting.context import Context
from wattwise.ledger import schema as t
from wattwise.push.client import Target, push_document
from wattwise.server import schema as s
from wattwise.server.index import Extras, calendar_of, index_rows, phase_rows
from wattwise.server.rollup import SUMS, increments


@dataclass
class PushFigures:
    pushers: int
    runs: int
    seconds: float
    latencies_s: list[float]

    @property
    def runs_per_s(self) -> float:
        return self.runs / self.seconds

    @property
    def p95_ms(self) -> float:
        return 1000 * statistics.quantiles(self.latencies_s, n=20)[18]

    @property
    def median_ms(self) -> float:
        return 1000 * statistics.median(self.latencies_s)


def push_concurrently(target: Target, pushers: int, per_pusher: int, prefix: str) -> PushFigures:
    """``pushers`` threads each pushing ``per_pusher`` distinct runs (each one's first run twice:
    a retried push); every latency recorded."""
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[str] = []
    docs = [[make_doc(f"{prefix}-{p}-{i}", tags=(f"pusher{p}",), model="m",
                      day=f"2026-11-{1 + i % 28:02d}") for i in range(per_pusher)]
            for p in range(pushers)]  # fmt: skip

    def work(mine: list[dict[str, Any]]) -> None:
        for i, doc in enumerate([mine[0], *mine]):
            t0 = time.perf_counter()
            try:
                stored = push_document(target, doc, timeout_s=60)
            except Exception as exc:  # recorded, asserted by the caller
                with lock:
                    errors.append(str(exc))
                continue
            dt = time.perf_counter() - t0
            with lock:
                latencies.append(dt)
                if stored == (i == 1):  # the repeated first push must say "already there"
                    errors.append(f"{doc['run_id']}: stored={stored} on push {i}")

    threads = [threading.Thread(target=work, args=(d,)) for d in docs]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    seconds = time.perf_counter() - t0
    assert not errors, errors[:5]
    return PushFigures(pushers, pushers * (per_pusher + 1), seconds, latencies)


def seed_project(engine: sa.Engine, project_id: int, n_runs: int, prefix: str) -> None:
    """``n_runs`` runs of ``project_id`` (see the module docstring), in one transaction."""
    variants = []
    for k in range(20):
        run = make_run(
            f"{prefix}-v{k}", phases=("train", "eval") if k % 2 else ("serve",),
            gpu=("NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-40GB")[k % 2],
            energy_j=1e6 * (1 + k), tokens=None if k % 5 == 0 else 1000.0 * (k + 1),
        )  # fmt: skip
        extras = Extras(Context(country=("FR", "DE", "US")[k % 3]), (f"exp{k % 7}", "team"),
                        f"model-{k % 4}")  # fmt: skip
        row, _fp = index_rows(run, extras, project_id, "2026-12-01T00:00:00+00:00")
        variants.append((row, extras, phase_rows(run, project_id)))
    start = datetime(2025, 12, 1, tzinfo=timezone.utc)
    sums: dict[tuple[Any, ...], dict[str, Any]] = {}
    step_s = 365 * 86400 / n_runs
    with engine.begin() as conn:
        for lo in range(0, n_runs, 5000):
            runs, index, tags, phases = [], [], [], []
            for i in range(lo, min(n_runs, lo + 5000)):
                row, extras, ph = variants[i % len(variants)]
                rid = f"{prefix}-{i}"
                at = (start + timedelta(seconds=i * step_s)).isoformat()
                day, week, month = calendar_of(at)
                runs.append({"run_id": rid, "name": f"run {i}", "started_at": at,
                             "status": "finished", "updated_at": at, "host": "{}", "notes": "[]",
                             "extra": "{}", "duration_s": row["duration_s"]})  # fmt: skip
                index.append({**row, "run_id": rid, "name": f"run {i}", "started_at": at,
                              "day": day, "week": week, "month": month})  # fmt: skip
                tags += [{"run_id": rid, "project_id": project_id, "tag": g} for g in extras.tags]
                phases += [{**p, "run_id": rid} for p in ph]
                for inc in increments(index[-1], extras.tags, ph):
                    k = (inc["dim"], inc["day"], inc["key"], inc["currency"])
                    if k in sums:
                        for f in SUMS:
                            sums[k][f] += inc[f]
                    else:
                        sums[k] = inc
            conn.execute(t.runs.insert(), runs)
            conn.execute(s.server_runs.insert(), index)
            conn.execute(s.server_run_tags.insert(), tags)
            conn.execute(s.server_run_phases.insert(), phases)
        conn.execute(s.server_rollup.insert(), list(sums.values()))


def page_time_s(client: Any, path: str = "/", repeats: int = 5) -> float:
    """Median wall time of ``GET path`` (a logged-in client), after one warm-up request."""
    assert client.get(path).status_code == 200
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        assert client.get(path).status_code == 200
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
