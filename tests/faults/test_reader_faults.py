"""Fault injection at the readers: values that cannot be true, glitches, devices that vanish.

Each reader runs against its real interface shape: RAPL on a real powercap-like directory tree
(``readers/fake_powercap.py``), NVML and amdsmi on fakes of the vendor modules
(``readers/fake_nvml.py``, ``readers/fake_amdsmi.py``). A *rig* holds one device whose hardware
keeps an exact count of the energy (the truth) and can show a bad value instead of it, vanish, or
restart its counter. Runs are driven through the real :class:`~wattwise.tracker.core.Tracker`
on a fake clock, one sample a second.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest

from conftest import FakeClock
from readers.fake_amdsmi import FakeAmdSmi, mi300x
from readers.fake_nvml import NVML_ERROR_GPU_IS_LOST, FakeNvml, h100, p100
from readers.fake_powercap import make_powercap, write_uj
from wattwise.readers.amd import AmdSmiReader
from wattwise.readers.base import Provenance, Reader
from wattwise.readers.nvml import NvmlReader
from wattwise.readers.rapl import RaplReader
from wattwise.tracker.core import Tracker
from wattwise.tracker.model import RunResult

POWER_W = 100.0
#: The bad values every reader is fed, by name; each rig shows them in its interface's form.
BAD = ("nan", "negative", "inf", "garbage", "absurd", "low")


class RaplRig:
    """A package-0 zone on a powercap tree; its energy_uj file is the hardware."""

    counter = True
    shown: ClassVar[dict[str, Any]] = {
        "nan": "nan",
        "negative": "-5",
        "inf": "inf",
        "garbage": "0x1f",
        "absurd": "999999999999999999",  # above max_energy_range_uj
        "low": "5",  # in range, but as a wrap it would be ~262 kJ in a second
    }

    def __init__(self, tmp_path: Path, clock: FakeClock) -> None:
        self.truth = 200_000_000_000  # µJ: 200 kJ into the 262 kJ range
        zone = {"name": "package-0", "energy_uj": self.truth}
        self.root = make_powercap(tmp_path, {"intel-rapl:0": zone})
        self.reader: Reader = RaplReader(self.root, clock=clock)
        self.device_id = "rapl:package-0"
        self._file = self.root / "intel-rapl:0" / "energy_uj"
        self._gone = False

    def tick(self, dt_s: float) -> None:
        self.truth += round(POWER_W * dt_s * 1e6)
        if not self._gone:
            write_uj(self.root, "intel-rapl:0", self.truth)

    def show(self, bad: str) -> None:
        self._file.write_text(self.shown[bad] + "\n")

    def vanish(self) -> None:
        self._gone = True
        self._file.unlink()

    def restore(self) -> None:
        self._gone = False
        write_uj(self.root, "intel-rapl:0", self.truth)

    def restart(self) -> None:
        self.truth = 1_000


class NvmlCounterRig:
    """An H100 with the total-energy counter (mJ)."""

    counter = True
    shown: ClassVar[dict[str, Any]] = {
        "nan": math.nan,
        "negative": -5,
        "inf": math.inf,
        "garbage": "garbage",
        "absurd": 2**70,
        "low": 5,
    }

    def __init__(self, tmp_path: Path, clock: FakeClock) -> None:
        self.gpu = h100(0)
        self.truth: int = self.gpu.energy_mj
        self.reader: Reader = NvmlReader(nvml=FakeNvml([self.gpu]), clock=clock, environ={})
        self.device_id = f"nvml:{self.gpu.uuid}"

    def tick(self, dt_s: float) -> None:
        self.truth += round(POWER_W * dt_s * 1e3)
        self.gpu.energy_mj = self.truth

    def show(self, bad: str) -> None:
        self.gpu.energy_mj = self.shown[bad]

    def vanish(self) -> None:
        self.gpu.fail_after, self.gpu.fail_code = 0, NVML_ERROR_GPU_IS_LOST

    def restore(self) -> None:
        self.gpu.fail_after, self.gpu.energy_mj = None, self.truth

    def restart(self) -> None:
        self.truth = 2_000


class AmdCounterRig:
    """An MI300X with the energy accumulator (counts of 15.3 µJ)."""

    counter = True
    shown = NvmlCounterRig.shown

    def __init__(self, tmp_path: Path, clock: FakeClock) -> None:
        self.gpu = mi300x(0)
        self.truth_uj: float = self.gpu.energy_counts * self.gpu.counter_resolution_uj
        self.reader: Reader = AmdSmiReader(amdsmi=FakeAmdSmi([self.gpu]), clock=clock, environ={})
        self.device_id = f"amdsmi:{self.gpu.uuid}"

    def _counts(self) -> float:
        return self.truth_uj / self.gpu.counter_resolution_uj

    def tick(self, dt_s: float) -> None:
        self.truth_uj += POWER_W * dt_s * 1e6
        self.gpu.energy_counts = self._counts()

    def show(self, bad: str) -> None:
        self.gpu.energy_counts = self.shown[bad]

    def vanish(self) -> None:
        self.gpu.fail_after = 0

    def restore(self) -> None:
        self.gpu.fail_after, self.gpu.energy_counts = None, self._counts()

    def restart(self) -> None:
        self.truth_uj = 100 * self.gpu.counter_resolution_uj


class NvmlPowerRig:
    """A P100 without the energy counter: power samples in mW."""

    counter = False
    shown: ClassVar[dict[str, Any]] = {
        "nan": math.nan,
        "negative": -5_000,
        "inf": math.inf,
        "garbage": "garbage",
        "absurd": 10**9,  # 1 MW
    }

    def __init__(self, tmp_path: Path, clock: FakeClock) -> None:
        self.gpu = p100(0)
        self.gpu.power_mw = round(POWER_W * 1e3)
        self.reader: Reader = NvmlReader(nvml=FakeNvml([self.gpu]), clock=clock, environ={})
        self.device_id = f"nvml:{self.gpu.uuid}"

    def tick(self, dt_s: float) -> None:
        self.gpu.power_mw = round(POWER_W * 1e3)

    def show(self, bad: str) -> None:
        self.gpu.power_mw = self.shown[bad]

    def vanish(self) -> None:
        self.gpu.fail_after, self.gpu.fail_code = 0, NVML_ERROR_GPU_IS_LOST

    def restore(self) -> None:
        self.gpu.fail_after = None


class AmdPowerRig:
    """An MI300X without the energy counter: current_socket_power in W."""

    counter = False
    shown: ClassVar[dict[str, Any]] = {
        "nan": math.nan,
        "negative": -5,
        "inf": math.inf,
        "garbage": "N/A",
        "absurd": 10**6,
    }

    def __init__(self, tmp_path: Path, clock: FakeClock) -> None:
        self.gpu = mi300x(0, energy_counts=None, current_socket_power_w=int(POWER_W))
        self.reader: Reader = AmdSmiReader(amdsmi=FakeAmdSmi([self.gpu]), clock=clock, environ={})
        self.device_id = f"amdsmi:{self.gpu.uuid}"

    def tick(self, dt_s: float) -> None:
        self.gpu.current_socket_power_w = int(POWER_W)

    def show(self, bad: str) -> None:
        self.gpu.current_socket_power_w = self.shown[bad]

    def vanish(self) -> None:
        self.gpu.fail_after = 0

    def restore(self) -> None:
        self.gpu.fail_after = None


Rig = RaplRig | NvmlCounterRig | AmdCounterRig | NvmlPowerRig | AmdPowerRig
COUNTER_RIGS: dict[str, Callable[[Path, FakeClock], Rig]] = {
    "rapl": RaplRig,
    "nvml": NvmlCounterRig,
    "amdsmi": AmdCounterRig,
}
POWER_RIGS: dict[str, Callable[[Path, FakeClock], Rig]] = {
    "nvml-power": NvmlPowerRig,
    "amdsmi-power": AmdPowerRig,
}
ALL_RIGS = {**COUNTER_RIGS, **POWER_RIGS}


def run(
    rig: Rig, clock: FakeClock, faults: dict[int, Callable[[], None]], seconds: int = 6
) -> RunResult:
    """A tracked run of ``seconds`` at POWER_W; ``faults[s]`` acts on the rig before sample s."""
    t = Tracker("faults", readers=[rig.reader], clock=clock, sampler=False).start()
    for second in range(1, seconds + 1):
        clock.advance(1.0)
        rig.tick(1.0)
        if second in faults:
            faults[second]()
        t.sample()  # never raises, whatever the reader is fed
    return t.stop()


def device_gaps(res: RunResult, device_id: str) -> list[tuple[float, float | None, str]]:
    return [(g.start_s, g.end_s, g.error) for g in res.gaps if g.device_id == device_id]


def assert_sane(res: RunResult) -> None:
    for c in res.components:
        assert math.isfinite(c.energy_j) and c.energy_j >= 0.0
    assert math.isfinite(res.energy.total_j)


# ---------------------------------------------------------------------- regression: defect 7
@pytest.mark.parametrize("glitch", ["5", "999999999999999999"])
def test_rapl_glitch_is_not_a_wrap_so_an_8s_run_at_55w_reports_440j_not_72wh(
    tmp_path: Path, clock: FakeClock, glitch: str
) -> None:
    energy_uj = 1_000_000
    root = make_powercap(tmp_path, {"intel-rapl:0": {"name": "package-0", "energy_uj": energy_uj}})
    t = Tracker(
        "glitch", readers=[RaplReader(root, clock=clock)], clock=clock, sampler=False
    ).start()
    for second in range(1, 9):
        clock.advance(1.0)
        energy_uj += 55_000_000  # 55 W
        glitching = second in (3, 4)  # energy_uj reads the glitch for 2 s
        (root / "intel-rapl:0" / "energy_uj").write_text(
            f"{glitch if glitching else energy_uj}\n"
        )
        t.sample()
    res = t.stop()
    assert res.energy.total_j == pytest.approx(440.0)  # was 72.9 Wh, "measured"
    assert res.energy.provenance is Provenance.MEASURED  # the counter kept counting
    ((start_s, end_s, error),) = device_gaps(res, "rapl:package-0")
    assert (start_s, end_s) == (pytest.approx(3.0), pytest.approx(5.0))
    assert "glitch" in error and "energy_uj of package-0" in error


# ---------------------------------------------------------------------- bad values
@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("name", list(COUNTER_RIGS))
def test_counter_fed_a_bad_value_leaves_a_gap_and_loses_nothing(
    tmp_path: Path, clock: FakeClock, name: str, bad: str
) -> None:
    rig = COUNTER_RIGS[name](tmp_path, clock)
    res = run(rig, clock, {2: lambda: rig.show(bad), 3: lambda: rig.show(bad)})
    assert_sane(res)
    assert res.energy.total_j == pytest.approx(6 * POWER_W)
    assert res.energy.provenance is Provenance.MEASURED
    ((start_s, end_s, error),) = device_gaps(res, rig.device_id)
    assert (start_s, end_s) == (pytest.approx(2.0), pytest.approx(4.0))
    assert "glitch" in error


@pytest.mark.parametrize("bad", BAD[:5])
@pytest.mark.parametrize("name", list(POWER_RIGS))
def test_power_sample_that_cannot_be_true_is_a_gap_not_a_number(
    tmp_path: Path, clock: FakeClock, name: str, bad: str
) -> None:
    rig = POWER_RIGS[name](tmp_path, clock)
    res = run(rig, clock, {2: lambda: rig.show(bad), 3: lambda: rig.show(bad)})
    assert_sane(res)
    # Constant power: integrating across the gap is exact, and no bad sample entered it.
    assert res.energy.total_j == pytest.approx(6 * POWER_W)
    ((start_s, end_s, error),) = device_gaps(res, rig.device_id)
    assert (start_s, end_s) == (pytest.approx(2.0), pytest.approx(4.0))
    assert "glitch" in error
    assert all(
        s.power_w is None or (math.isfinite(s.power_w) and 0 <= s.power_w <= 1e3)
        for s in res.samples
    )


# ---------------------------------------------------------------------- vanish and come back
@pytest.mark.parametrize("name", list(ALL_RIGS))
def test_device_that_vanishes_and_comes_back_loses_nothing(
    tmp_path: Path, clock: FakeClock, name: str
) -> None:
    rig = ALL_RIGS[name](tmp_path, clock)
    res = run(rig, clock, {2: rig.vanish, 4: rig.restore})
    assert_sane(res)
    assert res.energy.total_j == pytest.approx(6 * POWER_W)
    ((start_s, end_s, error),) = device_gaps(res, rig.device_id)
    assert (start_s, end_s) == (pytest.approx(2.0), pytest.approx(4.0))
    assert error  # the interface's own reason (file missing, GPU lost, I/O error)


@pytest.mark.parametrize("name", list(ALL_RIGS))
def test_device_that_vanishes_for_good_is_a_gap_to_the_end(
    tmp_path: Path, clock: FakeClock, name: str
) -> None:
    rig = ALL_RIGS[name](tmp_path, clock)
    res = run(rig, clock, {3: rig.vanish})
    assert_sane(res)
    ((start_s, end_s, _error),) = device_gaps(res, rig.device_id)
    assert start_s == pytest.approx(3.0) and end_s is None


@pytest.mark.parametrize("name", list(COUNTER_RIGS))
def test_device_back_with_a_restarted_counter_is_rebased_not_a_jump(
    tmp_path: Path, clock: FakeClock, name: str
) -> None:
    rig = COUNTER_RIGS[name](tmp_path, clock)

    def back_restarted() -> None:
        rig.restart()  # type: ignore[union-attr]
        rig.tick(0.0)
        rig.restore()

    res = run(rig, clock, {2: rig.vanish, 4: back_restarted})
    assert_sane(res)
    (measured,) = [c for c in res.components if c.device_id == rig.device_id]
    # Good at 1 s; back at 4 s with a counter that cannot follow; re-based at 5 s; +1 s to 6 s.
    assert measured.energy_j == pytest.approx(2 * POWER_W)  # no 2**64 or 262 kJ jump
    assert res.energy.total_j <= 6 * POWER_W * 1.01


@pytest.mark.parametrize("name", list(COUNTER_RIGS))
def test_rebased_interval_is_estimated_by_the_tracker(
    tmp_path: Path, clock: FakeClock, name: str
) -> None:
    rig = COUNTER_RIGS[name](tmp_path, clock)

    def back_restarted() -> None:
        rig.restart()  # type: ignore[union-attr]
        rig.tick(0.0)
        rig.restore()

    res = run(rig, clock, {2: rig.vanish, 4: back_restarted})
    estimated = [c for c in res.components if c.provenance is Provenance.ESTIMATED]
    assert estimated, "the re-based interval must be counted as missing and estimated"
    assert res.energy.total_j == pytest.approx(6 * POWER_W, rel=0.01)


# ---------------------------------------------------------------------- a binding gone odd
def test_binding_answering_in_the_wrong_shape_is_one_readable_line(clock: FakeClock) -> None:
    good, odd = mi300x(0), mi300x(1)
    fake = FakeAmdSmi([good, odd])
    reader = AmdSmiReader(amdsmi=fake, clock=clock, environ={})
    reader.open()
    real = fake.amdsmi_get_energy_count

    def wrong_shape(handle: Any) -> Any:
        return 12345 if handle.position == 1 else real(handle)  # not the dict amdsmi returns

    fake.amdsmi_get_energy_count = wrong_shape  # type: ignore[method-assign]
    readings = reader.read()  # never raises: the good GPU is still measured
    assert [r.device_id for r in readings] == [f"amdsmi:{good.uuid}"]
    message = reader.last_errors[f"amdsmi:{odd.uuid}"]
    assert "AttributeError" in message and "\n" not in message


def test_every_gpu_failing_is_one_reader_error_the_tracker_records(clock: FakeClock) -> None:
    a, b = h100(0), h100(1)
    reader = NvmlReader(nvml=FakeNvml([a, b]), clock=clock, environ={})
    t = Tracker("lost", readers=[reader], clock=clock, sampler=False).start()
    clock.advance(1.0)
    a.fail_after = b.fail_after = 0
    t.sample()
    res = t.stop()
    assert {g.device_id for g in res.gaps} == {f"nvml:{a.uuid}", f"nvml:{b.uuid}"}
    assert all("the GPU is lost" in g.error for g in res.gaps)
    assert_sane(res)
