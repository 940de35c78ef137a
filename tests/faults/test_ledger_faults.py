"""The ledger under faults while a run is recorded: nothing lost, and never a false "stored".

Each test records a real run (a fake 50 W energy counter, the real tracker and sampler thread)
in a separate process into a real SQLite file, breaks the ledger mid-run — a lock held by another
process, a read-only file, a deleted or damaged file, a full disk — and checks that the run lands
complete (status, duration, energy) once the ledger can take it, and that what wattwise said
about it was true. The full-disk fault needs a private mount namespace (``unshare -m``, root)
for a small tmpfs; the read-only fault runs the recorder as a user that file modes apply to
(``setpriv`` to ``nobody`` when the tests run as root, who ignores them). Each is skipped,
saying why, where the machine does not allow it.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.faultkit import (
    RECORDER,
    as_writer,
    in_namespace,
    mount_namespaces,
    record,
    shared_dir,
    unprivileged,
)
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
    assert 0 < samples <= doc["samples"]  # the timeline from the deletion on ...
    with Ledger.open(str(db), readonly=True) as led:  # ... and a note saying what went with it
        notes = led.get_run(doc["run_id"]).notes
    assert any(n.startswith("ledger: the ledger file") and "stayed in that file" in n
               for n in notes)


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


@pytest.fixture
def writer_dir() -> Iterator[tuple[list[str], Path]]:
    """(prefix that runs the writer unprivileged, a folder it owns); skipped where impossible."""
    prefix, why = unprivileged()
    if why:
        pytest.skip(why)
    d = shared_dir()
    try:
        yield prefix, d
    finally:
        for p in [d, *d.rglob("*")]:
            if p.is_dir():
                p.chmod(0o777)
        shutil.rmtree(d, ignore_errors=True)


def test_read_only_ledger_mid_run_is_spooled_then_replayed_at_next_open(
    writer_dir: tuple[list[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The recorder runs as a user the file modes apply to (root ignores them): at 1 s it makes
    # its own ledger file 0444 and the folder 0555.
    prefix, root = writer_dir
    d = root / "d"
    d.mkdir()
    if prefix:  # the folder belongs to the recorder's user, who makes it read-only
        os.chown(d, 65534, 65534)
    db = d / "ledger.db"
    out = as_writer(prefix, [sys.executable, str(RECORDER), str(db), "3", "--at", "1",
                             f"chmod 0444 {db} && chmod 0555 {d}"], root)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout.strip().splitlines()[-1])
    assert doc["state"] == "spooled", doc
    assert "read-only" in doc["detail"]
    spool = Path(doc["spool"])
    assert spool.is_relative_to(root / "state")  # the ledger's folder was read-only
    d.chmod(0o755)
    db.chmod(0o644)
    monkeypatch.setenv("XDG_STATE_HOME", str(root / "state"))
    with Ledger.open(str(db)) as led:
        assert len(led.replayed) == 1
    assert not spool.exists()
    status, duration_s, energy_j, _ = _stored_run(db, doc["run_id"])
    assert status == "finished" and duration_s == pytest.approx(doc["duration_s"])
    assert energy_j == pytest.approx(POWER_W * duration_s, rel=0.02)


@needs_mounts
def test_full_disk_mid_run_never_loses_the_run_nor_says_stored_falsely(tmp_path: Path) -> None:
    fill = "dd if=/dev/zero of=t/fill{} bs=4k 2>/dev/null; true"
    out = in_namespace(
        "mkdir t && mount -t tmpfs -o size=1m tmpfs t\n"
        "\"$PY\" -c 'from wattwise.ledger import Ledger; Ledger.open(\"t/ledger.db\").close()'\n"
        f'"$PY" "$REC" t/ledger.db 3 --at 1 "{fill.format(1)}" --at 2.9 "{fill.format(2)}"'
        " > rec.json 2> rec-err.txt\n"
        "rm t/fill*\n"
        "\"$PY\" -c 'import json; from wattwise.ledger import Ledger\n"
        "doc = json.load(open(\"rec.json\")); led = Ledger.open(\"t/ledger.db\")\n"
        "r = led.get_run(doc[\"run_id\"])\n"
        "print(json.dumps([doc, led.replayed, r.status, r.duration_s, r.energy.total_j]))'\n",
        tmp_path,
    )
    doc, replayed, status, duration_s, energy_j = json.loads(out.strip().splitlines()[-1])
    assert "the disk is full" in (tmp_path / "rec-err.txt").read_text()  # the fault was hit
    if doc["state"] == "stored":  # the final write got space back (a WAL checkpoint freed it)
        assert not replayed
    else:  # what was said is what happened: spooled outside the full disk, replayed later
        assert doc["state"] == "spooled", doc
        spool = Path(doc["spool"])  # beside the ledger if a checkpoint freed room, else outside
        assert spool.is_relative_to(tmp_path / "state") or spool.parent == tmp_path / "t" / (
            "ledger.db.spool"
        )
        assert len(replayed) == 1
    assert status == "finished" and duration_s == pytest.approx(doc["duration_s"])
    assert energy_j == pytest.approx(POWER_W * duration_s, rel=0.02)
