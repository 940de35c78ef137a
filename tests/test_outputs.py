"""wattwise.outputs: output paths checked before long work, never the ledger, written atomically."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cli.clirun import cli_env
from wattwise.errors import ConfigError
from wattwise.ledger.location import ledger_files
from wattwise.outputs import (
    atomic_directory,
    atomic_output,
    atomic_write_bytes,
    atomic_write_text,
    check_output_path,
)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".wattwise-tmp." in p.name)


def _ledger(tmp_path: Path) -> Path:
    db = tmp_path / "X.db"
    db.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    return db


# --- check_output_path -------------------------------------------------------------------------


def test_check_accepts_a_new_file_in_a_writable_folder(tmp_path: Path) -> None:
    assert check_output_path(tmp_path / "r.html") == tmp_path / "r.html"
    assert not (tmp_path / "r.html").exists()  # checking creates nothing


def test_check_expands_the_home_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert check_output_path("~/r.html") == tmp_path / "r.html"


@pytest.mark.parametrize("case", ["directory", "missing folder", "folder is a file", "empty"])
def test_check_refuses_unwritable_places_in_one_line(tmp_path: Path, case: str) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    path = {
        "directory": str(tmp_path),
        "missing folder": str(tmp_path / "no-such-dir" / "r.html"),
        "folder is a file": str(blocker / "r.html"),
        "empty": "",
    }[case]
    with pytest.raises(ConfigError) as err:
        check_output_path(path, what="--plot")
    msg = str(err.value)
    assert msg.startswith("--plot") and "\n" not in msg


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_check_refuses_a_read_only_folder(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(ConfigError, match="cannot write"):
            check_output_path(ro / "r.html")
    finally:
        ro.chmod(0o755)


def test_check_refuses_the_ledger_under_every_spelling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _ledger(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.db").symlink_to(db)
    (tmp_path / "dirlink").symlink_to(tmp_path)
    os.link(db, tmp_path / "hard.db")
    monkeypatch.chdir(tmp_path / "sub")
    spellings = [
        db,
        "../X.db",
        f"{tmp_path}/sub/../X.db",
        f"{tmp_path}//X.db",
        tmp_path / "link.db",
        tmp_path / "dirlink" / "X.db",
        tmp_path / "hard.db",  # hard link: same device and inode
    ]
    for out in spellings:
        with pytest.raises(ConfigError, match="ledger"):
            check_output_path(out, ledger_paths=[db])
    # the ledger named by a relative spelling too
    with pytest.raises(ConfigError, match="ledger"):
        check_output_path(db, ledger_paths=["../X.db"])


@pytest.mark.parametrize("suffix", ["-wal", "-shm", "-journal"])
def test_check_refuses_the_ledgers_sqlite_companions(tmp_path: Path, suffix: str) -> None:
    db = _ledger(tmp_path)
    with pytest.raises(ConfigError, match=f"ledger's {suffix[1:]} file"):
        check_output_path(f"{db}{suffix}", ledger_paths=[db])  # even before SQLite made it


def test_check_allows_a_file_beside_the_ledger(tmp_path: Path) -> None:
    db = _ledger(tmp_path)
    assert check_output_path(tmp_path / "X.db.json", ledger_paths=[db]).name == "X.db.json"


def test_ledger_files_follow_db_flag_url_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert ledger_files("X.db") == (tmp_path / "X.db",)
    assert ledger_files("sqlite:///X.db") == (tmp_path / "X.db",)
    assert ledger_files(f"sqlite:///{tmp_path}/Y.db?timeout=5") == (tmp_path / "Y.db",)
    monkeypatch.setenv("WATTWISE_DB", str(tmp_path / "env.db"))
    assert ledger_files(None) == (tmp_path / "env.db",)
    assert ledger_files("sqlite://") == ()  # in memory: no file to protect


# --- atomic writers ----------------------------------------------------------------------------


def test_atomic_write_creates_and_replaces_without_leftovers(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    atomic_write_text(out, "one\n")
    atomic_write_text(out, "two\r\n")  # no newline translation
    assert out.read_bytes() == b"two\r\n"
    atomic_write_bytes(out, b"\x00\x01")
    assert out.read_bytes() == b"\x00\x01"
    assert _leftovers(tmp_path) == []


def test_atomic_write_keeps_the_permissions_of_the_file_it_replaces(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    out.write_text("old")
    out.chmod(0o640)
    atomic_write_text(out, "new")
    assert out.stat().st_mode & 0o777 == 0o640


def test_a_new_file_gets_the_umask_default_mode(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "new.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "new.txt").stat().st_mode & 0o777 == 0o640


def test_atomic_write_through_a_symlink_replaces_its_target_and_keeps_the_link(
    tmp_path: Path,
) -> None:
    real = tmp_path / "real.html"
    real.write_text("old")
    link = tmp_path / "link.html"
    link.symlink_to(real)
    atomic_write_text(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


@pytest.mark.parametrize("exc", [ValueError("boom"), KeyboardInterrupt()])
def test_a_failed_write_leaves_the_previous_file_untouched(
    tmp_path: Path, exc: BaseException
) -> None:
    out = tmp_path / "precious.json"
    out.write_text("precious")
    with pytest.raises(type(exc)), atomic_output(out) as tmp:
        tmp.write_text("half-writ")
        raise exc
    assert out.read_text() == "precious"
    assert _leftovers(tmp_path) == []


def test_the_temporary_file_is_beside_the_target_with_its_suffix(tmp_path: Path) -> None:
    with atomic_output(tmp_path / "report.pdf") as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".pdf" and tmp.is_file()
        tmp.write_bytes(b"%PDF-")
    assert (tmp_path / "report.pdf").read_bytes() == b"%PDF-"


def test_a_killed_writer_leaves_the_previous_file_untouched(tmp_path: Path) -> None:
    """SIGKILL in the middle of a write (a real process): the old file is still whole."""
    out = tmp_path / "precious.json"
    out.write_text('{"precious": true}')
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from wattwise.outputs import atomic_output\n"
            "with atomic_output(sys.argv[1]) as tmp, open(tmp, 'w') as f:\n"
            "    f.write('{\"half\": '); f.flush()\n"
            "    print('writing', flush=True); time.sleep(60)\n",
            str(out),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "writing"
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert out.read_text() == '{"precious": true}'


# --- atomic directories ------------------------------------------------------------------------


def test_atomic_directory_appears_whole_and_replaces_an_old_one(tmp_path: Path) -> None:
    target = tmp_path / "cache" / "entry"
    with atomic_directory(target) as fill:
        assert not target.exists()
        (fill / "a.txt").write_text("1")
    assert (target / "a.txt").read_text() == "1"
    with atomic_directory(target) as fill:
        (fill / "b.txt").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert _leftovers(target.parent) == []


def test_a_failed_directory_fill_leaves_the_old_directory(tmp_path: Path) -> None:
    target = tmp_path / "entry"
    target.mkdir()
    (target / "keep.txt").write_text("keep")
    with pytest.raises(RuntimeError), atomic_directory(target) as fill:
        (fill / "half.bin").write_bytes(b"\x00")
        raise RuntimeError("training interrupted")
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]
    assert _leftovers(tmp_path) == []


def test_a_character_device_or_pipe_is_written_straight_through(tmp_path: Path) -> None:
    assert check_output_path("/dev/null") == Path("/dev/null")
    atomic_write_text("/dev/null", "discarded")  # no temporary file in /dev, no rename
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    atomic_write_text(fifo, "through the pipe")
    out, _ = reader.communicate(timeout=30)
    assert out == b"through the pipe" and _leftovers(tmp_path) == []


def test_output_check_probes_the_folder_for_real_so_proc_is_refused() -> None:
    # /proc passes os.access(W_OK) for root, yet no file can be created there.
    with pytest.raises(ConfigError, match=r"--plot /proc/x\.svg: cannot write in folder /proc"):
        check_output_path("/proc/x.svg", what="--plot")


def test_output_check_leaves_nothing_behind(tmp_path: Path) -> None:
    check_output_path(tmp_path / "r.html")
    assert list(tmp_path.iterdir()) == []
