"""Starting the server to benchmark: ``--launch CMD`` (any command; ``{port}`` in it becomes a
free port) or ``--launch-builtin`` (``transformers serve`` of the exported built-in model on
this machine's CPU, offline). The server is ready when ``GET /v1/models`` answers 200; it is
stopped (its whole process group: SIGTERM, then SIGKILL) when the benchmark ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from wattwise.errors import ConfigError

#: Seconds a launched server may take to answer /v1/models.
DEFAULT_READY_TIMEOUT_S = 300.0
#: Seconds a stopped server gets between SIGTERM and SIGKILL.
STOP_GRACE_S = 10.0
#: Lines of the server's output shown when it fails to start.
LOG_TAIL_LINES = 15


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (bound to 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def list_models(base_url: str, timeout_s: float = 5.0) -> list[str]:
    """The model ids of ``GET {base_url}/models``; OSError / ValueError when it does not answer."""
    req = urllib.request.Request(base_url.rstrip("/") + "/models")
    with urllib.request.urlopen(req, timeout=timeout_s) as resp:
        doc = json.loads(resp.read().decode("utf-8"))
    return [str(m["id"]) for m in doc.get("data", []) if isinstance(m, dict) and "id" in m]


@dataclass
class Launched:
    """A server process we started, its ``/v1`` base URL and its log file."""

    proc: subprocess.Popen[bytes]
    base_url: str
    log_path: Path
    command: tuple[str, ...]

    def log_tail(self, n: int = LOG_TAIL_LINES) -> str:
        try:
            lines = self.log_path.read_text("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it after :data:`STOP_GRACE_S`; never raises."""
        if self.proc.poll() is not None:
            return
        with contextlib.suppress(OSError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def wait_ready(server: Launched, timeout_s: float) -> list[str]:
    """Poll ``/v1/models`` until it answers; ConfigError (with the log's tail) if the process
    exits or ``timeout_s`` passes first. Returns the served model ids."""
    deadline = time.monotonic() + timeout_s
    while True:
        if server.proc.poll() is not None:
            raise ConfigError(f"the server exited (code {server.proc.returncode}) before it "
                              f"answered {server.base_url}/models; its last output:\n"
                              f"{server.log_tail()}")  # fmt: skip
        with contextlib.suppress(OSError, ValueError):
            return list_models(server.base_url, timeout_s=2.0)
        if time.monotonic() > deadline:
            server.stop()
            raise ConfigError(f"the server did not answer {server.base_url}/models within "
                              f"{timeout_s:g} s; its last output:\n"
                              f"{server.log_tail()}")  # fmt: skip
        time.sleep(0.25)


def start(command: Sequence[str], base_url: str, env: dict[str, str] | None = None) -> Launched:
    """Start ``command`` in its own process group, its output to a temporary log file."""
    log_dir = Path(tempfile.mkdtemp(prefix="wattwise-serve-"))
    log_path = log_dir / "server.log"
    with open(log_path, "wb") as log:
        try:
            proc = subprocess.Popen(list(command), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True,
                                    env=env)  # fmt: skip
        except OSError as exc:
            raise ConfigError(f"cannot start {command[0]}: {exc.strerror or exc}") from None
    return Launched(proc, base_url, log_path, tuple(command))


def launch_command(text: str) -> tuple[list[str], str]:
    """``--launch CMD``: its argv with ``{port}`` replaced by a free port, and the base URL
    (``http://127.0.0.1:PORT/v1``; empty when CMD has no ``{port}``: give ``--url``)."""
    argv = shlex.split(text)
    if not argv:
        raise ConfigError("--launch needs a command")
    if not any("{port}" in a for a in argv):
        return argv, ""
    port = free_port()
    return [a.replace("{port}", str(port)) for a in argv], f"http://127.0.0.1:{port}/v1"


def builtin_command(model_dir: Path, port: int, max_sequences: int, max_len: int) -> list[str]:
    """``transformers serve`` of ``model_dir`` on CPU with continuous batching, its paged KV
    cache sized for ``max_sequences`` of ``max_len`` tokens (the default sizing, from the
    machine's memory, takes seconds longer to set up on a CPU)."""
    block = 32
    blocks = max(64, max_sequences * (max_len // block + 2))
    return [sys.executable, "-m", "transformers.cli.transformers", "serve", str(model_dir),
            "--host", "127.0.0.1", "--port", str(port), "--device", "cpu",
            "--continuous-batching", "--cb-block-size", str(block), "--cb-num-blocks",
            str(blocks), "--cb-max-batch-tokens", "512", "--log-level", "warning"]  # fmt: skip


@contextlib.contextmanager
def serving(command: Sequence[str], base_url: str, timeout_s: float,
            env: dict[str, str] | None = None) -> Iterator[tuple[Launched, list[str]]]:  # fmt: skip
    """Start the server, wait until it is ready, yield it and its model ids, stop it."""
    server = start(command, base_url, env)
    try:
        models = wait_ready(server, timeout_s)
        yield server, models
    finally:
        server.stop()


def builtin_env() -> dict[str, str]:
    """This process's environment with the Hugging Face hub off (no network at run time) and,
    unless ``OMP_NUM_THREADS`` is set already, torch on one thread: the built-in model (under a
    million parameters) decoded at 6.5 ms/token on one thread and 43–89 ms/token on two on a
    busy 2-core VM (``benchmarks/serve.md``): its steps are too small to share."""
    env = dict(os.environ)
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                "HF_HUB_DISABLE_TELEMETRY": "1"})  # fmt: skip
    env.setdefault("OMP_NUM_THREADS", "1")
    return env
