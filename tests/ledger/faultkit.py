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
    tmp_path: Path, db: Path, duration_s: float, *events: tuple[float, str], budget_s: float = 30.0
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
