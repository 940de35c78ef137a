"""NvmlReader over a fake pynvml module of the real one's shape (tests/readers/fake_nvml.py)."""

from __future__ import annotations

import ctypes.util
import sys

import pytest

from readers.fake_nvml import (
    NVML_DEVICE_MIG_DISABLE,
    NVML_DEVICE_MIG_ENABLE,
    NVML_ERROR_DRIVER_NOT_LOADED,
    NVML_ERROR_LIBRARY_NOT_FOUND,
    NVML_ERROR_UNKNOWN,
    FakeNvml,
    NVMLError,
    h100,
    p100,
)
from wattwise.errors import ConfigError, ReaderError, ReaderUnavailable
from wattwise.readers import presence
from wattwise.readers.base import Provenance, Reader
from wattwise.readers.nvml import (
    ENERGY_SOURCE,
    MIG_ENABLED_NOTE,
    POWER_SOURCE,
    NvmlReader,
    translate_nvml_error,
    visible_device_tokens,
)


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        self.t += 0.001
        return self.t


def make(fake: FakeNvml, env: dict[str, str] | None = None, **kw: object) -> NvmlReader:
    return NvmlReader(nvml=fake, clock=FakeClock(), environ=env or {}, **kw)  # type: ignore[arg-type]


def test_is_a_reader() -> None:
    assert isinstance(make(FakeNvml([h100(0)])), Reader)


def test_counter_supported_reports_joules_since_open() -> None:
    gpu = h100(0)
    start_mj = gpu.energy_mj
    assert start_mj is not None
    fake = FakeNvml([gpu])
    reader = make(fake)
    (info,) = reader.open()
    assert info.device_id == f"nvml:{gpu.uuid}"
    assert info.kind == "gpu" and info.name == gpu.name
    assert info.provenance is Provenance.MEASURED and info.source == ENERGY_SOURCE
    assert info.params["index"] == "0" and info.params["uuid"] == gpu.uuid
    assert info.params["power_limit_w"] == f"{gpu.power_limit_mw / 1000:g}"
    assert info.params["mig"] == "not supported"

    (r0,) = reader.read()
    assert r0.energy_j == 0.0 and r0.power_w is None
    gpu.energy_mj = start_mj + 12_345
    (r1,) = reader.read()
    assert r1.energy_j == pytest.approx(12.345)
    gpu.energy_mj = start_mj + 99_001
    (r2,) = reader.read()
    assert r2.energy_j == pytest.approx(99.001)
    assert r0.timestamp_s < r1.timestamp_s < r2.timestamp_s
    reader.close()


def test_counter_reset_is_not_a_wrap_and_rebases_once_the_counter_rises_again() -> None:
    # NVML's total energy is a 64-bit mJ counter that never wraps: a decrease is a reset (driver
    # reload, GPU reset) or a glitch, never 2**64 mJ of energy.
    gpu = h100(0)
    fake = FakeNvml([gpu])
    reader = make(fake)
    reader.open()
    device_id = f"nvml:{gpu.uuid}"
    assert gpu.energy_mj is not None
    gpu.energy_mj += 5_000
    (before,) = reader.read()
    assert before.energy_j == pytest.approx(5.0) and not before.rebased
    gpu.energy_mj = 2_000  # driver reloaded: counter restarts near zero
    assert reader.read() == []
    assert "went back" in reader.last_errors[device_id]
    gpu.energy_mj = 2_300  # rising plausibly from the new base: re-based, no jump
    (rebased,) = reader.read()
    assert rebased.rebased and rebased.energy_j == pytest.approx(5.0)
    assert reader.last_errors == {}
    gpu.energy_mj = 3_300
    (after,) = reader.read()
    assert after.energy_j == pytest.approx(6.0) and not after.rebased


def test_counter_unsupported_falls_back_to_power_samples() -> None:
    old = p100(0)
    fake = FakeNvml([old])
    reader = make(fake)
    (info,) = reader.open()
    assert info.provenance is Provenance.INTEGRATED and info.source == POWER_SOURCE
    old.power_mw = 187_500
    (r,) = reader.read()
    assert r.energy_j is None and r.power_w == pytest.approx(187.5)


def test_mixed_gpus_each_with_its_provenance() -> None:
    reader = make(FakeNvml([h100(0), p100(1)]))
    infos = reader.open()
    assert [i.provenance for i in infos] == [Provenance.MEASURED, Provenance.INTEGRATED]
    probe = reader.probe()
    assert probe.available and "1 with the total-energy counter" in probe.reason


def test_failing_mid_run_raises_reader_error_with_readable_message() -> None:
    gpu = h100(0)
    gpu.fail_after = 3  # one read at open, two during the run, then the GPU is lost
    reader = make(FakeNvml([gpu]))
    reader.open()
    reader.read()
    reader.read()
    with pytest.raises(ReaderError) as err:
        reader.read()
    assert not isinstance(err.value, NVMLError)
    assert isinstance(err.value.__cause__, NVMLError)
    assert "GPU 0" in str(err.value) and "GPU is lost" in str(err.value)
    reader.close()


def test_one_gpu_failing_returns_the_others_and_records_the_error() -> None:
    good, bad = h100(0), h100(1)
    bad.fail_after, bad.fail_code = 1, NVML_ERROR_UNKNOWN
    reader = make(FakeNvml([good, bad]))
    reader.open()
    readings = reader.read()
    assert [r.device_id for r in readings] == [f"nvml:{good.uuid}"]
    assert list(reader.last_errors) == [f"nvml:{bad.uuid}"]
    assert "GPU 1" in reader.last_errors[f"nvml:{bad.uuid}"]


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (NVML_ERROR_LIBRARY_NOT_FOUND, "libnvidia-ml.so"),
        (NVML_ERROR_DRIVER_NOT_LOADED, "driver is not loaded"),
    ],
)
def test_library_or_driver_missing(code: int, words: str) -> None:
    reader = make(FakeNvml([h100(0)], init_error=code))
    probe = reader.probe()
    assert not probe.available and words in probe.reason and probe.devices == ()
    with pytest.raises(ReaderUnavailable, match=words):
        reader.open()
    reader.close()


def test_pynvml_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    # A library that loads everywhere stands in for the driver's, so the binding is what is missing.
    monkeypatch.setattr(presence, "NVML_LIBRARY", ctypes.util.find_library("c") or "libc.so.6")
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` raise ImportError
    probe = NvmlReader(environ={}).probe()
    assert not probe.available
    assert 'pip install "wattwise[nvidia]"' in probe.reason


@pytest.mark.skipif(sys.platform.startswith("win"), reason="pynvml loads nvml.dll there")
def test_no_driver_library_means_pynvml_is_never_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start-up: without libnvidia-ml the ~20 ms import of pynvml is skipped, same answer."""
    monkeypatch.setattr(presence, "NVML_LIBRARY", "libwattwise-no-such-library.so.1")
    monkeypatch.delitem(sys.modules, "pynvml", raising=False)
    reader = NvmlReader(environ={})
    probe = reader.probe()
    assert not probe.available and probe.reason.startswith("no NVIDIA driver")
    assert "libwattwise-no-such-library.so.1" in probe.reason
    with pytest.raises(ReaderUnavailable, match="no NVIDIA driver"):
        reader.open()
    assert "pynvml" not in sys.modules


def test_real_pynvml_probe_never_raises() -> None:
    pynvml = pytest.importorskip("pynvml")
    probe = NvmlReader(nvml=pynvml).probe()
    assert probe.reader == "nvml"
    assert probe.devices if probe.available else probe.reason


def test_probe_details_for_doctor_and_balanced_init() -> None:
    fake = FakeNvml([h100(0), h100(1)], driver_version="550.54.15")
    probe = make(fake).probe()
    assert probe.details["driver_version"] == "550.54.15"
    assert probe.details["gpu_count"] == "2"
    assert probe.details["gpu.1"] == f"{fake.gpus[1].name} ({fake.gpus[1].uuid})"
    assert fake.init_count == fake.shutdown_count == 1


def test_bytes_from_older_bindings_are_decoded() -> None:
    fake = FakeNvml([h100(0)], strings_as_bytes=True)
    (info,) = make(fake).open()
    assert info.device_id == f"nvml:{fake.gpus[0].uuid}" and info.name == fake.gpus[0].name


def test_cuda_visible_devices_by_index_with_order_note() -> None:
    fake = FakeNvml([h100(0), h100(1), h100(2)])
    reader = make(fake, {"CUDA_VISIBLE_DEVICES": "2,0"})
    assert [i.params["index"] for i in reader.open()] == ["2", "0"]
    note = reader.probe().details["cuda_device_order"]
    assert "PCI_BUS_ID" in note
    pci = make(fake, {"CUDA_VISIBLE_DEVICES": "1", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}).probe()
    assert [d.params["index"] for d in pci.devices] == ["1"]
    assert "cuda_device_order" not in pci.details


def test_cuda_visible_devices_by_uuid_and_prefix() -> None:
    fake = FakeNvml([h100(0), h100(1), h100(2)])
    full = fake.gpus[2].uuid
    assert [i.params["uuid"] for i in make(fake, {"CUDA_VISIBLE_DEVICES": full}).open()] == [full]
    prefix = fake.gpus[1].uuid[:12]
    (info,) = make(fake, {"CUDA_VISIBLE_DEVICES": prefix}).open()
    assert info.params["index"] == "1"
    assert "cuda_device_order" not in make(fake, {"CUDA_VISIBLE_DEVICES": full}).probe().details


@pytest.mark.parametrize("value", ["", "-1", "NoDevFiles"])
def test_cuda_visible_devices_hiding_every_gpu(value: str) -> None:
    reader = make(FakeNvml([h100(0)]), {"CUDA_VISIBLE_DEVICES": value})
    with pytest.raises(ReaderUnavailable, match="hides every NVIDIA GPU"):
        reader.open()
    assert not reader.probe().available


def test_visible_device_parsing_stops_at_negative_index() -> None:
    assert visible_device_tokens("0, 1,-1,2") == ["0", "1"]
    assert visible_device_tokens("GPU-ab,3") == ["GPU-ab", "3"]


def test_unknown_selection_lists_available_gpus() -> None:
    fake = FakeNvml([h100(0), h100(1)])
    reader = make(fake, {"CUDA_VISIBLE_DEVICES": "7"})
    with pytest.raises(ConfigError) as err:
        reader.open()
    message = str(err.value)
    assert "'7'" in message and fake.gpus[0].uuid in message and fake.gpus[1].uuid in message
    assert fake.init_count == fake.shutdown_count  # NVML released after the failed open
    probe = reader.probe()
    assert not probe.available and "'7'" in probe.reason
    with pytest.raises(ConfigError, match="several GPUs"):
        make(fake, gpus=["GPU-"]).open()
    with pytest.raises(ConfigError, match="not a visible NVIDIA GPU"):
        make(fake, gpus=["GPU-ffff"]).open()


def test_gpus_argument_overrides_environment() -> None:
    fake = FakeNvml([h100(0), h100(1)])
    reader = make(fake, {"CUDA_VISIBLE_DEVICES": "0"}, gpus=[1])
    assert [i.params["index"] for i in reader.open()] == ["1"]
    assert "cuda_device_order" not in reader.probe().details


def test_mig_enabled_reports_whole_gpu_once() -> None:
    gpu = h100(0)
    gpu.mig_mode = (NVML_DEVICE_MIG_ENABLE, NVML_DEVICE_MIG_ENABLE)
    gpu.mig_uuids = ("MIG-11111111-2222-3333-4444-555555555555", "MIG-66666666-7777")
    other = h100(1)
    other.mig_mode = (NVML_DEVICE_MIG_DISABLE, NVML_DEVICE_MIG_DISABLE)
    fake = FakeNvml([gpu, other])
    env = {"CUDA_VISIBLE_DEVICES": ",".join(gpu.mig_uuids)}
    (info,) = make(fake, env).open()
    assert info.device_id == f"nvml:{gpu.uuid}"
    assert info.params["mig"] == MIG_ENABLED_NOTE
    legacy = {"CUDA_VISIBLE_DEVICES": f"MIG-{gpu.uuid}/1/0,MIG-{gpu.uuid}/2/0"}
    assert [i.device_id for i in make(fake, legacy).open()] == [info.device_id]
    all_infos = make(fake).open()
    assert [i.params["mig"] for i in all_infos] == [MIG_ENABLED_NOTE, "disabled"]
    with pytest.raises(ConfigError):
        make(fake, {"CUDA_VISIBLE_DEVICES": "MIG-00000000-dead"}).open()


def test_mig_change_pending() -> None:
    gpu = h100(0)
    gpu.mig_mode = (NVML_DEVICE_MIG_DISABLE, NVML_DEVICE_MIG_ENABLE)
    (info,) = make(FakeNvml([gpu])).open()
    assert info.params["mig"].startswith("disabled") and "pending" in info.params["mig"]


def test_close_never_raises() -> None:
    fake = FakeNvml([h100(0)], shutdown_error=NVML_ERROR_UNKNOWN)
    reader = make(fake)
    reader.close()  # never opened
    reader.open()
    reader.close()
    reader.close()
    assert fake.shutdown_count == 1
    with pytest.raises(ReaderError, match="not open"):
        reader.read()


def test_translation_of_foreign_exceptions() -> None:
    err = translate_nvml_error(FakeNvml([]), ValueError("bad"), "reading X")
    assert type(err) is ReaderError and "reading X" in str(err) and "bad" in str(err)


def test_no_gpu_at_all() -> None:
    probe = make(FakeNvml([])).probe()
    assert not probe.available and "no NVIDIA GPU" in probe.reason


# ---------------------------------------------------------------------- value sanity (issue 10)
def test_plausible_power_is_twice_the_highest_limit_nvml_allows() -> None:
    gpu = h100(0)
    gpu.limit_constraints_mw = (200_000, 800_000)
    (info,) = make(FakeNvml([gpu])).open()
    assert info.params["plausible_max_power_w"] == "1600"
    assert "highest power limit" in info.params["plausible_max_power"]
    (fallback,) = make(FakeNvml([h100(1)])).open()  # no constraints: the enforced limit (700 W)
    assert fallback.params["plausible_max_power_w"] == "1400"
    assert "enforced" in fallback.params["plausible_max_power"]


def test_energy_jump_beyond_plausible_power_is_a_glitch_then_continues_exactly() -> None:
    gpu = h100(0)
    reader = make(FakeNvml([gpu]))
    reader.open()
    start = gpu.energy_mj
    device_id = f"nvml:{gpu.uuid}"
    gpu.energy_mj = start + 10**12  # a gigajoule in a millisecond
    assert reader.read() == []
    assert "counter glitch" in reader.last_errors[device_id]
    assert "1.4 kW plausible" in reader.last_errors[device_id]  # 2 x the 700 W limit (SI)
    gpu.energy_mj = start + 300_000  # back to what the hardware counted: no energy lost
    (r,) = reader.read()
    assert r.energy_j == pytest.approx(300.0) and not r.rebased and reader.last_errors == {}


@pytest.mark.parametrize(
    "bad", [float("nan"), -1, "garbage", b"\x00", float("inf"), 2**70], ids=repr
)
def test_energy_value_that_cannot_be_true_leaves_the_gpu_out(bad: object) -> None:
    good, glitching = h100(0), h100(1)
    reader = make(FakeNvml([good, glitching]))
    reader.open()
    glitching.energy_mj = bad
    readings = reader.read()  # never raises: the other GPU is still measured
    assert [r.device_id for r in readings] == [f"nvml:{good.uuid}"]
    assert "glitch" in reader.last_errors[f"nvml:{glitching.uuid}"]


@pytest.mark.parametrize(
    ("bad", "why"),
    [(float("nan"), "NaN"), (-5_000, "out of range"), ("x", "not a number"), (10**8, "above")],
    ids=repr,
)
def test_power_sample_that_cannot_be_true_leaves_the_gpu_out(bad: object, why: str) -> None:
    old = p100(0)
    reader = make(FakeNvml([old]))
    reader.open()
    old.power_mw = bad
    assert reader.read() == []  # a glitch is not a reader failure: no exception
    message = reader.last_errors[f"nvml:{old.uuid}"]
    assert why in message and "power of NVIDIA GPU 0" in message
    old.power_mw = 150_000
    (r,) = reader.read()
    assert r.power_w == pytest.approx(150.0) and reader.last_errors == {}
