"""Faults from the tracked command's side: bad count reports never cost the run, its energy or
the command's exit code (issue 10, defects 2 and 3); the run says what it ignored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cli.clirun import cli_env, wattwise
from ledger.faultkit import in_namespace, mount_namespaces

needs_mounts = pytest.mark.skipif(bool(mount_namespaces()), reason=mount_namespaces() or "ok")


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


# ---------------------------------------------------------------------- X1: last line, no newline
def test_last_count_line_without_newline_is_counted(tmp_path: Path) -> None:
    body = (
        "import os\n"
        "with open(os.environ['WATTWISE_COUNTS_FILE'], 'a') as f:\n"
        "    f.write('{\"tokens\": 2}\\n{\"tokens\": 3}')  # hand-written, no final newline\n"
    )
    doc, stored = _run_child(tmp_path, body, code=0)
    assert doc["counts"] == {"tokens": 5.0}
    assert stored["counts"] == {"tokens": 5.0}


# ---------------------------------------------------------------------- X8/X9: output failures
def _ledger_with_a_run(tmp_path: Path) -> Path:
    db = tmp_path / "l.db"
    p = wattwise("run", "--quiet", "--db", str(db), "--", sys.executable, "-c", "pass")
    assert p.returncode == 0, p.stderr
    return db


def _ww(*args: str) -> list[str]:
    return [sys.executable, "-m", "wattwise", *args]


def test_broken_pipe_on_stdout_exits_quietly_with_141(tmp_path: Path) -> None:
    db = _ledger_with_a_run(tmp_path)
    for args in (["runs", "list"], ["runs", "export"], ["runs", "export", "--format", "csv"]):
        r, w = os.pipe()
        os.close(r)  # the reader is gone before wattwise writes a byte: `| head -c0`
        p = subprocess.run(
            _ww(*args, "--db", str(db)), stdout=w, stderr=subprocess.PIPE, text=True,
            env=cli_env(), timeout=120, check=False,
        )
        os.close(w)
        assert p.returncode == 141, (args, p.stderr)
        assert p.stderr == "", (args, p.stderr)  # nothing more: no ledger blamed, no traceback


def test_pipe_closed_after_a_few_bytes_exits_quietly(tmp_path: Path) -> None:
    db = _ledger_with_a_run(tmp_path)
    p = subprocess.run(
        ["bash", "-c", '"$@" | head -c10 >/dev/null; echo "${PIPESTATUS[0]}"', "bash",
         *_ww("runs", "export", "--db", str(db))],
        capture_output=True, text=True, env=cli_env(), timeout=120, check=False,
    )
    assert p.stdout.strip() in {"0", "141"}, p  # 0 when it all fitted in the pipe before
    assert "Broken pipe" not in p.stderr and "ledger" not in p.stderr, p.stderr
    assert "Traceback" not in p.stderr and "Exception ignored" not in p.stderr, p.stderr


def test_closed_stdout_is_one_line_not_an_internal_error(tmp_path: Path) -> None:
    db = _ledger_with_a_run(tmp_path)
    p = subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", *_ww("runs", "list", "--db", str(db))],
        capture_output=True, text=True, env=cli_env(), timeout=120, check=False,
    )
    assert p.returncode == 1
    assert p.stderr.strip() == "wattwise: cannot write standard output: it is closed"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this machine")
def test_full_stdout_is_one_line_exit_1(tmp_path: Path) -> None:
    db = _ledger_with_a_run(tmp_path)
    for args in (["runs", "list"], ["runs", "show", "--json"], ["runs", "export"]):
        if args[1] == "show":
            args = [*args[:2], *_first_id(db), *args[2:]]
        with open("/dev/full", "w") as full:
            p = subprocess.run(
                _ww(*args, "--db", str(db)), stdout=full, stderr=subprocess.PIPE, text=True,
                env=cli_env(), timeout=120, check=False,
            )
        assert p.returncode == 1, (args, p.stderr)
        assert p.stderr.strip() == (
            "wattwise: cannot write standard output: No space left on device"
        ), (args, p.stderr)


def _first_id(db: Path) -> list[str]:
    p = wattwise("runs", "list", "--json", "--db", str(db))
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    runs = doc if isinstance(doc, list) else doc["runs"]
    return [runs[0]["run_id"]]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this machine")
def test_out_onto_dev_full_is_one_line_exit_1(tmp_path: Path) -> None:
    db = _ledger_with_a_run(tmp_path)
    p = wattwise("runs", "export", "--db", str(db), "--out", "/dev/full")
    assert p.returncode == 1, p.stderr
    assert p.stderr.strip() == "wattwise: cannot write /dev/full: No space left on device"


@needs_mounts
def test_out_on_a_full_disk_is_one_line_and_the_previous_file_intact(tmp_path: Path) -> None:
    db = _ledger_with_a_run(tmp_path)
    out = in_namespace(
        "mkdir t && mount -t tmpfs -o size=64k tmpfs t\n"
        "printf precious > t/x.json\n"
        "dd if=/dev/zero of=t/fill bs=4k 2>/dev/null || true\n"
        f'$WW runs export --db "{db}" --out t/x.json 2> err.txt && echo "rc=0" || echo "rc=$?"\n'
        f'$WW runs list --db "{db}" > t/list.txt 2> err2.txt && echo "rc=0" || echo "rc=$?"\n'
        "cat t/x.json; echo; ls -a t\n",
        tmp_path,
    )
    lines = out.strip().splitlines()
    assert lines[0] == "rc=1" and lines[1] == "rc=1", out
    assert lines[2] == "precious", out  # the previous file, intact
    assert not [n for n in lines[3:] if ".wattwise-tmp." in n], out  # no temporary left behind
    assert (tmp_path / "err.txt").read_text().strip() == (
        "wattwise: cannot write t/x.json: No space left on device"
    )
    assert (tmp_path / "err2.txt").read_text().strip() == (
        "wattwise: cannot write standard output: No space left on device"
    )


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this machine")
def test_audit_out_onto_a_full_device_is_one_line_exit_1_not_internal_error(
    tmp_path: Path,
) -> None:
    p = wattwise("audit", "--no-lab", "--db", str(tmp_path / "l.db"), "--out", "/dev/full",
                 "--", "true")
    assert p.returncode == 1, p.stderr
    assert p.stderr.strip().splitlines()[-1] == (
        "wattwise: cannot write /dev/full: No space left on device"
    )
    assert "internal error" not in p.stderr and "Traceback" not in p.stderr
