"""The ledger under faults while a run is recorded: nothing lost, and never a false "stored".

Each test records a real run (a fake 50 W energy counter, the real tracker and sampler thread)
in a separate process into a real SQLite file, breaks the ledger mid-run — a lock held by another
process, a read-only mount, a deleted or damaged file, a full disk — and checks that the run
lands complete (status, duration, energy) once the ledger can take it, and that what wattwise
said about it was true. Read-only and full-disk faults need a private mount namespace
(``unshare -m``, root): they are skipped, saying so, where the machine does not allow one.
"""

from __future__ import annotations

import itertools
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from ledger.faultkit import in_namespace, mount_namespaces, record
from wattwise.errors import LedgerError
from wattwise.ledger import Ledger

POWER_W = 50.0
needs_mounts = pytest.mark.skipif(bool(mount_namespaces()), reason=mount_namespaces() or "ok")


@pytest.fixture(autouse=True)
def _state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Spools out of the user's state directory; the same one as the recorder's."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def _stored_run(db: Path, run_id: str) -> tuple[str, float, float, int]:
    """(status, duration_s, energy_j, samples) of the run as the ledger holds it."""
    with Ledger.open(str(db), readonly=True) as led:
        run = led.get_run(run_id)
    return run.status, run.duration_s, run.energy.total_j, len(run.samples)


def _new_ledger(db: Path) -> None:
    Ledger.open(str(db)).close()


def test_lock_held_12s_mid_run_is_waited_out_and_the_run_is_complete(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    _new_ledger(db)
    doc = record(tmp_path, db, 16.0, (1.0, f'"$PY" -c "$LOCKER" {db} 12 >/dev/null &'))
    assert doc["state"] == "stored", doc
    assert doc["line"].startswith("stored in the ledger: wattwise runs show")
    status, duration_s, energy_j, _ = _stored_run(db, doc["run_id"])
    assert status == "finished"
    assert duration_s == pytest.approx(doc["duration_s"]) and duration_s >= 16.0
    assert energy_j == pytest.approx(POWER_W * duration_s, rel=0.02)
    with sqlite3.connect(db) as con:  # the recorder really was held up by the lock ...
        times = [r[0] for r in con.execute(
            "SELECT t_s FROM samples WHERE run_id = ? ORDER BY t_s", (doc["run_id"],))]
    assert max(b - a for a, b in itertools.pairwise(times)) > 5.0
    assert times[-1] >= duration_s - 0.5  # ... and its timeline still reaches the end


def test_lock_past_the_write_budget_is_spooled_then_replayed_mid_run(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    _new_ledger(db)
    doc = record(
        tmp_path, db, 15.0, (1.0, f'"$PY" -c "$LOCKER" {db} 8 >/dev/null &'), budget_s=1.0
    )
    assert doc["state"] == "stored", doc  # replayed by a probe once the lock was gone
    status, duration_s, energy_j, _ = _stored_run(db, doc["run_id"])
    assert status == "finished" and duration_s >= 15.0
    assert energy_j == pytest.approx(POWER_W * duration_s, rel=0.02)
    assert not list((tmp_path / "ledger.db.spool").glob("*.jsonl"))


def test_deleted_ledger_file_mid_run_is_spooled_and_replayed_into_a_new_ledger(
    tmp_path: Path,
) -> None:
    db = tmp_path / "ledger.db"
    _new_ledger(db)
    doc = record(tmp_path, db, 3.0, (1.0, f"rm -f {db} {db}-wal {db}-shm"))
    assert doc["state"] == "spooled", doc
    assert "deleted or replaced" in doc["detail"]
    spool = Path(doc["spool"])
    assert spool.parent == tmp_path / "ledger.db.spool" and spool.is_file()
    assert "NOT yet in the ledger" in doc["line"] and str(spool) in doc["line"]
    with Ledger.open(str(db)) as led:  # the next open re-creates the ledger and replays
        assert len(led.replayed) == 1
    assert not spool.exists()
    status, duration_s, energy_j, samples = _stored_run(db, doc["run_id"])
    assert status == "finished" and duration_s == pytest.approx(doc["duration_s"])
    assert energy_j == pytest.approx(POWER_W * duration_s, rel=0.02)
    assert samples == doc["samples"]  # the final write carried the whole timeline


def test_damaged_ledger_mid_run_is_spooled_and_kept_until_it_can_be_replayed(
    tmp_path: Path,
) -> None:
    db = tmp_path / "ledger.db"
    _new_ledger(db)
    damage = f"dd if=/dev/urandom of={db} bs=512 count=4 conv=notrunc 2>/dev/null"
    doc = record(tmp_path, db, 3.0, (1.0, damage))
    assert doc["state"] == "spooled", doc
    spool = Path(doc["spool"])
    with pytest.raises(LedgerError) as err:  # one line; the spool is kept
        Ledger.open(str(db))
    assert "\n" not in str(err.value) and str(db) in str(err.value)
    assert spool.is_file()
    for suffix in ("", "-wal", "-shm"):  # the user moves the damaged file away
        if Path(f"{db}{suffix}").exists():
            shutil.move(f"{db}{suffix}", f"{db}{suffix}.damaged")
    with Ledger.open(str(db)) as led:
        assert len(led.replayed) == 1
    status, duration_s, energy_j, _ = _stored_run(db, doc["run_id"])
    assert status == "finished"
    assert energy_j == pytest.approx(POWER_W * duration_s, rel=0.02)


@needs_mounts
def test_read_only_ledger_mid_run_is_spooled_then_replayed_at_next_open(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    _new_ledger(tmp_path / "d" / "ledger.db")
    out = in_namespace(
        'mount --bind d d\n"$PY" "$REC" d/ledger.db 3 --at 1 "mount -o remount,bind,ro d"',
        tmp_path,
    )
    doc = json.loads(out.strip().splitlines()[-1])
    assert doc["state"] == "spooled", doc
    assert "read-only" in doc["detail"]
    spool = Path(doc["spool"])
    assert spool.is_relative_to(tmp_path / "state")  # the ledger's folder was read-only
    db = tmp_path / "d" / "ledger.db"
    with Ledger.open(str(db)) as led:
        assert len(led.replayed) == 1
    assert not spool.exists()
    status, duration_s, energy_j, _ = _stored_run(db, doc["run_id"])
    assert status == "finished" and duration_s == pytest.approx(doc["duration_s"])
    assert energy_j == pytest.approx(POWER_W * duration_s, rel=0.02)


@needs_mounts
def test_full_disk_mid_run_spools_outside_it_and_replays_once_space_is_freed(
    tmp_path: Path,
) -> None:
    out = in_namespace(
        "mkdir t && mount -t tmpfs -o size=1m tmpfs t\n"
        "\"$PY\" -c 'from wattwise.ledger import Ledger; Ledger.open(\"t/ledger.db\").close()'\n"
        '"$PY" "$REC" t/ledger.db 3 --at 1 "dd if=/dev/zero of=t/fill bs=16k 2>/dev/null; true"'
        " > rec.json\n"
        "rm t/fill\n"
        "\"$PY\" -c 'import sys, json; from wattwise.ledger import Ledger\n"
        "doc = json.load(open(\"rec.json\")); led = Ledger.open(\"t/ledger.db\")\n"
        "r = led.get_run(doc[\"run_id\"])\n"
        "print(json.dumps([doc, led.replayed, r.status, r.duration_s, r.energy.total_j]))'\n",
        tmp_path,
    )
    doc, replayed, status, duration_s, energy_j = json.loads(
        out.strip().splitlines()[-1]
    )
    assert doc["state"] == "spooled", doc
    assert Path(doc["spool"]).is_relative_to(tmp_path / "state")  # not on the full disk
    assert len(replayed) == 1 and status == "finished"
    assert duration_s == pytest.approx(doc["duration_s"])
    assert energy_j == pytest.approx(POWER_W * duration_s, rel=0.02)
