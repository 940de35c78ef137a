from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from disclose.fixedrun import store
from wattwise.cli import main


@pytest.fixture(scope="module")
def ledger_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite ledger holding the fixed run, shared by a module's tests."""
    db = tmp_path_factory.mktemp("ledger") / "ledger.db"
    store(db)
    return db


Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    """``wattwise ARGS`` in-process: (exit code, stdout, stderr); no config file or WATTWISE_*
    variable of the machine leaks in."""
    import os

    for k in list(os.environ):
        if k.startswith("WATTWISE_"):
            monkeypatch.delenv(k)
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:
                code = int(exc.code or 0)
        return code, out.getvalue(), err.getvalue()

    return run
