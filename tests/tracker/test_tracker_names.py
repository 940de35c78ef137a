"""Run, window and unit names through the validation boundary (issue 10, F4 / X14).

A name enters from user code at run time: it is cleaned (never an exception into the user's
block), so the ledger's final write cannot fail on it and no control character reaches a
terminal; the API and the child protocol refuse the same counts.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from conftest import FakeClock
from tracker.fakes import CounterReader
from wattwise.api import track
from wattwise.tracker.core import Tracker
from wattwise.validate import MAX_NAME_LEN, MAX_STEPS_PER_REPORT, clean_name
from wattwise.workloads.counts import clean_count as protocol_clean_count


def _stored(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as con:
        return list(con.execute("SELECT name, status FROM runs"))


def test_none_window_name_still_lets_the_run_land_finished_in_the_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    db = tmp_path / "l.db"
    monkeypatch.setenv("WATTWISE_DB", str(db))
    with track("job", readers=[CounterReader(clock, 5.0)], clock=clock, sampler=False,
               store=True) as t:
        with t.window(None):  # type: ignore[arg-type]
            clock.advance(1.0)
        with t.window("a\x00b\x1b[31m"):
            clock.advance(1.0)
    assert t.stored is True
    assert _stored(db) == [("job", "finished")]
    with sqlite3.connect(db) as con:
        names = sorted(r[0] for r in con.execute("SELECT name FROM windows"))
    assert names == ["None", "ab\x1b[31m"]  # NUL removed; escapes kept, escaped on display
    res = t.result
    assert res is not None
    assert any("window name None" in n and "not a string" in n for n in res.notes)
    assert any("NUL removed" in n for n in res.notes)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("", "run"),
        ("   ", "run"),
        ("\x00 ", "run"),
        ("tr\x00ain", "train"),
        ("x" * 5000, "x" * MAX_NAME_LEN),
        ("\ud800ok", "\\ud800ok"),  # a lone surrogate is escaped, as the ledger stores it
        (42, "42"),
    ],
)
def test_run_name_is_cleaned_with_a_note_not_refused(
    clock: FakeClock, name: object, expected: str
) -> None:
    t = Tracker(name, readers=[CounterReader(clock, 1.0)], clock=clock, sampler=False)  # type: ignore[arg-type]
    res = t.start().stop()
    assert res.name == expected
    assert any(n.startswith("run name ") for n in res.notes)
    assert res.name.encode("utf-8")  # always encodable: the ledger can take it


def test_clean_name_leaves_a_good_name_alone() -> None:
    assert clean_name("prefill-7 ünïcode 🚀") == ("prefill-7 ünïcode 🚀", "")
    assert clean_name("a\x1b[31mb\u202e") == ("a\x1b[31mb\u202e", "")  # display escapes these


@pytest.mark.parametrize(
    "units",
    [{"": 1}, {"u" * 5000: 1}, {"_t": 1}, {"to\x00k": 1}, {"tokens": "12"}, {"tokens": b"1"},
     {"\udc80": 1}],
)
def test_api_count_refuses_what_the_child_protocol_refuses(
    clock: FakeClock, units: dict[str, object]
) -> None:
    t = Tracker(readers=[CounterReader(clock, 1.0)], clock=clock, sampler=False).start()
    t.count(**units)  # never raises into user code
    res = t.stop()
    assert res.counts == {}
    assert any("ignored" in n for n in res.notes)
    ((unit, value),) = units.items()
    assert protocol_clean_count(unit, value)[0] is None


def test_api_step_has_the_child_protocol_cap(clock: FakeClock) -> None:
    t = Tracker(readers=[CounterReader(clock, 1.0)], clock=clock, sampler=False).start()
    clock.advance(1.0)
    t.step(1e12)  # report_count(steps=1e12) is refused: so is this
    t.step(2.5)  # fractional steps: refused by both
    t.count(steps=1e12)
    t.step(MAX_STEPS_PER_REPORT)
    res = t.stop()
    assert res.counts == {"steps": MAX_STEPS_PER_REPORT}
    assert protocol_clean_count("steps", 1e12)[0] is None
    assert protocol_clean_count("steps", 2.5)[0] is None
    assert protocol_clean_count("steps", MAX_STEPS_PER_REPORT)[0] == MAX_STEPS_PER_REPORT
    assert any("step(" in n and "out of range" in n for n in res.notes)
