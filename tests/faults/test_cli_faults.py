"""Faults from the tracked command's side: bad count reports never cost the run, its energy or
the command's exit code (issue 10, defects 2 and 3); the run says what it ignored."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from cli.clirun import wattwise


def _strict_json(text: str) -> object:
    def refuse(name: str) -> object:
        raise AssertionError(f"invalid JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def _run_child(tmp_path: Path, body: str, code: int = 3) -> tuple[dict[str, Any], dict[str, Any]]:
    script = tmp_path / "child.py"
    script.write_text(f"import sys\nfrom wattwise import report_count\n{body}\nsys.exit({code})\n")
    db = tmp_path / "l.db"
    p = wattwise("run", "--json", "--db", str(db), "--", sys.executable, str(script))
    assert p.returncode == code, p.stderr
    assert "internal error" not in p.stderr and "Traceback" not in p.stderr, p.stderr
    doc = _strict_json(p.stdout)
    assert isinstance(doc, dict)
    shown = wattwise("runs", "show", doc["run_id"], "--json", "--db", str(db))
    assert shown.returncode == 0, shown.stderr
    stored = _strict_json(shown.stdout)
    assert isinstance(stored, dict)
    return doc, stored


@pytest.mark.parametrize(
    ("call", "why"),
    [
        ("steps=float('inf')", "infinite"),
        ("steps=1e12", "out of range"),
        ("steps=2.5", "whole number"),
        ("tokens=float('nan')", "NaN"),
        ("tokens=float('-inf')", "infinite"),
        ("tokens=-5", "out of range"),
        ("tokens=10**400", "infinite"),
        ("tokens='many'", "not a number"),
    ],
)
def test_bad_child_count_keeps_exit_code_energy_and_run(
    tmp_path: Path, call: str, why: str
) -> None:
    doc, stored = _run_child(
        tmp_path, f"assert report_count({call}) is False\nassert report_count(requests=2)"
    )
    assert stored["status"] == "failed" and stored["exit_code"] == 3  # the child's own code
    assert stored["energy"]["total_j"] > 0
    assert stored["counts"] == {"requests": 2.0}  # the good report still counted
    assert any(why in n for n in stored["notes"]), stored["notes"]
    text = wattwise("runs", "show", doc["run_id"], "--db", str(tmp_path / "l.db")).stdout
    assert why in text  # the note is shown to people too


def test_hand_written_bad_count_lines_are_ignored_with_notes(tmp_path: Path) -> None:
    """An old client or a hand-written file: NaN / Infinity literals, junk, huge, negative."""
    lines = [
        '{"steps": Infinity}',
        '{"steps": 1e12}',
        '{"tokens": NaN}',
        '{"tokens": 1e400}',
        "[1, 2]",
        "not json",
        '{"tokens": 7}',
        *['{"tokens": -1}'] * 50,
    ]
    body = (
        "import os\n"
        "with open(os.environ['WATTWISE_COUNTS_FILE'], 'a') as f:\n"
        f"    f.write({chr(10).join(lines)!r} + '\\n')\n"
    )
    _doc, stored = _run_child(tmp_path, body, code=0)
    assert stored["status"] == "finished"
    assert stored["counts"] == {"tokens": 7.0}
    notes = "\n".join(stored["notes"])
    assert "infinite" in notes and "NaN" in notes and "not a JSON object" in notes
    assert "50 times" in notes  # repeated problems are summarised, not one note each


def test_many_steps_from_a_child_are_counted_and_forecast(tmp_path: Path) -> None:
    _doc, stored = _run_child(
        tmp_path, "for _ in range(500):\n    report_count(steps=1)\nreport_count(steps=1000)", 0
    )
    assert stored["counts"]["steps"] == 1500
