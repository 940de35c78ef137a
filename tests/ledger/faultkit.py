"""Helpers for the ledger's fault tests: the recorder process, mount namespaces, a lock holder."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1]
SRC = TESTS.parent / "src"
RECORDER = Path(__file__).with_name("recorder.py")

#: Holds SQLite's write lock on a ledger for argv[2] seconds (prints "locked" once it has it).
LOCKER = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.execute("COMMIT")
"""


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a wattwise process in a test: src first, spool state under tmp_path."""
    e = dict(os.environ)
    e["PYTHONPATH"] = str(SRC) + os.pathsep + e.get("PYTHONPATH", "")
    e["XDG_STATE_HOME"] = str(tmp_path / "state")
    e["LOCKER"] = LOCKER
    e["PY"] = sys.executable
    e.update(extra)
    return e


def record(
    tmp_path: Path, db: Path, duration_s: float, *events: tuple[float, str], budget_s: float = 20.0
) -> dict[str, Any]:
    """Run the recorder (see recorder.py) and return its JSON document."""
    argv = [sys.executable, str(RECORDER), str(db), str(duration_s), "--budget", str(budget_s)]
    for at, cmd in events:
        argv += ["--at", str(at), cmd]
    out = subprocess.run(
        argv, env=env(tmp_path), capture_output=True, text=True, timeout=duration_s + 120
    )
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def start_locker(db: Path, hold_s: float) -> subprocess.Popen[str]:
    """A process that holds the ledger's write lock for ``hold_s`` seconds (waits until held)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(db), str(hold_s)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


@functools.cache
def mount_namespaces() -> str:
    """Empty when this machine lets a test make private mounts (unshare -m), else why not."""
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return "unshare/mount not installed"
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c",
         "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs $d && "
         "mount -o remount,ro $d && umount $d && rmdir $d"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return f"cannot make private mounts here (needs CAP_SYS_ADMIN): {probe.stderr.strip()}"
    return ""


def in_namespace(script: str, tmp_path: Path, timeout_s: float = 180) -> str:
    """Run the shell ``script`` in a private mount namespace; return its stdout (asserts rc 0).

    ``$PY`` is this Python, ``$REC`` the recorder, ``$WW`` ``$PY -m wattwise``."""
    e = env(tmp_path, PY=sys.executable, REC=str(RECORDER), WW=f"{sys.executable} -m wattwise")
    out = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-ec", script],
        env=e,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        cwd=tmp_path,
    )
    assert out.returncode == 0, f"rc={out.returncode}\nstdout:\n{out.stdout}\nstderr:\n{out.stderr}"
    return out.stdout


def unprivileged() -> tuple[list[str], str]:
    """(argv prefix that runs a command without root's power over file modes, why not).

    Root ignores file modes, so a test that makes a ledger read-only with chmod runs the
    writer as ``nobody`` (``setpriv``); a non-root test run needs no prefix. The prefix is
    empty and the reason set when neither works.
    """
    if os.geteuid() != 0:
        return [], ""
    if shutil.which("setpriv") is None:
        return [], "running as root without setpriv: chmod cannot make a file read-only to root"
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    probe = subprocess.run([*prefix, sys.executable, "-c", "import wattwise"], env=env(Path("/")),
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return [], f"cannot run Python as nobody: {probe.stderr.strip()[-200:]}"
    return prefix, ""


def shared_dir() -> Path:
    """A fresh folder the unprivileged writer may use (pytest's tmp_path is root's, 0700)."""
    import tempfile

    d = Path(tempfile.mkdtemp(prefix="wattwise-ro-"))
    d.chmod(0o777)
    return d


def as_writer(prefix: list[str], argv: list[str], root: Path, timeout_s: float = 120
              ) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` (behind ``prefix``) with its state and cache under ``root``."""
    e = env(root, XDG_CACHE_HOME=str(root / "cache"), XDG_DATA_HOME=str(root / "data"),
            HOME=str(root))
    return subprocess.run([*prefix, *argv], env=e, capture_output=True, text=True,
                          timeout=timeout_s, cwd=root)
