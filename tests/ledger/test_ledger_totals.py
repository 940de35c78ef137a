"""Per-run totals kept while a run is recorded (issue 10, the ledger half of defect 19):
listing an unfinished run reads a row per device, not its timeline, and gives the same energy
as deriving it from the samples."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from wattwise.ledger import Ledger
from wattwise.ledger.derive import derive_components
from wattwise.readers.base import DeviceInfo, Provenance
from wattwise.tracker.model import Sample

RAPL = DeviceInfo("rapl:package-0", "cpu", "package-0", Provenance.MEASURED, "powercap")
GPU = DeviceInfo("nvml:GPU-0", "gpu", "H100", Provenance.INTEGRATED, "nvml:power")


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _samples(n: int) -> Iterator[list[Sample]]:
    """Batches of a counter with a restart (reader reopened) and a varying power series."""
    batch: list[Sample] = []
    for i in range(n):
        t = 0.5 * i
        energy = 30.0 * t if i < n // 2 else 30.0 * (t - 0.5 * (n // 2))  # restarts half way
        batch += [Sample(RAPL.device_id, t, None, energy),
                  Sample(GPU.device_id, t, 200.0 + (i % 7) * 10.0, None)]
        if len(batch) >= 200:
            yield batch
            batch = []
    if batch:
        yield batch


@pytest.fixture
def crashed(tmp_path: Path) -> tuple[Path, str, list[Sample]]:
    db = tmp_path / "ledger.db"
    rid = uuid.uuid4().hex
    every: list[Sample] = []
    with Ledger.open(str(db)) as led:
        started = datetime.now(timezone.utc).isoformat()  # the heartbeat is not the longest
        led.begin_run(rid, "long", started, None, {}, [RAPL, GPU], pid=_dead_pid())
        for batch in _samples(3000):
            led.append_samples(rid, batch)
            every += batch
    return db, rid, every


def test_listing_an_interrupted_run_reads_no_samples(
    crashed: tuple[Path, str, list[Sample]],
) -> None:
    db, _, every = crashed
    with Ledger.open(str(db), readonly=True) as led:
        statements: list[str] = []
        sa.event.listen(led._engine, "before_cursor_execute",
                        lambda _c, _cur, sql, *_a: statements.append(sql))
        [summary] = led.list_runs()
    assert summary.status == "interrupted"
    assert statements and not [s for s in statements if "FROM samples" in s]
    expected = derive_components([RAPL, GPU], every, summary.duration_s, "x")
    assert summary.total_energy_j == pytest.approx(sum(c.energy_j for c in expected), rel=1e-12)
    assert summary.duration_s == pytest.approx(every[-1].t_s)


def test_energy_from_totals_equals_energy_from_samples(
    crashed: tuple[Path, str, list[Sample]],
) -> None:
    db, rid, _ = crashed
    with Ledger.open(str(db), readonly=True) as led:
        [summary] = led.list_runs()
        full = led.get_run(rid)  # with its samples: derived from them
        light = led.get_run(rid, with_samples=False)  # from the totals
    assert light.components == full.components
    assert summary.total_energy_j == pytest.approx(full.energy.total_j, rel=1e-12)
    assert summary.provenance == full.energy.label == "mixed: measured + integrated"


def test_run_without_totals_is_still_derived_from_its_samples(
    crashed: tuple[Path, str, list[Sample]],
) -> None:
    db, _, _ = crashed
    with Ledger.open(str(db), readonly=True) as led:
        [before] = led.list_runs()
    with sqlite3.connect(db) as con:  # as a run recorded before the totals existed
        con.execute("DELETE FROM run_totals")
    with Ledger.open(str(db), readonly=True) as led:
        [after] = led.list_runs()
    assert after.total_energy_j == pytest.approx(before.total_energy_j, rel=1e-12)
    assert after.duration_s == pytest.approx(before.duration_s)


def test_samples_out_of_time_order_fall_back_to_the_samples(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    rid = uuid.uuid4().hex
    pts = [Sample(RAPL.device_id, t, None, 10.0 * t) for t in (0.0, 2.0, 1.0, 3.0)]
    with Ledger.open(str(db)) as led:
        led.begin_run(rid, "odd", "2025-03-01T10:00:00+00:00", None, {}, [RAPL], pid=_dead_pid())
        led.append_samples(rid, pts[:2])
        led.append_samples(rid, pts[2:])
    with Ledger.open(str(db), readonly=True) as led:
        [summary] = led.list_runs()
    assert summary.total_energy_j == pytest.approx(30.0)  # sorted: 0, 1, 2, 3 s
