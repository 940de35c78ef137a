"""Fake readers of the Reader protocol's shape, driven by a fake clock (tests only)."""

from __future__ import annotations

from collections.abc import Callable

from wattwise.errors import ReaderError
from wattwise.readers.base import DeviceInfo, ProbeResult, Provenance, Reading


class CounterReader:
    """A device with an energy counter whose power is ``power_w(t)`` (integrated exactly)."""

    name = "fake-counter"

    def __init__(
        self,
        clock: Callable[[], float],
        power_w: float,
        device_id: str = "fake:cpu",
        kind: str = "cpu",
    ) -> None:
        self.clock = clock
        self.power_w = power_w
        self.device_id = device_id
        self.kind = kind
        self.fail = False
        self.energy_j = 0.0
        self._last_t: float | None = None
        self.reads = 0

    def _advance(self) -> None:
        t = self.clock()
        if self._last_t is not None:
            self.energy_j += self.power_w * (t - self._last_t)
        self._last_t = t

    def probe(self) -> ProbeResult:
        return ProbeResult(self.name, True, "fake", tuple(self.open()))

    def open(self) -> list[DeviceInfo]:
        self._advance()
        return [
            DeviceInfo(
                self.device_id, self.kind, "Fake counter", Provenance.MEASURED, "fake:counter"
            )
        ]

    def read(self) -> list[Reading]:
        self._advance()  # the hidden counter keeps counting even while reads fail
        self.reads += 1
        if self.fail:
            raise ReaderError("device fell off the bus")
        return [Reading(self.device_id, self.clock(), energy_j=self.energy_j)]

    def close(self) -> None:
        pass


class PowerReader:
    """A device that only reports instantaneous power."""

    name = "fake-power"

    def __init__(
        self, clock: Callable[[], float], power_w: float, device_id: str = "fake:gpu"
    ) -> None:
        self.clock = clock
        self.power_w = power_w
        self.device_id = device_id

    def probe(self) -> ProbeResult:
        return ProbeResult(self.name, True, "fake", tuple(self.open()))

    def open(self) -> list[DeviceInfo]:
        return [DeviceInfo(self.device_id, "gpu", "Fake GPU", Provenance.INTEGRATED, "fake:power")]

    def read(self) -> list[Reading]:
        return [Reading(self.device_id, self.clock(), power_w=self.power_w)]

    def close(self) -> None:
        pass


class BrokenReader:
    """Raises on every call, open included."""

    name = "broken"

    def probe(self) -> ProbeResult:
        return ProbeResult(self.name, False, "always broken")

    def open(self) -> list[DeviceInfo]:
        raise ReaderError("cannot open")

    def read(self) -> list[Reading]:
        raise ReaderError("cannot read")

    def close(self) -> None:
        raise RuntimeError("cannot close")
