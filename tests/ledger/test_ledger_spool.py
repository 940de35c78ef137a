"""The spool: where writes go when the database cannot take them, and their replay.

Spooling is triggered here by a real fault — the ledger file deleted under an open ledger — and
replayed by a real open of a real SQLite file.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from wattwise.ledger import Ledger
from wattwise.ledger.ops import Op, from_record, to_record
from wattwise.ledger.outcome import WriteOutcome
from wattwise.ledger.spool import SpoolRecord, spool_dirs
from wattwise.readers.base import DeviceInfo, Provenance
from wattwise.tracker.model import ComponentEnergy, Gap, RunResult, Sample

DEV = DeviceInfo("rapl:package-0", "cpu", "package-0", Provenance.MEASURED, "powercap")


@pytest.fixture(autouse=True)
def _state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def _result(rid: str, samples: tuple[Sample, ...] = ()) -> RunResult:
    comp = ComponentEnergy(DEV.device_id, "cpu", "package-0", 40.0, Provenance.MEASURED, "pc")
    return RunResult(rid, "spooled", "2025-03-01T10:00:00+00:00", 4.0, (comp,),
                     counts={"tokens": 8.0}, samples=samples, status="finished", exit_code=0)


def _spool_a_run(db: Path) -> tuple[str, Path, list[Sample]]:
    """Record a run whose ledger file is deleted after its start: everything after is spooled.

    Returns the run id, the spool file and the samples appended after the deletion."""
    rid = uuid.uuid4().hex
    led = Ledger.open(str(db))
    led.begin_run(rid, "spooled", "2025-03-01T10:00:00+00:00", ["job"], {}, [DEV])
    led.append_samples(rid, [Sample(DEV.device_id, 0.0, None, 0.0)])
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    later = [Sample(DEV.device_id, float(t), None, 10.0 * t) for t in range(1, 5)]
    led.append_samples(rid, later[:2])
    led.append_gaps(rid, [Gap(DEV.device_id, 2.5, 3.0, "blip")])
    led.append_samples(rid, later[2:])
    led.heartbeat(rid)
    led.finish_run(_result(rid))  # no samples: the ledger keeps those appended
    led.set_extra(rid, "context", {"country": "FR"})
    outcome = led.outcome(rid)
    led.close()
    assert outcome.state == "spooled" and outcome.spool_path is not None
    return rid, Path(outcome.spool_path), later


def test_spooled_run_is_replayed_in_order_at_the_next_open(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    rid, spool, later = _spool_a_run(db)
    assert spool.parent == tmp_path / "ledger.db.spool"
    ops = [json.loads(line)["op"] for line in spool.read_text().splitlines()]
    # the run's start, then what could not be written, then a note of what the old file kept
    assert ops == ["begin_run", "append_samples", "heartbeat", "append_gaps", "append_samples",
                   "heartbeat", "finish_run", "set_extra"]
    with Ledger.open(str(db)) as led:
        assert led.replayed and not spool.exists()
        run = led.get_run(rid)
        assert led.get_extra(rid) == {"context": {"country": "FR"}}
    assert run.status == "finished" and run.counts == {"tokens": 8.0}
    assert run.samples == tuple(later)  # the ones before the deletion went with the old file
    assert run.gaps == (Gap(DEV.device_id, 2.5, 3.0, "blip"),)
    assert any(n.startswith("ledger: the ledger file") for n in run.notes)  # kept by finish_run


def test_replaying_a_spool_twice_adds_nothing(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    rid, spool, later = _spool_a_run(db)
    backup = tmp_path / "backup.jsonl"
    shutil.copy(spool, backup)
    Ledger.open(str(db)).close()  # replayed, spool removed
    shutil.copy(backup, spool)  # as if the process died between the commit and the removal
    with Ledger.open(str(db)) as led:
        assert led.replayed and not spool.exists()
        run = led.get_run(rid)
    assert run.samples == tuple(later)
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM samples").fetchone()[0] == len(later)
        assert con.execute("SELECT count(*) FROM gaps").fetchone()[0] == 1
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
        totals = con.execute("SELECT counter_n, counter_sum_j FROM run_totals").fetchall()
    assert totals == [(len(later), pytest.approx(30.0))]


def test_torn_last_line_of_a_killed_writer_is_skipped(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    rid, spool, _ = _spool_a_run(db)
    with spool.open("a") as f:
        f.write('{"v":1,"op":"append_samples","run_id":"' + rid + '","seq":99,"da')
    with Ledger.open(str(db)) as led:
        assert led.get_run(rid).status == "finished"
    assert not spool.exists()


def test_spool_held_by_a_live_writer_is_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    rid, spool, _ = _spool_a_run(db)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, sys, time\nf = open(sys.argv[1], 'a')\n"
         "fcntl.flock(f, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(30)", str(spool)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with Ledger.open(str(db)) as led:
            assert led.replayed == [] and spool.exists()
            assert led.pending_spool() == [spool]
    finally:
        holder.kill()
        holder.wait()
    with Ledger.open(str(db)) as led:
        assert led.get_run(rid).status == "finished"


def test_spool_goes_to_the_state_dir_when_the_ledger_folder_cannot_take_it(
    tmp_path: Path,
) -> None:
    db = tmp_path / "ledger.db"
    (tmp_path / "ledger.db.spool").write_text("a file where the spool folder would go")
    rid, spool, _ = _spool_a_run(db)
    assert spool.parent == spool_dirs(Ledger.open(str(db), readonly=True).location)[1]
    assert spool.is_relative_to(tmp_path / "state" / "wattwise" / "spool")
    assert "LEDGER.txt" in os.listdir(spool.parent)
    with Ledger.open(str(db)) as led:
        assert led.get_run(rid).status == "finished"


def test_run_is_reported_lost_when_no_spool_can_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "ledger.db"
    (tmp_path / "ledger.db.spool").write_text("blocked")
    (tmp_path / "state-file").write_text("blocked")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state-file"))
    rid = uuid.uuid4().hex
    with Ledger.open(str(db)) as led:
        led.begin_run(rid, "doomed", "2025-03-01T10:00:00+00:00", None, {}, [DEV])
        db.unlink()
        led.finish_run(_result(rid))  # returns normally ...
        outcome = led.outcome(rid)
    assert outcome.state == "lost"  # ... and says the truth
    assert "deleted or replaced" in outcome.detail and "no spool could be written" in outcome.detail
    assert outcome.line().startswith("NOT stored in the ledger: ")


def test_outcome_of_a_run_that_never_finished_is_not_stored(tmp_path: Path) -> None:
    with Ledger.open(str(tmp_path / "ledger.db")) as led:
        led.begin_run("r1", "a", "2025-03-01T10:00:00+00:00", None, {}, [DEV])
        assert led.outcome("r1").state == "lost"
        assert "interrupted" in led.outcome("r1").detail
        led.finish_run(_result("r1"))
        assert led.outcome("r1") == WriteOutcome("stored", "", "r1")
        assert led.outcome("r1").line() == "stored in the ledger: wattwise runs show r1"
        assert led.outcome("nope").state == "lost"


def test_outcome_lines() -> None:
    spooled = WriteOutcome("spooled", "ledger x is locked", "abc", "/s/abc.jsonl")
    assert spooled.line() == (
        "NOT yet in the ledger (ledger x is locked): spooled to /s/abc.jsonl, replayed at the "
        "ledger's next open"
    )
    assert WriteOutcome("lost", "disk full").line() == "NOT stored in the ledger: disk full"
    with pytest.raises(ValueError):
        WriteOutcome("maybe")


def test_spool_records_round_trip() -> None:
    rid = "r" * 32
    samples = [Sample(DEV.device_id, 1.5, 20.0, None), Sample(DEV.device_id, 2.0, None, 9.5)]
    ops = [
        Op("begin_run", rid, "2025-03-01T10:00:00+00:00", {
            "name": "n", "started_at": "2025-03-01T10:00:00+00:00", "command": ["a", "b"],
            "host": {"h": "x"}, "devices": [DEV], "pid": 7, "pid_host": "host", "pid_ct": 1.5}),
        Op("append_samples", rid, "t", {"samples": samples, "notes": ["n1"]}),
        Op("append_gaps", rid, "t", {"gaps": [Gap(DEV.device_id, 1.0, None, "e")], "notes": []}),
        Op("heartbeat", rid, "t", {}),
        Op("finish_run", rid, "t", {"result": _result(rid, tuple(samples))}),
        Op("set_extra", rid, "t", {"key": "k", "value": {"a": [1, None]}, "refused": 1}),
    ]
    for seq, op in enumerate(ops, 1):
        op.seq = seq
        line = to_record(op).to_line()
        json.loads(line, parse_constant=lambda c: pytest.fail(c))
        back = from_record(SpoolRecord.from_line(line))  # type: ignore[arg-type]
        assert (back.name, back.run_id, back.seq, back.data) == (op.name, rid, seq, op.data)
    assert SpoolRecord.from_line('{"op": "x"') is None
