"""Helpers of the Prometheus tests: scrape and parse, a fake Pushgateway, a fake estimated
device (tests only)."""

from __future__ import annotations

import http.server
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from wattwise.readers.base import DeviceInfo, ProbeResult, Provenance, Reading


def scrape(url: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """GET ``url`` and parse it with prometheus_client's parser: sample name -> labels -> value."""

    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200
        text = resp.read().decode()
    return parse(text)


def parse(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def by(samples: dict[tuple[tuple[str, str], ...], float], key: str) -> dict[str, float]:
    """The values of one metric by the value of label ``key``."""
    return {dict(labels)[key]: v for labels, v in samples.items()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def fake_pushgateway() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    """A Pushgateway stand-in on a free port: records (method, path, body) of each push."""
    pushes: list[tuple[str, str, bytes]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _record(self) -> None:
            n = int(self.headers.get("Content-Length") or 0)
            pushes.append((self.command, self.path, self.rfile.read(n)))
            self.send_response(200)
            self.end_headers()

        do_PUT = do_POST = _record

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", pushes
    finally:
        server.shutdown()
        server.server_close()


class ModelReader:
    """A device whose energy comes from a model (provenance ``estimated``), ``power_w`` constant."""

    name = "fake-model"

    def __init__(self, clock: Callable[[], float], power_w: float) -> None:
        self.clock = clock
        self.power_w = power_w
        self.t0: float | None = None

    def probe(self) -> ProbeResult:
        return ProbeResult(self.name, True, "fake", tuple(self.open()))

    def open(self) -> list[DeviceInfo]:
        self.t0 = self.clock() if self.t0 is None else self.t0
        return [DeviceInfo("cpu-model:machine", "cpu", "CPU estimate", Provenance.ESTIMATED,
                           "model:fake")]  # fmt: skip

    def read(self) -> list[Reading]:
        assert self.t0 is not None
        t = self.clock()
        return [Reading("cpu-model:machine", t, energy_j=self.power_w * (t - self.t0))]

    def close(self) -> None:
        pass
