"""Run the ``wattwise`` CLI as a user does: a separate process, real files, real exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def wattwise(
    *args: str, timeout: float = 120, cwd: Path | str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``wattwise ARGS`` in ``cwd`` (default: this one) with extra environment ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "wattwise", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_env(**env),
        stdin=subprocess.DEVNULL,
        cwd=cwd,
    )


def one_line_error(p: subprocess.CompletedProcess[str], code: int = 2) -> str:
    """Assert ``p`` failed with ``code`` and exactly one line on stderr, no traceback; return it."""
    lines = p.stderr.strip().splitlines()
    assert p.returncode == code, (p.returncode, p.stderr)
    assert len(lines) == 1, p.stderr
    assert "Traceback" not in p.stderr and "internal error" not in p.stderr, p.stderr
    return lines[0]
