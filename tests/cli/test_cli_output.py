"""What reaches a terminal or a JSON parser (issue 10, defect 17 and "JSON output is always
valid JSON"): unknown run ids are bad input (exit 2); stored strings cannot drive the terminal;
``--json`` output parses everywhere."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cli.clirun import one_line_error, wattwise

NASTY = "evil\x1b[31mRED\x1b[0m\x07\rname\u202egnp.exe\x7f"


def _strict(text: str) -> object:
    def refuse(name: str) -> object:
        raise AssertionError(f"invalid JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize(
    "args",
    [
        ["runs", "show", "nonexistent"],
        ["runs", "show", "  "],
        ["runs", "export", "nonexistent"],
        ["compare-regions", "nonexistent"],
        ["report", "nonexistent"],
    ],
)
def test_unknown_run_id_is_one_line_exit_2(tmp_path: Path, args: list[str]) -> None:
    db = tmp_path / "l.db"
    assert wattwise("run", "--quiet", "--db", str(db), "--", "true").returncode == 0
    line = one_line_error(wattwise(*args, "--db", str(db), cwd=tmp_path))
    assert "run" in line


def test_empty_or_full_length_unknown_run_id_is_exit_2(tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    assert wattwise("run", "--quiet", "--db", db, "--", "true").returncode == 0
    assert "empty run id" in one_line_error(wattwise("runs", "show", "", "--db", db))
    p = wattwise("runs", "show", "0123456789abcdef0123456789abcdef", "--db", db)
    assert "no run" in one_line_error(p)


def test_control_characters_in_names_do_not_reach_the_terminal(tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    p = wattwise("run", "--json", "--name", NASTY, "--db", db, "--", "true")
    assert p.returncode == 0, p.stderr
    assert "\x1b" not in p.stderr and "\x07" not in p.stderr  # the run's own summary
    run_id = json.loads(p.stdout)["run_id"]
    for args in (["runs", "list"], ["runs", "show", run_id]):
        out = wattwise(*args, "--db", db).stdout
        for ch in ("\x1b", "\x07", "\r", "\u202e", "\x7f"):
            assert ch not in out, (args, ch)
        assert "evil\\x1b[31mRED" in out  # shown, escaped, not dropped
    # JSON keeps the raw string
    (listed,) = json.loads(wattwise("runs", "list", "--json", "--db", db).stdout)
    assert listed["name"] == NASTY
    shown = json.loads(wattwise("runs", "show", run_id, "--json", "--db", db).stdout)
    assert shown["name"] == NASTY


def test_control_characters_in_notes_and_units_are_escaped(tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    script = tmp_path / "job.py"
    script.write_text(
        "from wattwise import report_count\n"
        "report_count(**{'tok\\x1b[2Jens': 3})\n"
        "report_count(tokens=float('nan'), **{'\\x1b]0;title\\x07': float('nan')})\n"
    )
    p = wattwise("run", "--db", db, "--", sys.executable, str(script))
    assert p.returncode == 0, p.stderr
    assert "\x1b" not in p.stderr
    (run,) = json.loads(wattwise("runs", "list", "--json", "--db", db).stdout)
    shown = wattwise("runs", "show", run["run_id"], "--db", db).stdout
    assert "\x1b" not in shown and "\x07" not in shown
    assert "tok\\x1b[2Jen" in shown  # escaped, not dropped


def test_runs_show_json_never_emits_infinity_or_nan(tmp_path: Path) -> None:
    """A run whose stored values are not finite (written by any version) still gives JSON."""
    from wattwise.ledger import Ledger
    from wattwise.tracker.core import Tracker

    db = str(tmp_path / "l.db")
    led = Ledger.open(db)
    t = Tracker("inf", sink=led, sampler=False, readers=[])
    t.start()
    t.count(tokens=math.inf, images=1.0)
    result = t.stop()
    led.close()
    for args in (
        ["runs", "show", result.run_id, "--json"],
        ["runs", "list", "--json"],
        ["runs", "export", "--format", "json"],
    ):
        p = wattwise(*args, "--db", db)
        assert p.returncode == 0, (args, p.stderr)
        _strict(p.stdout)


def test_jsonsafe_replaces_non_finite_and_records_where() -> None:
    from wattwise import jsonsafe

    doc = {"a": math.inf, "b": [1.0, math.nan, {"c": -math.inf}], "d": "x", "e": 2}
    parsed = _strict(jsonsafe.dumps(doc))
    assert parsed == {
        "a": None,
        "b": [1.0, None, {"c": None}],
        "d": "x",
        "e": 2,
        jsonsafe.REPLACED_KEY: ["a", "b[1]", "b[2].c"],
    }
    assert _strict(jsonsafe.dumps([math.nan])) == [None]
    assert doc["a"] == math.inf  # the caller's document is not modified


_json_like = st.recursive(
    st.one_of(st.none(), st.booleans(), st.floats(), st.integers(), st.text(max_size=5)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(_json_like)
def test_jsonsafe_output_always_parses_as_strict_json(doc: object) -> None:
    from wattwise import jsonsafe

    text, replaced = jsonsafe.dumps_checked(doc)
    parsed = _strict(text)
    if not replaced:
        assert parsed == json.loads(json.dumps(doc))  # unchanged when already valid
