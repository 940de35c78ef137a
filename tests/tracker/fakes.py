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


#: Script entries of :class:`ScriptedReader` besides plain values.
RAISE = "<raise>"  # read() raises ReaderError
VANISH = "<vanish>"  # read() returns no reading for the device


class Rebased:
    """A script entry: a counter reading flagged ``rebased`` (continuing from ``energy_j``)."""

    def __init__(self, energy_j: object) -> None:
        self.energy_j = energy_j


class ScriptedReader:
    """One device whose every read returns the next scripted value, whatever it is.

    ``field`` is ``energy_j`` (a counter device, provenance measured) or ``power_w`` (a power
    device, integrated). A value is put in the reading as is (NaN, -5, inf, "garbage", None...);
    :data:`RAISE` makes ``read()`` raise, :data:`VANISH` omits the device, a :class:`Rebased`
    sets ``rebased``. After the script, the last entry repeats. ``extra`` readings (e.g. for an
    unknown device) are appended to every read.
    """

    def __init__(
        self,
        clock: Callable[[], float],
        script: list[object],
        *,
        field: str = "power_w",
        device_id: str = "fake:dev",
        extra: list[Reading] | None = None,
    ) -> None:
        self.clock = clock
        self.script = list(script)
        self.field = field
        self.device_id = device_id
        self.extra = extra or []
        self.name = f"scripted-{device_id}"
        self.i = 0

    def probe(self) -> ProbeResult:
        return ProbeResult(self.name, True, "fake", tuple(self.open()))

    def open(self) -> list[DeviceInfo]:
        prov = Provenance.MEASURED if self.field == "energy_j" else Provenance.INTEGRATED
        return [DeviceInfo(self.device_id, "gpu", "Scripted", prov, f"fake:{self.field}")]

    def read(self) -> list[Reading]:
        if not self.script:
            return list(self.extra)
        v = self.script[min(self.i, len(self.script) - 1)]
        self.i += 1
        if v == RAISE:
            raise ReaderError("scripted failure")
        if v == VANISH:
            return list(self.extra)
        if isinstance(v, Rebased):
            r = Reading(self.device_id, self.clock(), energy_j=v.energy_j, rebased=True)  # type: ignore[arg-type]
        else:
            r = Reading(self.device_id, self.clock(), **{self.field: v})  # type: ignore[arg-type]
        return [r, *self.extra]

    def close(self) -> None:
        pass


class RecordingSink:
    """A sink of the RunSink shape that records what it got; ``fail`` names methods that raise."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.samples: list[object] = []
        self.gaps: list[object] = []
        self.finished: list[object] = []
        self.fail: set[str] = set()

    def _maybe_fail(self, method: str) -> None:
        self.calls.append(method)
        if method in self.fail:
            raise OSError(f"database is locked ({method})")

    def begin_run(self, *args: object) -> None:
        self._maybe_fail("begin_run")

    def append_samples(self, run_id: str, samples: list[object]) -> None:
        self._maybe_fail("append_samples")
        self.samples += samples

    def append_gaps(self, run_id: str, gaps: list[object]) -> None:
        self._maybe_fail("append_gaps")
        self.gaps += gaps

    def heartbeat(self, run_id: str) -> None:
        self._maybe_fail("heartbeat")

    def finish_run(self, result: object) -> None:
        self._maybe_fail("finish_run")
        self.finished.append(result)
