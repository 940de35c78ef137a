"""Run a process with its stdout and stderr on a real pseudo-terminal (python's ``pty``), as a
user at a terminal sees it; bounded by a deadline."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from collections.abc import Sequence
from typing import IO


def run_in_pty(
    argv: Sequence[str],
    *,
    env: dict[str, str],
    timeout_s: float = 120.0,
    cwd: str | None = None,
    stdout_file: IO[bytes] | None = None,
) -> tuple[int, str]:
    """(exit code, everything written to the terminal, decoded) of ``argv``; the process is
    killed and the test fails if it runs past ``timeout_s``. ``stdout_file``: stdout goes there
    (a redirect, ``> file``) and only stderr to the terminal."""
    master, slave = pty.openpty()
    env = {**env, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    stdout = stdout_file if stdout_file is not None else slave
    proc = subprocess.Popen(
        list(argv), stdin=subprocess.DEVNULL, stdout=stdout, stderr=slave, env=env, cwd=cwd
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                proc.kill()
                proc.wait(5)
                raise AssertionError(f"{argv} ran past {timeout_s} s: {b''.join(chunks)!r}")
            ready, _, _ = select.select([master], [], [], min(left, 0.5))
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the other side closed (the process ended)
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                # ended; drain whatever is left without blocking
                while select.select([master], [], [], 0.1)[0]:
                    try:
                        data = os.read(master, 65536)
                    except OSError:
                        break
                    if not data:
                        break
                    chunks.append(data)
                break
        code = proc.wait(max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
    return code, b"".join(chunks).decode("utf-8", "replace")
