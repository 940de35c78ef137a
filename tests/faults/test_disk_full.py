"""A ledger on a full filesystem: the run is not lost, and wattwise says where it went.

Two ways to fill the disk, both with a real ``wattwise run`` CLI process:

* ``tmpfs``: the ledger lives on a 1 MiB tmpfs (``mount -t tmpfs -o size=1m``, needs root; where
  mounting is refused, the dbapi fake below stands in). It is filled with a filler file, before
  the run or by the tracked command itself mid-run (as a job writing checkpoints would). SQLite
  then fails with ``database or disk is full`` / ``disk I/O error`` — the real thing, on every
  write path.
* ``dbapi``: where no filesystem can be mounted (the ``tmpfs`` case then runs this instead), the
  closest fake: a ``sitecustomize`` in the
  recorder's ``PYTHONPATH`` makes every SQLite write statement raise ``sqlite3.OperationalError
  ("database or disk is full")`` (what SQLite reports for ENOSPC) while a flag file exists. It
  runs everywhere, also where tmpfs works, since it isolates the ledger's reaction from what the
  filesystem does to other files (there, in the slow suite: ``make test-slow``).

The recorder is the CLI (``wattwise run -- python -c ...``) or the Python API
(``wattwise.api.tracker(store=DB)``, whose ``stored`` and notes must tell the truth the same
way). In all cases,
after the run: the command's exit code is wattwise's; "stored in the ledger" is printed
only if the run really is in the ledger, finished (checked with plain sqlite3, before wattwise
opens the ledger again); otherwise the summary names an existing place where the run went. Once
space is back, ``wattwise runs list`` shows the run finished with the energy the run printed, and
``PRAGMA integrity_check`` is ok.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli.clirun import SRC, cli_env, wattwise
from faults.childcode import COUNTER_100W, FILL_OR_FLAG

FAKE_FULL = """
import os, sqlite3, sqlite3.dbapi2

_FLAG = os.environ.get("WATTWISE_TEST_DISK_FULL_FLAG")
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")


def _check(sql):
    if _FLAG and os.path.exists(_FLAG) and str(sql).lstrip().upper().startswith(_WRITES):
        raise sqlite3.OperationalError("database or disk is full")


class _Cursor(sqlite3.Cursor):
    def execute(self, sql, *args):
        _check(sql)
        return super().execute(sql, *args)

    def executemany(self, sql, *args):
        _check(sql)
        return super().executemany(sql, *args)


class _Connection(sqlite3.Connection):
    def cursor(self, factory=_Cursor):
        return super().cursor(factory)

    def execute(self, sql, *args):
        return self.cursor().execute(sql, *args)

    def executemany(self, sql, *args):
        return self.cursor().executemany(sql, *args)


_connect = sqlite3.dbapi2.connect


def connect(*args, **kwargs):
    kwargs.setdefault("factory", _Connection)
    return _connect(*args, **kwargs)


if _FLAG:
    sqlite3.connect = sqlite3.dbapi2.connect = connect
"""

#: The tracked command: optionally fill the disk (``fill:PATH``) or raise the fake's flag
#: (``flag:PATH``), then keep running past the tracker's 2 s flush, so a mid-run write and the
#: final write both meet the full disk.
COMMAND = FILL_OR_FLAG + """
import sys, time
if fill_or_flag(sys.argv[1]):
    print("disk full", flush=True)
time.sleep(2.4)
"""

#: A Python-API recorder (``wattwise.api.tracker(store=DB)``, a 100 W fake counter): fills the
#: disk per its argument as COMMAND does, keeps recording past a few flushes, prints what the
#: tracker said.
API_RECORDER = COUNTER_100W + FILL_OR_FLAG + """
db, arg = sys.argv[1], sys.argv[2]
t = Tracker("api-full", readers=[Counter100W()], interval_s=0.05, flush_interval_s=0.2, store=db)
t.start()
fill_or_flag(arg)
time.sleep(0.8)
r = t.stop()
print(json.dumps({"run_id": r.run_id, "total_j": r.energy.total_j, "status": r.status,
                  "stored": t.stored, "notes": list(r.notes)}))
"""


@dataclass
class FullDisk:
    """A ledger location whose writes fail on demand (``fill``) until ``free``."""

    kind: str
    db: Path
    env: dict[str, str]
    filler: Path  # the filler file (tmpfs) or the flag file (dbapi)

    def fill(self) -> None:
        if self.kind == "dbapi":
            self.filler.write_text("full\n")
            return
        with open(self.filler, "ab", buffering=0) as f:
            for size in (65536, 4096, 1):
                try:
                    while True:
                        f.write(b"x" * size)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def mid_run_arg(self) -> str:
        """The tracked command's argument that fills the disk while it runs."""
        return f"{'flag' if self.kind == 'dbapi' else 'fill'}:{self.filler}"


def _mount_tmpfs(where: Path) -> bool:
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    where.mkdir()
    p = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)],
        capture_output=True,
        timeout=30,
    )
    return p.returncode == 0


# The default suite fills a real tmpfs where one can be mounted and falls back to the dbapi fake
# where not (never neither); the dbapi case beside a working tmpfs is in the slow suite.
@pytest.fixture(params=["tmpfs", pytest.param("dbapi", marks=pytest.mark.slow)])
def full_disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FullDisk]:
    env = {"WATTWISE_POWERCAP_ROOT": str(tmp_path / "no-powercap")}
    mnt = tmp_path / "tmpfs"
    if request.param == "tmpfs" and _mount_tmpfs(mnt):
        try:
            yield FullDisk("tmpfs", mnt / "ledger.db", env, mnt / "filler")
        finally:
            if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
        return
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(FAKE_FULL)
    flag = tmp_path / "disk-is-full"
    env["PYTHONPATH"] = os.pathsep.join([SRC, str(site), os.environ.get("PYTHONPATH", "")])
    env["WATTWISE_TEST_DISK_FULL_FLAG"] = str(flag)
    yield FullDisk("dbapi", tmp_path / "ledger.db", env, flag)


def _run(disk: FullDisk, fill_arg: str) -> subprocess.CompletedProcess[str]:
    return wattwise(
        "run", "--json", "--interval", "0.1", "--db", str(disk.db), "--",
        sys.executable, "-c", COMMAND, fill_arg, timeout=120, **disk.env,
    )  # fmt: skip


def _raw_status(db: Path, run_id: str) -> str | None:
    """The run's stored status, read with plain sqlite3 (no wattwise: no replay, no repair)."""
    con = sqlite3.connect(db, timeout=30)
    try:
        row = con.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else str(row[0])
    finally:
        con.close()


def _integrity(db: Path) -> str:
    con = sqlite3.connect(db, timeout=30)
    try:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()


def _check_truthful_and_not_lost(disk: FullDisk, p: subprocess.CompletedProcess[str]) -> None:
    assert p.returncode == 0, p.stderr[-1500:]  # the command's own exit code
    doc = json.loads(p.stdout)  # valid JSON whatever happened to the ledger
    run_id, total_j = doc["run_id"], doc["energy"]["total_j"]
    assert doc["status"] == "finished"
    summary = p.stderr
    assert "lost" not in summary.lower(), summary[-1500:]
    disk.free()
    _check_claim(disk, run_id, "stored in the ledger" in summary, summary)
    _check_listed(disk, run_id, total_j, summary)


def _check_claim(disk: FullDisk, run_id: str, says_stored: bool, said: str) -> None:
    """A claim of 'stored' is true; otherwise what was said names an existing place."""
    if says_stored:
        assert _raw_status(disk.db, run_id) == "finished", (
            "said the run is stored but it is not stored finished:\n" + said[-1500:]
        )
        return
    places = [Path(m) for m in re.findall(r"(/[^\s'\"`:;,()]+)", said)]
    places = [q for q in places if q.exists() and q != disk.db]
    assert places, "nothing says where the run went:\n" + said[-1500:]


def _check_listed(disk: FullDisk, run_id: str, total_j: float, summary: str) -> None:
    # Space is back: the next wattwise command on the ledger shows the run, nothing lost.
    listed = wattwise("runs", "list", "--json", "--db", str(disk.db), **disk.env)
    assert listed.returncode == 0, listed.stderr
    runs = {r["run_id"]: r for r in json.loads(listed.stdout)}
    assert run_id in runs, f"run {run_id} lost: {summary[-1500:]}"
    assert runs[run_id]["status"] == "finished"
    assert runs[run_id]["total_energy_j"] == pytest.approx(total_j, rel=1e-6, abs=1e-9)
    shown = wattwise("runs", "show", run_id, "--json", "--db", str(disk.db), **disk.env)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["run_id"] == run_id
    assert _integrity(disk.db) == "ok"


def test_run_on_a_full_disk_is_not_lost_and_says_where_it_went(full_disk: FullDisk) -> None:
    first = wattwise("run", "--db", str(full_disk.db), "--", sys.executable, "-c", "pass",
                     **full_disk.env)  # fmt: skip
    assert first.returncode == 0, first.stderr  # a ledger with a run in it, then no space left
    full_disk.fill()
    with contextlib.ExitStack() as stack:
        stack.callback(full_disk.free)
        _check_truthful_and_not_lost(full_disk, _run(full_disk, "-"))


def test_disk_filling_up_mid_run_loses_no_run_and_says_where_it_went(full_disk: FullDisk) -> None:
    first = wattwise("run", "--db", str(full_disk.db), "--", sys.executable, "-c", "pass",
                     **full_disk.env)  # fmt: skip
    assert first.returncode == 0, first.stderr
    with contextlib.ExitStack() as stack:
        stack.callback(full_disk.free)
        _check_truthful_and_not_lost(full_disk, _run(full_disk, full_disk.mid_run_arg()))


@pytest.mark.parametrize("when", ["before", "mid-run"])
def test_python_api_run_on_a_full_disk_is_not_lost_and_says_where_it_went(
    full_disk: FullDisk, when: str
) -> None:
    first = wattwise("run", "--db", str(full_disk.db), "--", sys.executable, "-c", "pass",
                     **full_disk.env)  # fmt: skip
    assert first.returncode == 0, first.stderr
    with contextlib.ExitStack() as stack:
        stack.callback(full_disk.free)
        if when == "before":
            full_disk.fill()
        env = cli_env(**full_disk.env)
        p = subprocess.run(
            [sys.executable, "-c", API_RECORDER, str(full_disk.db),
             "-" if when == "before" else full_disk.mid_run_arg()],
            capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert p.returncode == 0, p.stderr[-1500:]  # nothing raised into the user's code
        doc = json.loads(p.stdout.strip().splitlines()[-1])
        assert doc["status"] == "finished"
        assert doc["total_j"] > 0
        said = "\n".join(doc["notes"])
        assert "lost" not in said.lower(), said
        full_disk.free()
        _check_claim(full_disk, doc["run_id"], doc["stored"] is True, said)
        _check_listed(full_disk, doc["run_id"], doc["total_j"], said)
