"""Energy from a remote ``wattwise exporter``: a reader whose counters are the exporter's
``wattwise_energy_joules_total{device,kind,provenance}``, scraped over HTTP (Prometheus text
format 0.0.4), so a tracker on the benchmarking host measures the server's host.

Each remote device keeps the provenance its exporter gave it (a RAPL or NVML counter stays
``measured``, a CPU model stays ``estimated``); its source names the URL. A scrape returns the
exporter's latest readings, as fresh as its sampling interval (``wattwise exporter
--interval``, 1 s by default): a window's boundaries are that coarse, which matters for short
windows, and the benchmark says so in its notes.
"""

from __future__ import annotations

import math
import re
import time
import urllib.request
from collections.abc import Iterator
from typing import TYPE_CHECKING

from wattwise.core.provenance import Provenance
from wattwise.errors import ReaderError, ReaderUnavailable
from wattwise.readers.base import DeviceInfo, Reading

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.readers.probe import ProbeResult

ENERGY_METRIC = "wattwise_energy_joules_total"
INFO_METRIC = "wattwise_device_info"
#: Seconds a scrape may take before the reading is a gap.
SCRAPE_TIMEOUT_S = 5.0
_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?\s*$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*')


def _unescape(value: str) -> str:
    return value.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")


def parse_text(text: str) -> Iterator[tuple[str, dict[str, str], float]]:
    """``(metric name, labels, value)`` of every sample line of a Prometheus text exposition;
    comments and lines that are not samples are skipped."""
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if m is None:
            continue
        labels = {k: _unescape(v) for k, v in _LABEL.findall(m.group(3) or "")}
        try:
            value = float(m.group(4))
        except ValueError:
            continue
        yield m.group(1), labels, value


def _provenance(text: str) -> Provenance:
    try:
        return Provenance(text)
    except ValueError:
        return Provenance.ESTIMATED


class ExporterReader:
    """A :class:`~wattwise.readers.base.Reader` of the remote exporter at ``url`` (its
    ``/metrics``)."""

    name = "exporter"

    def __init__(self, url: str, timeout_s: float = SCRAPE_TIMEOUT_S) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.last_errors: dict[str, str] = {}
        self._base: dict[str, float] = {}  # the last raw counter value per remote device
        self._cum: dict[str, float] = {}
        self._devices: list[DeviceInfo] = []

    def _scrape(self) -> str:
        req = urllib.request.Request(self.url, headers={"Accept": "text/plain"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                body: bytes = resp.read()
        except (OSError, ValueError) as exc:
            raise ReaderError(f"cannot scrape {self.url}: {exc}") from exc
        return body.decode("utf-8", "replace")

    def _energies(self, text: str) -> dict[str, tuple[dict[str, str], float]]:
        out: dict[str, tuple[dict[str, str], float]] = {}
        for metric, labels, value in parse_text(text):
            if metric == ENERGY_METRIC and "device" in labels and math.isfinite(value):
                out[labels["device"]] = (labels, value)
        return out

    def probe(self) -> ProbeResult:
        from wattwise.readers.probe import ProbeResult

        try:
            devices = self.open()
        except ReaderUnavailable as exc:
            return ProbeResult(self.name, False, str(exc))
        return ProbeResult(self.name, True, f"{len(devices)} device(s) at {self.url}",
                           tuple(devices))  # fmt: skip

    def open(self) -> list[DeviceInfo]:
        if self._devices:
            return self._devices
        try:
            text = self._scrape()
        except ReaderError as exc:
            raise ReaderUnavailable(str(exc)) from exc
        energies = self._energies(text)
        if not energies:
            raise ReaderUnavailable(f"{self.url} has no {ENERGY_METRIC} samples: is it a "
                                    "`wattwise exporter`?")  # fmt: skip
        info = {lab["device"]: lab for m, lab, _ in parse_text(text) if m == INFO_METRIC}
        for dev, (labels, value) in sorted(energies.items()):
            extra = info.get(dev, {})
            self._base[dev] = value
            self._devices.append(DeviceInfo(
                device_id=f"remote:{dev}", kind=labels.get("kind", "other"),
                name=extra.get("name", dev), provenance=_provenance(labels.get("provenance", "")),
                source=f"exporter:{self.url} ({extra.get('source', 'source not given')})",
                params={"remote_device": dev},
            ))  # fmt: skip
        return self._devices

    def read(self) -> list[Reading]:
        now = time.monotonic()
        energies = self._energies(self._scrape())
        out: list[Reading] = []
        for dev, last in self._base.items():
            if dev not in energies:
                self.last_errors[f"remote:{dev}"] = "missing from the scrape"
                continue
            self.last_errors.pop(f"remote:{dev}", None)
            raw = energies[dev][1]
            self._base[dev] = raw
            # A counter that went down: the exporter restarted; that interval is unknown.
            rebased = raw < last
            self._cum[dev] = self._cum.get(dev, 0.0) + (0.0 if rebased else raw - last)
            out.append(Reading(f"remote:{dev}", now, energy_j=self._cum[dev], rebased=rebased))
        return out

    def close(self) -> None:
        return None
