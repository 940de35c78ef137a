"""The ledger on a real SQLite file: round trips, incremental writing, crashes, lookup, export."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from wattwise.errors import LedgerError
from wattwise.ledger import Ledger, run_from_dict, run_to_dict
from wattwise.readers.base import DeviceInfo, Provenance
from wattwise.tracker.model import ComponentEnergy, Gap, RunResult, Sample, WindowResult

RAPL = DeviceInfo(
    "rapl:package-0", "cpu", "package-0", Provenance.MEASURED, "powercap:intel-rapl:0"
)
GPU = DeviceInfo(
    "nvml:GPU-1", "gpu", "H100", Provenance.INTEGRATED, "nvml:power", {"uuid": "GPU-1"}
)
MODEL = DeviceInfo(
    "cpu-model:machine", "cpu", "TDP model", Provenance.ESTIMATED, "tdp-model", {"tdp_w": "65"}
)


def comp(
    dev: DeviceInfo, energy_j: float, missing_s: float = 0.0, note: str = ""
) -> ComponentEnergy:
    return ComponentEnergy(
        dev.device_id,
        dev.kind,
        dev.name,
        energy_j,
        dev.provenance,
        dev.source,
        dev.params,
        missing_s=missing_s,
        note=note,
    )


def full_run(run_id: str | None = None) -> RunResult:
    rid = run_id or uuid.uuid4().hex
    return RunResult(
        run_id=rid,
        name="train",
        started_at="2025-03-01T10:00:00+00:00",
        duration_s=12.5,
        components=(comp(RAPL, 500.25), comp(GPU, 2000.0, missing_s=1.5, note="gap 1.5 s")),
        windows=(
            WindowResult("epoch", 0.5, 10.0, (comp(RAPL, 400.0),), {"tokens": 512.0}),
            WindowResult("step", 1.0, 1.05, (comp(RAPL, 2.5), comp(GPU, 9.0)), {}, parent="epoch"),
        ),
        counts={"tokens": 1024.0, "requests": 3.0},
        samples=(
            Sample(RAPL.device_id, 0.0, None, 0.0),
            Sample(RAPL.device_id, 1.0, None, 40.0),
            Sample(GPU.device_id, 0.0, 150.0, None),
            Sample(GPU.device_id, 1.0, 170.0, None),
        ),
        gaps=(Gap(GPU.device_id, 3.0, 4.5, "NVML_ERROR_UNKNOWN"),),
        notes=("first note",),
        status="finished",
        command=("python", "train.py", "--epochs", "1"),
        exit_code=0,
        host={"hostname": "node1", "cpu": "EPYC"},
    )


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger.open(str(tmp_path / "ledger.db")) as led:
        yield led


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_round_trip_of_a_full_run(ledger: Ledger, tmp_path: Path) -> None:
    run = full_run()
    ledger.finish_run(run)
    # Read back through a fresh connection to the same file.
    with Ledger.open(str(tmp_path / "ledger.db")) as other:
        back = other.get_run(run.run_id)
    assert back == run
    assert back.energy.label == "mixed: measured + integrated"


def test_finish_run_replaces_rows_and_keeps_incremental_samples(ledger: Ledger) -> None:
    rid = uuid.uuid4().hex
    ledger.begin_run(rid, "job", "2025-03-01T10:00:00+00:00", ["sleep", "1"], {}, [RAPL, GPU])
    appended = [Sample(RAPL.device_id, t, None, 10.0 * t) for t in (0.0, 0.5, 1.0)]
    ledger.append_samples(rid, appended)
    ledger.append_gaps(rid, [Gap(GPU.device_id, 0.2, None, "timeout")])
    ledger.append_gaps(rid, [Gap(GPU.device_id, 0.2, 0.7, "timeout")])  # the same gap, closed
    result = RunResult(
        run_id=rid,
        name="job",
        started_at="2025-03-01T10:00:00+00:00",
        duration_s=1.0,
        components=(comp(RAPL, 10.0),),
        status="failed",
        command=("sleep", "1"),
        exit_code=3,
    )
    ledger.finish_run(result)
    ledger.finish_run(result)  # finishing twice does not duplicate rows
    back = ledger.get_run(rid)
    assert back.status == "failed" and back.exit_code == 3
    assert back.components == (comp(RAPL, 10.0),)
    assert back.samples == tuple(appended)
    assert back.gaps == (Gap(GPU.device_id, 0.2, 0.7, "timeout"),)
    [summary] = ledger.list_runs()
    assert (summary.status, summary.total_energy_j, summary.provenance) == (
        "failed",
        10.0,
        "measured",
    )
    assert summary.duration_s == 1.0 and summary.command == ("sleep", "1")


def test_crashed_recorder_is_listed_interrupted_with_derived_energy(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    rid = uuid.uuid4().hex
    with Ledger.open(db) as writer:
        writer.begin_run(
            rid, "crashy", "2025-03-01T10:00:00+00:00", None, {}, [RAPL, GPU, MODEL], pid=dead_pid()
        )
        writer.append_samples(
            rid,
            [Sample(RAPL.device_id, t, None, 100.0 + 30.0 * t) for t in (0.0, 1.0, 2.0)]
            + [Sample(GPU.device_id, t, 100.0 + 10.0 * t, None) for t in (0.0, 1.0, 2.0)]
            + [Sample(MODEL.device_id, t, 20.0, None) for t in (0.0, 2.0)],
        )
    with Ledger.open(db) as reader:
        [summary] = reader.list_runs()
        run = reader.get_run(rid)
    assert summary.status == run.status == "interrupted"
    by_dev = {c.device_id: c for c in run.components}
    assert by_dev[RAPL.device_id].energy_j == pytest.approx(60.0)  # last minus first counter
    assert by_dev[RAPL.device_id].provenance is Provenance.MEASURED
    # Trapezoid of 100 -> 110 -> 120 W over 2 s.
    assert by_dev[GPU.device_id].energy_j == pytest.approx(220.0)
    assert by_dev[GPU.device_id].provenance is Provenance.INTEGRATED
    assert by_dev[MODEL.device_id].provenance is Provenance.ESTIMATED  # a model stays a model
    assert summary.total_energy_j == pytest.approx(60.0 + 220.0 + 40.0)
    assert summary.provenance == "mixed: measured + integrated + estimated"
    assert summary.duration_s >= 2.0
    assert any("gone" in n for n in run.notes)
    assert len(run.samples) == 8


def test_live_run_is_running_until_its_heartbeat_goes_stale(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    rid = uuid.uuid4().hex
    with Ledger.open(db) as writer, Ledger.open(db, stale_after_s=0.3) as reader:
        writer.begin_run(rid, "live", "2025-03-01T10:00:00+00:00", None, {}, [RAPL])
        writer.append_samples(rid, [Sample(RAPL.device_id, 0.0, None, 5.0)])
        assert reader.list_runs()[0].status == "running"  # this process is alive and beating
        time.sleep(0.5)
        assert reader.list_runs()[0].status == "interrupted"
        writer.heartbeat(rid)
        assert reader.get_run(rid).status == "running"


def test_mark_interrupted_stores_derived_energy(ledger: Ledger) -> None:
    rid = uuid.uuid4().hex
    ledger.begin_run(rid, "job", "2025-03-01T10:00:00+00:00", None, {}, [RAPL])
    ledger.append_samples(rid, [Sample(RAPL.device_id, t, None, 7.0 * t) for t in (0.0, 1.0, 3.0)])
    result = ledger.mark_interrupted(rid, "SIGTERM received twice")
    assert result.status == "interrupted"
    assert [c.energy_j for c in result.components] == [pytest.approx(21.0)]
    assert "SIGTERM received twice" in result.notes
    assert ledger.get_run(rid).components == result.components
    finished = full_run()
    ledger.finish_run(finished)
    with pytest.raises(LedgerError, match="already ended"):
        ledger.mark_interrupted(finished.run_id)


def test_prefix_lookup(ledger: Ledger) -> None:
    ledger.finish_run(full_run("abc111" + "0" * 26))
    ledger.finish_run(full_run("abc222" + "0" * 26))
    assert ledger.get_run("abc2").run_id == "abc222" + "0" * 26
    assert ledger.resolve_run_id("abc111") == "abc111" + "0" * 26
    with pytest.raises(LedgerError, match="ambiguous") as ambiguous:
        ledger.get_run("abc")
    assert "abc111" in str(ambiguous.value) and "abc222" in str(ambiguous.value)
    with pytest.raises(LedgerError, match="no run"):
        ledger.get_run("ffff")
    with pytest.raises(LedgerError, match="no run"):
        ledger.get_run("abc%")  # LIKE wildcards are taken literally


def test_export_json_parses_back(ledger: Ledger) -> None:
    runs = [full_run(), full_run()]
    for r in runs:
        ledger.finish_run(r)
    buf = io.StringIO()
    assert ledger.export("json", buf) == 2
    docs = json.loads(buf.getvalue())
    assert {d["run_id"] for d in docs} == {r.run_id for r in runs}
    doc = docs[0]
    assert doc["energy"]["total_j"] == pytest.approx(2500.25)
    assert doc["energy"]["provenance"] == "mixed: measured + integrated"
    assert {c["device"] for c in doc["energy"]["components"]} == {RAPL.device_id, GPU.device_id}
    assert doc["energy_per"]["tokens"] == pytest.approx(2500.25 / 1024)
    assert doc["windows"][1]["parent"] == "epoch"
    assert "samples" not in doc
    back = run_from_dict(doc)
    original = next(r for r in runs if r.run_id == doc["run_id"])
    assert back.components == original.components and back.windows == original.windows
    # with samples, a document is a complete round trip
    buf = io.StringIO()
    ledger.export("json", buf, [runs[0].run_id[:8]], include_samples=True)
    [full] = json.loads(buf.getvalue())
    assert run_from_dict(full) == runs[0]
    assert run_to_dict(runs[0], include_samples=True) == full


def test_export_csv_parses_back(ledger: Ledger) -> None:
    run = full_run()
    ledger.finish_run(run)
    empty = RunResult(uuid.uuid4().hex, "empty", "2025-03-02T00:00:00+00:00", 1.0, ())
    ledger.finish_run(empty)
    buf = io.StringIO()
    ledger.export("csv", buf)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert [r["run_id"] for r in rows] == [run.run_id, run.run_id, empty.run_id]
    assert {r["device"]: float(r["energy_j"]) for r in rows[:2]} == {
        RAPL.device_id: 500.25,
        GPU.device_id: 2000.0,
    }
    assert rows[0]["provenance"] in ("measured", "integrated")
    assert rows[2]["device"] == "" and rows[2]["status"] == "finished"
    with pytest.raises(LedgerError, match="unknown export format"):
        ledger.export("xml", io.StringIO())


def test_empty_export_is_valid_json(ledger: Ledger) -> None:
    buf = io.StringIO()
    assert ledger.export("json", buf) == 0
    assert json.loads(buf.getvalue()) == []


def test_extra_json(ledger: Ledger) -> None:
    run = full_run()
    ledger.finish_run(run)
    assert ledger.get_extra(run.run_id) == {}
    ledger.set_extra(run.run_id, "footprint", {"co2_g": 12.5, "region": "FR"})
    ledger.set_extra(run.run_id, "pue", 1.2)
    ledger.finish_run(run)  # storing the run again keeps extra
    assert ledger.get_extra(run.run_id) == {
        "footprint": {"co2_g": 12.5, "region": "FR"},
        "pue": 1.2,
    }
    with pytest.raises(LedgerError, match="JSON"):
        ledger.set_extra(run.run_id, "bad", object())
    with pytest.raises(LedgerError, match="no run"):
        ledger.get_extra("nope")


def test_writes_to_unknown_or_duplicate_runs_fail_clearly(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="no run x"):
        ledger.append_samples("x", [Sample(RAPL.device_id, 0.0, 1.0, None)])
    with pytest.raises(LedgerError, match="no run x"):
        ledger.heartbeat("x")
    ledger.begin_run("r1", "a", "2025-03-01T10:00:00+00:00", None, {}, [])
    with pytest.raises(LedgerError, match="already exists"):
        ledger.begin_run("r1", "a", "2025-03-01T10:00:00+00:00", None, {}, [])
    bad = RunResult("r2", "a", "2025-03-01T10:00:00+00:00", 1.0, (), status="exploded")
    with pytest.raises(LedgerError, match="invalid run status"):
        ledger.finish_run(bad)


def test_list_runs_newest_first_and_limit(ledger: Ledger) -> None:
    for day in (3, 1, 2):
        ledger.finish_run(
            RunResult(f"run{day}", f"r{day}", f"2025-03-0{day}T00:00:00+00:00", 1.0, ())
        )
    assert [s.run_id for s in ledger.list_runs()] == ["run3", "run2", "run1"]
    assert [s.run_id for s in ledger.list_runs(limit=1)] == ["run3"]
    assert ledger.list_runs()[0].provenance == "none"
