"""What wattwise says about a run's storage is true: regressions of issue 10's defects 2, 4, 5,
10 (``--db``) and 11, through the CLI as a user runs it (real processes, real SQLite files)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

from cli.clirun import wattwise
from ledger.faultkit import in_namespace, mount_namespaces
from tracker.fakes import CounterReader
from wattwise.ledger import Ledger
from wattwise.tracker.core import Tracker

needs_mounts = pytest.mark.skipif(bool(mount_namespaces()), reason=mount_namespaces() or "ok")


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


@needs_mounts
def test_run_says_spooled_not_stored_when_the_ledger_turns_read_only_mid_run(
    tmp_path: Path,
) -> None:
    (tmp_path / "d").mkdir()
    out = in_namespace(
        "mount --bind d d\n"
        "$WW run --db d/ledger.db --name ro -- sh -c "
        "'sleep 1; until mount -o remount,bind,ro d 2>/dev/null; do sleep 0.1; done; sleep 1.5'"
        " 2> err.txt\n"
        "$WW runs list --db d/ledger.db --json 2> list-err.txt\n",
        tmp_path,
    )
    err = (tmp_path / "err.txt").read_text()
    assert "stored in the ledger:" not in err
    assert "NOT yet in the ledger" in err and "read-only" in err
    assert f"spooled to {tmp_path / 'state'}" in err
    [listed] = json.loads(out)  # while read-only, the run shows what reached the ledger ...
    assert listed["status"] in ("running", "interrupted")
    assert "wait in a local spool" in (tmp_path / "list-err.txt").read_text()  # ... and says so
    # the next command that writes to the ledger replays the spool
    again = wattwise("run", "--db", str(tmp_path / "d" / "ledger.db"), "--", "true")
    assert again.returncode == 0 and "stored in the ledger" in again.stderr
    shown = wattwise("runs", "show", listed["run_id"], "--db", str(tmp_path / "d/ledger.db"),
                     "--json")
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
