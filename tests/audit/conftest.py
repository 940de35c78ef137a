"""One real audit on a tiny budget, shared by the audit tests (it takes a few seconds)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli.clirun import wattwise

HAS_TORCH = importlib.util.find_spec("torch") is not None


@dataclass
class TinyAudit:
    db: Path
    html: Path
    stderr: str
    returncode: int
    env: dict[str, str]


@pytest.fixture(scope="session")
def tiny_audit(tmp_path_factory: pytest.TempPathFactory) -> TinyAudit:
    """``wattwise audit`` of the built-in workload with the tiny model and a 3 s lab budget."""
    d = tmp_path_factory.mktemp("audit")
    env = {
        "WATTWISE_DB": str(d / "ledger.db"),
        "XDG_CACHE_HOME": str(d / "cache"),
        "XDG_DATA_HOME": str(d / "data"),
    }
    html = d / "report.html"
    p = wattwise(
        "audit",
        "--size",
        "tiny",
        "--budget-s",
        "3",
        "--techniques",
        "int8-dynamic,prune-structured",
        "--scale-requests-per-day",
        "50000",
        "--out",
        str(html),
        timeout=300,
        **env,
    )
    return TinyAudit(d / "ledger.db", html, p.stderr, p.returncode, env)
