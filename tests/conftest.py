"""Shared test fixtures: an isolated ledger and data dir for every test, a fake clock."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's ledger or config; never read this machine's powercap tree."""
    monkeypatch.setenv("WATTWISE_DB", str(tmp_path / "ledger.db"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))  # the ledger's spool
    for var in (
        "WATTWISE_COUNTRY",
        "WATTWISE_REGION",
        "WATTWISE_CLOUD",
        "WATTWISE_CLOUD_REGION",
        "WATTWISE_PUE",
        "WATTWISE_POWERCAP_ROOT",
        "CUDA_VISIBLE_DEVICES",
        "WATTWISE_SERVER_URL",  # never push a test's runs to the developer's team server
        "WATTWISE_SERVER_DB",
        "WATTWISE_TOKEN",
    ):
        monkeypatch.delenv(var, raising=False)


class FakeClock:
    """A monotonic clock moved by hand."""

    def __init__(self, t_s: float = 1000.0) -> None:
        self.t_s = t_s

    def __call__(self) -> float:
        return self.t_s

    def advance(self, dt_s: float) -> None:
        self.t_s += dt_s


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
