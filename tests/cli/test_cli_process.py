"""The tracked command, as ``wattwise run`` and ``wattwise audit`` run it: signals forwarded
(HUP too), exit codes as a shell gives them, the same for both commands (issue 10, defects 14
and 16)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli.clirun import cli_env, one_line_error, wattwise

CHILD = """
import pathlib, signal, sys, time
out = pathlib.Path(sys.argv[1])
def on_signal(signum, frame):
    out.write_text(str(signum))
    sys.exit(128 + signum)
for s in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
    signal.signal(s, on_signal)
pathlib.Path(sys.argv[1] + ".ready").write_text("ready")
time.sleep(60)
"""


def _wait_for(path: Path, proc: subprocess.Popen[str], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"the command did not start: {proc.communicate()[1]}")
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM, signal.SIGINT])
def test_signal_to_wattwise_reaches_the_command_and_both_exit(
    tmp_path: Path, sig: signal.Signals
) -> None:
    got, db = tmp_path / "got", tmp_path / "l.db"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    cmd = [sys.executable, "-m", "wattwise", "run", "--db", str(db), "--name", "sig"]
    proc = subprocess.Popen(
        [*cmd, "--", sys.executable, str(script), str(got)],
        env=cli_env(),
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # no controlling terminal: a signal to wattwise is not the tty's
    )
    _wait_for(Path(str(got) + ".ready"), proc)
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert got.read_text() == str(int(sig)), err  # the child got the very signal
    assert proc.returncode == 128 + sig, err  # wattwise passes the child's exit code on
    (run,) = json.loads(wattwise("runs", "list", "--json", "--db", str(db)).stdout)
    assert run["status"] == "interrupted" and run["exit_code"] == 128 + sig
    shown = json.loads(wattwise("runs", "show", run["run_id"], "--json", "--db", str(db)).stdout)
    assert any(f"{sig.name} forwarded" in n for n in shown["notes"])


def test_command_killed_by_a_signal_exits_128_plus_n(tmp_path: Path) -> None:
    p = wattwise("run", "--", sys.executable, "-c", "import os, signal; os.kill(os.getpid(), 9)")
    assert p.returncode == 128 + 9, p.stderr


@pytest.fixture
def noexec(tmp_path: Path) -> Path:
    script = tmp_path / "noexec.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    return script


@pytest.mark.parametrize("command", ["run", "audit"])
def test_not_executable_exits_126_in_run_and_audit(
    tmp_path: Path, noexec: Path, command: str
) -> None:
    extra = ["--no-lab", "--out", str(tmp_path / "a.html")] if command == "audit" else []
    p = wattwise(command, *extra, "--", "./noexec.sh", cwd=tmp_path)
    assert "permission denied" in one_line_error(p, 126)


@pytest.mark.parametrize("command", ["run", "audit"])
def test_not_found_exits_127_in_run_and_audit(tmp_path: Path, command: str) -> None:
    extra = ["--no-lab", "--out", str(tmp_path / "a.html")] if command == "audit" else []
    p = wattwise(command, *extra, "--", "./missing.sh", cwd=tmp_path)
    assert "command not found" in one_line_error(p, 127)


@pytest.mark.parametrize("command", ["run", "audit"])
def test_directory_as_command_exits_126(tmp_path: Path, command: str) -> None:
    (tmp_path / "adir").mkdir()
    extra = ["--no-lab", "--out", str(tmp_path / "a.html")] if command == "audit" else []
    p = wattwise(command, *extra, "--", "./adir", cwd=tmp_path)
    assert one_line_error(p, 126)


def test_script_without_interpreter_line_is_126_and_a_failed_run(tmp_path: Path) -> None:
    """Executable but not loadable (no #! line: ENOEXEC): 126, like a shell, and a failed run."""
    script = tmp_path / "nohashbang"
    script.write_bytes(b"\x00\x01garbage")
    script.chmod(0o755)
    db = tmp_path / "l.db"
    p = wattwise("run", "--db", str(db), "--", str(script))
    assert p.returncode == 126, p.stderr
    (run,) = json.loads(wattwise("runs", "list", "--json", "--db", str(db)).stdout)
    assert run["status"] == "failed" and run["exit_code"] == 126


def test_audit_runs_the_command_through_the_same_runner(tmp_path: Path) -> None:
    """The audit's command keeps its exit code and its count reports are validated."""
    script = tmp_path / "job.py"
    script.write_text(
        "import sys\n"
        "from wattwise import report_count\n"
        "report_count(tokens=float('nan'))\n"
        "report_count(tokens=40, requests=2)\n"
        "sys.exit(5)\n"
    )
    out, db = tmp_path / "a.html", tmp_path / "l.db"
    p = wattwise(
        "audit", "--no-lab", "--json", "--out", str(out), "--db", str(db),
        "--", sys.executable, str(script),
    )  # fmt: skip
    assert p.returncode == 5, p.stderr
    doc = json.loads(p.stdout)
    assert doc["run"]["counts"] == {"tokens": 40.0, "requests": 2.0}
    shown = json.loads(wattwise("runs", "show", doc["run_id"], "--json", "--db", str(db)).stdout)
    assert any("NaN" in n for n in shown["notes"]), shown["notes"]


CHECKPOINT = """
import pathlib, sys, time
out = pathlib.Path(sys.argv[1])
try:
    pathlib.Path(sys.argv[1] + ".ready").write_text("ready")
    while True:
        time.sleep(0.01)
except KeyboardInterrupt:
    try:
        t = time.monotonic()
        while time.monotonic() - t < 1.5:  # saving a checkpoint
            pass
        out.write_text("saved")
    except KeyboardInterrupt:
        out.write_text("checkpoint interrupted by a second SIGINT")
    sys.exit(130)
"""


def test_ctrl_c_on_the_terminal_reaches_the_command_once(tmp_path: Path) -> None:
    """Ctrl-C signals the whole foreground group: wattwise must not send the command a second
    SIGINT, which would interrupt its clean-up (a checkpoint being saved)."""
    import fcntl
    import os
    import pty
    import termios

    got, db = tmp_path / "got", tmp_path / "l.db"
    script = tmp_path / "ckpt.py"
    script.write_text(CHECKPOINT)
    master, slave = pty.openpty()

    def own_terminal() -> None:  # wattwise: a session leader with the pty as its terminal
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    cmd = [sys.executable, "-m", "wattwise", "run", "--quiet", "--db", str(db), "--"]
    proc = subprocess.Popen(
        [*cmd, sys.executable, str(script), str(got)],
        env=cli_env(),
        text=True,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
        preexec_fn=own_terminal,
    )
    os.close(slave)
    try:
        _wait_for(Path(str(got) + ".ready"), proc)
        os.write(master, b"\x03")  # Ctrl-C: the line discipline signals the foreground group
        assert proc.wait(timeout=60) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert got.read_text() == "saved"
    (run,) = json.loads(wattwise("runs", "list", "--json", "--db", str(db)).stdout)
    assert run["status"] == "interrupted" and run["exit_code"] == 130
