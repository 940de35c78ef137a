"""Reader discovery: counters before models, GPU selection passed through, never raising."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wattwise.readers import presence, registry
from wattwise.readers.base import DeviceInfo, ProbeResult, Provenance, Reading


class _FakeGpuReader:
    name = "nvml"

    def __init__(self, gpus: list[str] | None) -> None:
        self.gpus = gpus

    def probe(self) -> ProbeResult:
        dev = DeviceInfo("nvml:GPU-1", "gpu", "Fake", Provenance.MEASURED, "fake")
        return ProbeResult(self.name, True, "ok", (dev,))

    def open(self) -> list[DeviceInfo]:
        return list(self.probe().devices)

    def read(self) -> list[Reading]:
        return []

    def close(self) -> None:
        pass


def test_gpu_selection_reaches_the_gpu_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str] | None] = []

    def factory(gpus: list[str] | None = None) -> _FakeGpuReader:
        seen.append(gpus)
        return _FakeGpuReader(gpus)

    monkeypatch.setitem(registry.HARDWARE_READERS, "nvml", factory)
    readers = registry.default_readers([], gpus=["1", "GPU-abc"])
    assert seen == [["1", "GPU-abc"]]
    assert any(isinstance(r, _FakeGpuReader) for r in readers)


def test_models_fill_in_only_where_no_counter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zone = tmp_path / "intel-rapl:0"
    zone.mkdir()
    (zone / "name").write_text("package-0\n")
    (zone / "energy_uj").write_text("5\n")
    (zone / "max_energy_range_uj").write_text("1000\n")
    monkeypatch.setenv("WATTWISE_POWERCAP_ROOT", str(tmp_path))
    notes: list[str] = []
    names = [r.name for r in registry.default_readers(notes)]
    assert "rapl" in names and "cpu-model" not in names  # a package counter covers the CPU
    assert "memory-model" in names  # but there is no DRAM domain
    assert any("memory energy is estimated" in n for n in notes)


def test_constructor_failure_is_a_probe_result(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom() -> _FakeGpuReader:
        raise RuntimeError("driver exploded")

    monkeypatch.setitem(registry.HARDWARE_READERS, "nvml", boom)
    probes = {p.reader: p for p in registry.probe_all()}
    assert probes["nvml"].available is False and "driver exploded" in probes["nvml"].reason


class _CountingReader(_FakeGpuReader):
    """A GPU reader that counts its probes and opens (each initialises a vendor library)."""

    def __init__(self, gpus: list[str] | None) -> None:
        super().__init__(gpus)
        self.probes = 0
        self.opens = 0

    def probe(self) -> ProbeResult:
        self.probes += 1
        return super().probe()

    def open(self) -> list[DeviceInfo]:
        self.opens += 1
        return list(super().probe().devices)


def test_discovery_opens_each_reader_once_and_probes_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start-up: probe() then open() initialised each library twice inside start()."""
    made: list[_CountingReader] = []

    def factory(gpus: list[str] | None = None) -> _CountingReader:
        made.append(_CountingReader(gpus))
        return made[-1]

    monkeypatch.setitem(registry.HARDWARE_READERS, "nvml", factory)
    readers = registry.default_readers([])
    (gpu,) = made
    assert gpu in readers and gpu.probes == 0 and gpu.opens == 1


def test_a_reader_with_no_device_is_closed_and_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[bool] = []

    class _Empty(_FakeGpuReader):
        def open(self) -> list[DeviceInfo]:
            return []

        def close(self) -> None:
            closed.append(True)

    monkeypatch.setitem(registry.HARDWARE_READERS, "nvml", lambda: _Empty(None))
    readers = registry.default_readers([])
    assert not any(isinstance(r, _Empty) for r in readers) and closed == [True]


_DISCOVER = """
import json, sys
before = set(sys.modules)
from wattwise.readers import registry
notes = []
names = [r.name for r in registry.default_readers(notes)]
print(json.dumps({"new": sorted(set(sys.modules) - before), "names": names, "notes": notes}))
"""


def test_discovery_without_the_hardware_imports_no_hardware_reader(tmp_path: Path) -> None:
    """Start-up: a machine without RAPL, libnvidia-ml or amdsmi imports none of their readers
    or bindings (nor pathlib) in a fresh process, and says why each is missing."""
    src = Path(registry.__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(src), "WATTWISE_POWERCAP_ROOT": str(tmp_path / "no")}
    out = subprocess.run(
        [sys.executable, "-c", _DISCOVER], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    new = set(found["new"])
    assert not new & {"wattwise.readers.rapl", "wattwise.readers.rapl_scan", "pathlib"}
    # discovery opens readers and never probes; amdsmi is looked up without importlib.util
    assert not new & {"wattwise.readers.probe", "importlib.util"}
    assert any(n.startswith("rapl: no powercap tree at") for n in found["notes"])
    if presence.nvml_library_missing() is not None:
        assert not new & {"pynvml", "wattwise.readers.nvml", "wattwise.readers.vendor_gpu"}
    if presence.amdsmi_missing() is not None:
        assert "wattwise.readers.amd" not in new
    assert "cpu-model" in found["names"]


@pytest.mark.parametrize("name", ["json", "pytest", "wattwise", "amdsmi", "wattwise_no_such_mod"])
def test_top_level_spec_answers_as_importlib_util_find_spec(name: str) -> None:
    import importlib.util

    expected = importlib.util.find_spec(name)
    found = presence.top_level_spec(name)
    assert (found is None) == (expected is None)
    if expected is not None and found is not None:
        assert (found.name, found.origin) == (expected.name, expected.origin)


def test_probe_result_is_importable_from_base_and_the_package() -> None:
    import wattwise.readers as readers
    from wattwise.readers import base
    from wattwise.readers.probe import ProbeResult as Defined

    assert base.ProbeResult is Defined and readers.ProbeResult is Defined is ProbeResult
    with pytest.raises(AttributeError):
        _ = base.NoSuchName
