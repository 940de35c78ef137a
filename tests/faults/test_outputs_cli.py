"""Output files from the command line, as a careless user gives them: never onto the ledger,
checked before long work starts, and a failed write never damages the file already there."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import pytest

from cli.clirun import wattwise


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def ledger_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real ledger file holding one finished run, recorded once for the module."""
    db = tmp_path_factory.mktemp("template") / "X.db"
    p = wattwise("run", "--db", str(db), "--", "true")
    assert p.returncode == 0, p.stderr
    return db


@pytest.fixture
def ledger(ledger_template: Path, tmp_path: Path) -> Path:
    """A copy of the template ledger (and any WAL beside it) of this test's own."""
    db = tmp_path / "X.db"
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{ledger_template}{suffix}")
        if src.exists():
            shutil.copyfile(src, f"{db}{suffix}")
    return db


def _run_ids(db: Path) -> list[str]:
    p = wattwise("runs", "list", "--json", "--db", str(db))
    assert p.returncode == 0, p.stderr
    return [r["run_id"] for r in json.loads(p.stdout)]


def _assert_refused(p: object, flag: str = "--out") -> None:
    import subprocess

    assert isinstance(p, subprocess.CompletedProcess)
    assert p.returncode == 2, (p.returncode, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and flag in lines[0] and "ledger" in lines[0], p.stderr


@pytest.mark.parametrize("spelling", ["same", "relative", "symlink", "hard link", "url", "env"])
def test_export_out_onto_ledger_is_refused_and_ledger_intact(
    ledger: Path, tmp_path: Path, spelling: str
) -> None:
    before, runs = _digest(ledger), _run_ids(ledger)
    db_args = ["--db", str(ledger)]
    env: dict[str, str] = {}
    if spelling == "same":
        out = str(ledger)
    elif spelling == "relative":
        out = os.path.relpath(ledger)  # relative to the directory the CLI runs in
    elif spelling == "symlink":
        (tmp_path / "link.json").symlink_to(ledger)
        out = str(tmp_path / "link.json")
    elif spelling == "hard link":
        os.link(ledger, tmp_path / "hard.json")
        out = str(tmp_path / "hard.json")
    elif spelling == "url":
        db_args = ["--db", f"sqlite:///{ledger}"]
        out = str(tmp_path / "." / "X.db")
    else:  # the ledger named by WATTWISE_DB, no --db
        db_args, env = [], {"WATTWISE_DB": str(ledger)}
        out = str(ledger)
    p = wattwise("runs", "export", *db_args, "--out", out, **env)
    _assert_refused(p)
    assert ledger.stat().st_size > 0 and _digest(ledger) == before
    assert _run_ids(ledger) == runs  # still opens, every run still there


def test_export_out_onto_the_ledgers_wal_file_is_refused(ledger: Path) -> None:
    p = wattwise("runs", "export", "--db", str(ledger), "--out", f"{ledger}-wal")
    _assert_refused(p)
    assert not Path(f"{ledger}-wal").exists() or Path(f"{ledger}-wal").stat().st_size == 0


def test_audit_out_onto_ledger_is_refused_before_running(ledger: Path, tmp_path: Path) -> None:
    before, runs = _digest(ledger), _run_ids(ledger)
    marker = tmp_path / "ran"
    p = wattwise(
        "audit", "--no-lab", "--db", str(ledger), "--out", str(ledger), "--",
        "touch", str(marker),
    )  # fmt: skip
    _assert_refused(p)
    assert not marker.exists()  # the command never ran
    assert _digest(ledger) == before and _run_ids(ledger) == runs


def test_audit_pdf_beside_the_report_onto_ledger_is_refused_before_running(
    tmp_path: Path,
) -> None:
    db = tmp_path / "team.pdf"  # a ledger that happens to end in .pdf
    assert wattwise("run", "--db", str(db), "--", "true").returncode == 0
    before = _digest(db)
    p = wattwise(
        "audit", "--no-lab", "--pdf", "--db", str(db), "--out", str(tmp_path / "team.html"),
        "--", "true",
    )  # fmt: skip
    _assert_refused(p, "--pdf")
    assert _digest(db) == before and not (tmp_path / "team.html").exists()


def test_report_out_onto_ledger_is_refused(ledger: Path) -> None:
    before = _digest(ledger)
    run_id = _run_ids(ledger)[0]
    p = wattwise("report", run_id, "--db", str(ledger), "--out", str(ledger))
    _assert_refused(p)
    assert _digest(ledger) == before


def test_failed_export_leaves_the_previous_out_file_unchanged(
    ledger: Path, tmp_path: Path
) -> None:
    precious = tmp_path / "precious.json"
    precious.write_text('{"keep": "me"}\n')
    p = wattwise("runs", "export", "nonexist", "--db", str(ledger), "--out", str(precious))
    assert p.returncode != 0 and "nonexist" in p.stderr
    assert precious.read_text() == '{"keep": "me"}\n'
    assert [f.name for f in tmp_path.iterdir() if ".wattwise-tmp." in f.name] == []


def test_export_out_replaces_the_file_with_a_complete_export(
    ledger: Path, tmp_path: Path
) -> None:
    out = tmp_path / "runs.json"
    out.write_text("old")
    p = wattwise("runs", "export", "--db", str(ledger), "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert [r["run_id"] for r in json.loads(out.read_text())] == _run_ids(ledger)


def test_export_out_into_a_missing_folder_fails_before_the_ledger_is_opened(
    tmp_path: Path,
) -> None:
    db = tmp_path / "new.db"
    p = wattwise("runs", "export", "--db", str(db), "--out", str(tmp_path / "nope" / "x.json"))
    assert p.returncode == 2 and "--out" in p.stderr
    assert not db.exists()


def test_optimize_plot_into_missing_folder_fails_fast_before_training(tmp_path: Path) -> None:
    t0 = time.monotonic()
    p = wattwise("optimize", "--size", "tiny", "--plot", "/nonexistent/x.svg")
    elapsed_s = time.monotonic() - t0
    assert p.returncode == 2 and "--plot" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert elapsed_s < 2.0, elapsed_s
    assert not (tmp_path / "xdg-cache").exists()  # no built-in model was trained or cached


def test_optimize_plot_onto_ledger_is_refused_before_training(tmp_path: Path) -> None:
    db = tmp_path / "lab.svg"
    db.write_bytes(b"not really svg")
    p = wattwise("optimize", "--size", "tiny", "--db", str(db), "--plot", str(db))
    _assert_refused(p, "--plot")
    assert db.read_bytes() == b"not really svg"
    assert not (tmp_path / "xdg-cache").exists()
