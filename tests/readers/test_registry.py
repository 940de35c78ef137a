"""Reader discovery: counters before models, GPU selection passed through, never raising."""

from __future__ import annotations

from pathlib import Path

import pytest

from wattwise.readers import registry
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
