"""AmdSmiReader over a fake amdsmi module of the real one's shape (tests/readers/fake_amdsmi.py)."""

from __future__ import annotations

import sys

import pytest

from readers.fake_amdsmi import (
    AMDSMI_STATUS_DRIVER_NOT_LOADED,
    AMDSMI_STATUS_FAIL_LOAD_MODULE,
    AmdSmiException,
    FakeAmdSmi,
    mi300x,
)
from wattwise.errors import ConfigError, ReaderError, ReaderUnavailable
from wattwise.readers.amd import ENERGY_SOURCE, AmdSmiReader
from wattwise.readers.base import Provenance, Reader


class TickClock:
    def __init__(self) -> None:
        self.t = 50.0

    def __call__(self) -> float:
        self.t += 0.002
        return self.t


def make(fake: FakeAmdSmi, env: dict[str, str] | None = None, **kw: object) -> AmdSmiReader:
    return AmdSmiReader(amdsmi=fake, clock=TickClock(), environ=env or {}, **kw)  # type: ignore[arg-type]


def test_is_a_reader() -> None:
    assert isinstance(make(FakeAmdSmi([mi300x(0)])), Reader)


@pytest.mark.parametrize("legacy", [False, True])
def test_energy_counter_times_resolution_since_open(legacy: bool) -> None:
    gpu = mi300x(0, legacy_energy_key=legacy)
    start = gpu.energy_counts
    assert start is not None
    reader = make(FakeAmdSmi([gpu]))
    (info,) = reader.open()
    assert info.provenance is Provenance.MEASURED and info.source == ENERGY_SOURCE
    assert info.device_id == f"amdsmi:{gpu.uuid}" and info.name == gpu.name and info.kind == "gpu"
    assert info.params["counter_resolution_uj"] == f"{gpu.counter_resolution_uj:g}"
    assert info.params["power_limit_w"] == f"{gpu.power_cap_uw / 1e6:g}"
    (r0,) = reader.read()
    assert r0.energy_j == 0.0
    gpu.energy_counts = start + 1_000_000
    (r1,) = reader.read()
    assert r1.energy_j == pytest.approx(1_000_000 * gpu.counter_resolution_uj / 1e6)
    assert r1.timestamp_s > r0.timestamp_s
    reader.close()


def test_counter_unsupported_uses_the_available_power_key() -> None:
    new = mi300x(0, energy_counts=None)  # MI300: current_socket_power, average is N/A
    old = mi300x(1, energy_counts=None, current_socket_power_w="N/A", average_socket_power_w=180)
    reader = make(FakeAmdSmi([new, old]))
    infos = reader.open()
    assert [i.provenance for i in infos] == [Provenance.INTEGRATED] * 2
    assert [i.source for i in infos] == [
        "amdsmi:amdsmi_get_power_info[current_socket_power]",
        "amdsmi:amdsmi_get_power_info[average_socket_power]",
    ]
    assert [r.power_w for r in reader.read()] == [new.current_socket_power_w, 180.0]


def test_failing_mid_run_gives_one_readable_line() -> None:
    gpu = mi300x(0, fail_after=2)  # one read at open, one in the run, then I/O errors
    reader = make(FakeAmdSmi([gpu]))
    reader.open()
    reader.read()
    with pytest.raises(ReaderError) as err:
        reader.read()
    message = str(err.value)
    assert "AMDSMI_STATUS_IO" in message and "AMD GPU 0" in message and "\n" not in message
    assert isinstance(err.value.__cause__, AmdSmiException)
    assert not isinstance(err.value, AmdSmiException)


def test_partial_failure_keeps_the_working_gpu() -> None:
    good, bad = mi300x(0), mi300x(1, fail_after=1)
    reader = make(FakeAmdSmi([good, bad]))
    reader.open()
    assert [r.device_id for r in reader.read()] == [f"amdsmi:{good.uuid}"]
    assert list(reader.last_errors) == [f"amdsmi:{bad.uuid}"]


def test_amdsmi_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "amdsmi", None)
    probe = AmdSmiReader(environ={}).probe()
    assert not probe.available and 'pip install "wattwise[amd]"' in probe.reason


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (AMDSMI_STATUS_FAIL_LOAD_MODULE, "libamd_smi.so"),
        (AMDSMI_STATUS_DRIVER_NOT_LOADED, "amdgpu"),
    ],
)
def test_library_or_driver_problem(code: int, words: str) -> None:
    reader = make(FakeAmdSmi([mi300x(0)], init_error=code))
    probe = reader.probe()
    assert not probe.available and words in probe.reason
    with pytest.raises(ReaderUnavailable, match=words):
        reader.open()


def test_probe_details_and_balanced_shutdown() -> None:
    fake = FakeAmdSmi([mi300x(0), mi300x(1)])
    probe = make(fake).probe()
    assert probe.available and len(probe.devices) == 2
    assert probe.details["gpu_count"] == "2"
    assert probe.details["gpu.1"] == f"{fake.gpus[1].name} ({fake.gpus[1].uuid})"
    assert fake.shutdowns == 1 and not fake.initialised


def test_hip_order_from_enumeration_info() -> None:
    a, b = mi300x(0, hip_id=1), mi300x(1, hip_id=0)  # amdsmi lists a first, HIP numbers b first
    reader = make(FakeAmdSmi([a, b]), {"HIP_VISIBLE_DEVICES": "0"})
    (info,) = reader.open()
    assert info.params["uuid"] == b.uuid and info.params["index"] == "0"
    assert reader.probe().details["order"].startswith("HIP order")


def test_visibility_variables() -> None:
    fake = FakeAmdSmi([mi300x(0), mi300x(1), mi300x(2)])
    uuids = [g.uuid for g in fake.gpus]
    rocr_then_hip = {"ROCR_VISIBLE_DEVICES": "2,1", "HIP_VISIBLE_DEVICES": "1"}
    assert [i.params["uuid"] for i in make(fake, rocr_then_hip).open()] == [uuids[1]]
    by_uuid = {"ROCR_VISIBLE_DEVICES": f"GPU-{uuids[2]}"}
    assert [i.params["uuid"] for i in make(fake, by_uuid).open()] == [uuids[2]]
    with pytest.raises(ReaderUnavailable, match="hides every AMD GPU"):
        make(fake, {"HIP_VISIBLE_DEVICES": ""}).open()
    overridden = make(fake, {"HIP_VISIBLE_DEVICES": "0"}, gpus=[2])
    assert [i.params["uuid"] for i in overridden.open()] == [uuids[2]]


def test_unknown_selection_lists_available() -> None:
    fake = FakeAmdSmi([mi300x(0)])
    reader = make(fake, {"HIP_VISIBLE_DEVICES": "3"})
    with pytest.raises(ConfigError) as err:
        reader.open()
    assert "'3'" in str(err.value) and fake.gpus[0].uuid in str(err.value)
    assert not fake.initialised  # released after the failed open
    assert not reader.probe().available


def test_close_never_raises_and_read_needs_open() -> None:
    fake = FakeAmdSmi([mi300x(0)])
    reader = make(fake)
    reader.close()
    reader.open()

    def broken() -> None:
        raise RuntimeError("boom")

    fake.amdsmi_shut_down = broken  # type: ignore[method-assign]
    reader.close()
    reader.close()
    with pytest.raises(ReaderError, match="not open"):
        reader.read()


# ---------------------------------------------------------------------- value sanity (issue 10)
def test_plausible_power_from_the_power_cap_info() -> None:
    (info,) = make(FakeAmdSmi([mi300x(0, max_power_cap_uw=1_000_000_000)])).open()
    assert info.params["plausible_max_power_w"] == "2000"
    (fallback,) = make(FakeAmdSmi([mi300x(1)])).open()  # max N/A: 2 x the set cap (750 W)
    assert fallback.params["plausible_max_power_w"] == "1500"


@pytest.mark.parametrize("bad", [float("nan"), -3, "N/A", [], 2**70], ids=repr)
def test_accumulator_that_cannot_be_true_is_a_glitch_then_continues_exactly(bad: object) -> None:
    gpu = mi300x(0)
    start = gpu.energy_counts
    reader = make(FakeAmdSmi([gpu]))
    reader.open()
    gpu.energy_counts = bad
    assert reader.read() == []
    assert "glitch" in reader.last_errors[f"amdsmi:{gpu.uuid}"]
    gpu.energy_counts = start + 1_000_000
    (r,) = reader.read()
    assert r.energy_j == pytest.approx(1_000_000 * gpu.counter_resolution_uj / 1e6)
    assert not r.rebased


def test_accumulator_reset_rebases_without_a_jump() -> None:
    gpu = mi300x(0)
    start = gpu.energy_counts
    reader = make(FakeAmdSmi([gpu]))
    reader.open()
    gpu.energy_counts = start + 1_000
    (before,) = reader.read()
    gpu.energy_counts = 10  # a GPU reset: the 64-bit accumulator starts again
    assert reader.read() == [] and "went back" in reader.last_errors[f"amdsmi:{gpu.uuid}"]
    gpu.energy_counts = 20
    (r,) = reader.read()
    assert r.rebased and r.energy_j == pytest.approx(before.energy_j)


@pytest.mark.parametrize(
    ("bad", "why"), [("N/A", "not a number"), (float("nan"), "NaN"), (-1, "out of range")]
)
def test_power_sample_that_cannot_be_true_leaves_the_gpu_out(bad: object, why: str) -> None:
    gpu = mi300x(0, energy_counts=None)
    reader = make(FakeAmdSmi([gpu]))
    reader.open()
    gpu.current_socket_power_w = bad  # type: ignore[assignment]
    assert reader.read() == []
    message = reader.last_errors[f"amdsmi:{gpu.uuid}"]
    assert why in message and "power of AMD GPU 0 (current_socket_power)" in message
