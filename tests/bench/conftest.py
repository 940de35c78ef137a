"""Fixtures of the serving benchmark's tests: the canned-stream server in its own process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from integrations.requires import module

FAKE = Path(__file__).with_name("fakeserver.py")


@pytest.fixture(scope="session")
def fake_url() -> Iterator[str]:
    """``http://127.0.0.1:PORT/v1`` of a canned-stream server (tests/bench/fakeserver.py)."""
    module("httpx", "serving")
    proc = subprocess.Popen([sys.executable, str(FAKE)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    yield f"http://127.0.0.1:{port}/v1"
    proc.kill()
    proc.wait()
