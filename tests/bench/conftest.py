"""Fixtures of the serving benchmark's tests: the canned-stream server in its own process, and
one real ``transformers serve`` of the exported built-in model for the session (``served``:
tests/bench/test_audit_serve.py and test_transformers_serve.py, whose last test stops it)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.served import Served
from integrations.requires import module

FAKE = Path(__file__).with_name("fakeserver.py")
#: The test that stops the session's ``served`` server: always collected last.
STOPS_SERVED = "test_server_stopped_mid_run_counts_failures"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the test that stops the shared ``transformers serve`` after every other one, in
    whatever order the files were given."""
    items.sort(key=lambda item: item.name == STOPS_SERVED)  # stable: the rest keep their order


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


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    module("httpx", "serving")
    module("fastapi", "serving")
    from wattwise.bench import launch
    from wattwise.bench.export import export_builtin

    torch = module("torch", "serving")
    d = tmp_path_factory.mktemp("serve")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # trains the tiny model 3x faster on a shared 2-core machine
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("XDG_CACHE_HOME", str(d / "cache"))
            model_dir = export_builtin("tiny")
    finally:
        torch.set_num_threads(threads)
    port = launch.free_port()
    cmd = launch.builtin_command(model_dir, port, 8, 256)
    with launch.serving(cmd, f"http://127.0.0.1:{port}/v1", 240.0, launch.builtin_env()) as (
        server,
        models,
    ):
        yield Served(server.base_url, models[0], server, model_dir)
