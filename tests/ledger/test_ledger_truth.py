"""What wattwise says about a run's storage is true: regressions of issue 10's defects 2, 4, 5,
10 (``--db``) and 11, through the CLI as a user runs it (real processes, real SQLite files)."""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.clirun import wattwise
from ledger.faultkit import LOCKER, as_writer, shared_dir, unprivileged
from tracker.fakes import CounterReader
from wattwise.ledger import Ledger
from wattwise.tracker.core import Tracker


@pytest.fixture(autouse=True)
def _state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def _one_line_error(p: object) -> str:
    err = p.stderr  # type: ignore[attr-defined]
    assert err.count("\n") == 1 and err.startswith("wattwise: error: "), err
    assert "internal error" not in err and "Traceback" not in err
    return str(err)


# -- defect 2: a NaN count --------------------------------------------------------------------


def test_nan_count_from_the_tracker_api_still_finishes_the_stored_run(
    tmp_path: Path, clock: object
) -> None:
    db = tmp_path / "ledger.db"
    with Ledger.open(str(db)) as led:
        t = Tracker("nan", readers=[CounterReader(clock, 5.0)], clock=clock, sampler=False,
                    sink=led)  # type: ignore[arg-type]
        with t:
            clock.advance(2.0)  # type: ignore[attr-defined]
            t.count(tokens=float("nan"), requests=3)
        assert led.outcome(t.run_id).state == "stored"
    with Ledger.open(str(db), readonly=True) as led:
        run = led.get_run(t.run_id)
    assert run.status == "finished"
    assert run.energy.total_j == pytest.approx(10.0)
    assert all(math.isfinite(v) for v in run.counts.values())
    assert run.counts.get("requests") == 3.0


def test_nan_count_from_a_child_finishes_the_run_and_the_stored_line_is_true(
    tmp_path: Path,
) -> None:
    db = tmp_path / "ledger.db"
    child = (
        "from wattwise.workloads.counts import report_count\n"
        "report_count(tokens=float('nan'))\nreport_count(tokens=float('inf'), requests=1)\n"
    )
    p = wattwise("run", "--db", str(db), "--json", "--", sys.executable, "-c", child)
    assert p.returncode == 0, p.stderr
    run_id = json.loads(p.stdout)["run_id"]
    assert f"stored in the ledger: wattwise runs show {run_id[:12]}" in p.stderr
    shown = wattwise("runs", "show", run_id, "--db", str(db), "--json")
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert doc["status"] == "finished"
    assert all(math.isfinite(v) for v in doc["counts"].values())


# -- defect 4: a lock held mid-run ---------------------------------------------------------------


# the same 12 s lock mid-run is in the default suite through the 100 W API recorder
# (tests/faults/test_ledger_faults.py::test_lock_held_12s_mid_run_is_waited_out...)
@pytest.mark.slow
def test_run_with_the_ledger_locked_12s_mid_run_is_stored_complete(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    child = f'sleep 1; "$PY" -c "$LOCKER" {db} 12 >/dev/null & sleep 15'
    p = wattwise("run", "--db", str(db), "--json", "--interval", "0.2", "--", "sh", "-c", child,
                 PY=sys.executable, LOCKER=LOCKER, timeout=180)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert f"stored in the ledger: wattwise runs show {doc['run_id'][:12]}" in p.stderr
    assert not [n for n in doc["notes"] if "ledger" in n]  # never detached
    shown = json.loads(wattwise("runs", "show", doc["run_id"], "--db", str(db), "--json").stdout)
    assert shown["status"] == "finished" and shown["duration_s"] >= 15.0
    assert shown["duration_s"] == pytest.approx(doc["duration_s"])
    assert shown["energy"]["total_j"] == pytest.approx(doc["energy"]["total_j"])
    with sqlite3.connect(db) as con:  # the recorder was really held up by the lock
        times = sorted({r[0] for r in con.execute("SELECT t_s FROM samples")})
    assert max(b - a for a, b in itertools.pairwise(times)) > 5.0


# -- defect 5: the false "stored" line; in-memory ledgers --------------------------------------


def test_in_memory_ledger_is_refused_for_commands_that_store_runs(tmp_path: Path) -> None:
    for argv in (["run", "--db", "sqlite://", "--", "true"],
                 ["audit", "--no-lab", "--db", "sqlite://", "--out", str(tmp_path / "a.html"),
                  "--", "true"]):
        p = wattwise(*argv)
        assert p.returncode == 2, p.stderr
        assert "in-memory" in _one_line_error(p)
        assert "stored in the ledger" not in p.stderr
    # reading an in-memory ledger is harmless: it is empty
    assert wattwise("runs", "list", "--db", "sqlite://").returncode == 0


@pytest.fixture
def writer_dir() -> Iterator[tuple[list[str], Path]]:
    """(prefix that runs wattwise unprivileged, a folder it owns); skipped where impossible."""
    prefix, why = unprivileged()
    if why:
        pytest.skip(why)
    d = shared_dir()
    (d / "d").mkdir()
    if prefix:
        os.chown(d / "d", 65534, 65534)
    try:
        yield prefix, d
    finally:
        (d / "d").chmod(0o777)
        shutil.rmtree(d, ignore_errors=True)


def test_run_says_spooled_not_stored_when_the_ledger_turns_read_only_mid_run(
    writer_dir: tuple[list[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # wattwise runs as a user file modes apply to (root ignores them); its command makes the
    # ledger file 0444 and its folder 0555 a second into the run.
    prefix, root = writer_dir
    d = root / "d"
    db = d / "ledger.db"
    ww = [sys.executable, "-m", "wattwise"]
    run = as_writer(prefix, [*ww, "run", "--db", str(db), "--name", "ro", "--", "sh", "-c",
                             f"sleep 1; chmod 0444 {db}; chmod 0555 {d}; sleep 1.5"], root)
    assert run.returncode == 0, run.stderr
    assert "stored in the ledger:" not in run.stderr
    assert "NOT yet in the ledger" in run.stderr and "read-only" in run.stderr
    assert f"spooled to {root / 'state'}" in run.stderr
    listed = as_writer(prefix, [*ww, "runs", "list", "--db", str(db), "--json"], root)
    assert listed.returncode == 0, listed.stderr  # a read-only ledger can be listed ...
    [summary] = json.loads(listed.stdout)
    assert summary["status"] in ("running", "interrupted")  # ... showing what reached it
    assert "wait in a local spool" in listed.stderr  # ... and saying the rest is spooled
    # once writable again, the next command that writes to the ledger replays the spool
    d.chmod(0o755)
    db.chmod(0o644)
    monkeypatch.setenv("XDG_STATE_HOME", str(root / "state"))
    again = wattwise("run", "--db", str(db), "--", "true")
    assert again.returncode == 0 and "stored in the ledger" in again.stderr, again.stderr
    shown = wattwise("runs", "show", summary["run_id"], "--db", str(db), "--json")
    doc = json.loads(shown.stdout)
    assert doc["status"] == "finished" and doc["name"] == "ro"
    assert doc["duration_s"] >= 2.5


def test_damaged_ledger_at_start_is_one_line_and_nothing_runs(
    tmp_path: Path,
) -> None:
    db = tmp_path / "ledger.db"
    db.write_bytes(b"\x00garbage" * 4096)
    marker = tmp_path / "ran"
    p = wattwise("run", "--db", str(db), "--", "touch", str(marker))
    assert p.returncode == 1 and not marker.exists()
    assert "is not a wattwise ledger" in p.stderr and "stored" not in p.stderr


# -- defect 10: --db values --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("db", "expect"),
    [
        ("", "--db is empty"),
        ("   ", "--db is empty"),
        ("sqlite:////tmp/x.db?timeout=abc", "not a number"),
        ("sqlite:////tmp/x.db?timeout=nan", "NaN"),
        ("sqlite:////tmp/x.db?timeout=-1", "out of range"),
        ("sqlite:////tmp/x.db?timeout=inf", "infinite"),
        ("sqlite:////tmp/x.db?bogus=1", "unknown option 'bogus'"),
        ("sqlite:////tmp/x.db?timeout=1&timeout=2", "more than once"),
    ],
)
def test_bad_db_location_is_one_line_exit_2(db: str, expect: str, tmp_path: Path) -> None:
    for argv in (["runs", "list", "--db", db], ["run", "--db", db, "--", "true"]):
        p = wattwise(*argv)
        assert p.returncode == 2, (argv, p.stderr)
        assert expect in _one_line_error(p)


def test_db_timeout_option_is_used(tmp_path: Path) -> None:
    from wattwise.ledger.engine import busy_timeout_s
    from wattwise.ledger.location import resolve_location

    loc = resolve_location(f"sqlite:///{tmp_path}/t.db?timeout=2.5", env={})
    assert loc.timeout_s == 2.5 and busy_timeout_s(loc) == 2.5
    p = wattwise("run", "--db", f"sqlite:///{tmp_path}/t.db?timeout=2.5", "--", "true")
    assert p.returncode == 0 and "stored in the ledger" in p.stderr, p.stderr
