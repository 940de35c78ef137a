"""Memory power estimate: module counting, per-module power, energy integration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wattwise.errors import ReaderError, ReaderUnavailable
from wattwise.readers.base import Provenance, Reader
from wattwise.readers.memory_model import (
    ACTIVE_POWER_PER_MODULE_W,
    IDLE_POWER_PER_MODULE_W,
    MemoryModelReader,
    count_memory_modules,
    estimate_modules,
    read_mem_total_gib,
)

GIB_KB = 1024 * 1024


def make_proc(root: Path, mem_kb: int, *, hypervisor: bool = False) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "meminfo").write_text(
        f"MemTotal:       {mem_kb} kB\nMemFree:        {mem_kb // 2} kB\n"
    )
    flags = "fpu sse2" + (" hypervisor" if hypervisor else "")
    (root / "cpuinfo").write_text(f"processor\t: 0\nmodel name\t: X\nflags\t\t: {flags}\n")
    write_stat(root, busy=0, idle=0)
    return root


def write_stat(root: Path, *, busy: int, idle: int) -> None:
    (root / "stat").write_text(f"cpu  {busy} 0 0 {idle} 0 0 0 0 0 0\n")


def make_edac(sys_root: Path, sizes_mib: list[int]) -> None:
    for i, size in enumerate(sizes_mib):
        d = sys_root / "devices" / "system" / "edac" / "mc" / f"mc{i % 2}" / f"dimm{i}"
        d.mkdir(parents=True)
        (d / "size").write_text(f"{size}\n")


def test_16_gib_laptop_is_one_module(tmp_path: Path) -> None:
    # MemTotal sits a little under the installed 16 GiB.
    proc = make_proc(tmp_path / "proc", 16 * GIB_KB - 400_000)
    total = read_mem_total_gib(proc)
    assert total is not None and 15 < total < 16
    count = count_memory_modules(proc, tmp_path / "sys")
    assert count.modules == 1 and count.source == "estimate"


def test_large_node_gives_tens_of_watts_not_hundreds(tmp_path: Path) -> None:
    proc = make_proc(tmp_path / "proc", int(1.5 * 1024 * GIB_KB) - 20 * GIB_KB)
    reader = MemoryModelReader(proc, tmp_path / "sys", activity=1.0)
    (device,) = reader.open()
    modules = int(device.params["modules"])
    assert 16 <= modules <= 32
    full_w = reader.model.power_w(1.0)
    idle_w = reader.model.power_w(0.0)
    assert 10.0 <= idle_w < full_w < 100.0
    # A per-GB model (CodeCarbon's 0.375 W/GB) would give hundreds of watts here.
    per_gb_w = 0.375 * 1.5 * 1024
    assert 5 * full_w < per_gb_w


def test_edac_count_wins_over_the_estimate(tmp_path: Path) -> None:
    proc = make_proc(tmp_path / "proc", 256 * GIB_KB)
    make_edac(tmp_path / "sys", [32768] * 10 + [0, 0])  # two empty slots
    count = count_memory_modules(proc, tmp_path / "sys")
    assert count.modules == 10 and count.source == "edac"
    assert count.total_gib == pytest.approx(320.0)


def test_vm_says_how_it_counted(tmp_path: Path) -> None:
    proc = make_proc(tmp_path / "proc", 24 * GIB_KB, hypervisor=True)
    count = count_memory_modules(proc, tmp_path / "sys")
    assert count.modules == 1
    assert "VM" in count.detail


def test_estimate_rounds_up_and_has_a_floor() -> None:
    assert estimate_modules(0.5).modules == 1
    assert estimate_modules(62.8).modules == 2
    assert estimate_modules(100.0).modules == 4


def test_energy_uses_cpu_utilisation_as_activity(tmp_path: Path, clock: Any) -> None:
    proc = make_proc(tmp_path / "proc", 64 * GIB_KB - 500_000)
    reader = MemoryModelReader(proc, tmp_path / "sys", clock=clock)
    assert isinstance(reader, Reader)
    (device,) = reader.open()
    assert device.device_id == "memory-model:machine" and device.kind == "memory"
    assert device.provenance is Provenance.ESTIMATED
    modules = int(device.params["modules"])
    assert modules == 2
    idle_w = modules * IDLE_POWER_PER_MODULE_W
    full_w = modules * ACTIVE_POWER_PER_MODULE_W

    (r0,) = reader.read()
    assert r0.energy_j == 0.0
    expected_j = 0.0
    busy = idle = 0
    for d_busy, d_idle, dt in [(0, 100, 1.0), (50, 50, 2.0), (100, 0, 1.0)]:
        busy, idle = busy + d_busy, idle + d_idle
        write_stat(proc, busy=busy, idle=idle)
        clock.advance(dt)
        expected_j += (idle_w + (full_w - idle_w) * d_busy / (d_busy + d_idle)) * dt
        (r,) = reader.read()
        assert r.energy_j == pytest.approx(expected_j)


def test_fixed_activity(tmp_path: Path, clock: Any) -> None:
    proc = make_proc(tmp_path / "proc", 16 * GIB_KB)
    reader = MemoryModelReader(proc, tmp_path / "sys", clock=clock, activity=0.25)
    (device,) = reader.open()
    assert device.params["activity_source"] == "fixed 0.25"
    reader.read()
    clock.advance(10.0)
    (r,) = reader.read()
    per_module_w = (
        IDLE_POWER_PER_MODULE_W + (ACTIVE_POWER_PER_MODULE_W - IDLE_POWER_PER_MODULE_W) * 0.25
    )
    assert r.energy_j == pytest.approx(per_module_w * 10.0)


def test_unreadable_sources(tmp_path: Path) -> None:
    reader = MemoryModelReader(tmp_path / "no-proc", tmp_path / "no-sys")
    assert not reader.probe().available
    with pytest.raises(ReaderUnavailable):
        reader.open()
    with pytest.raises(ReaderError):
        reader.read()
    with pytest.raises(ValueError):
        MemoryModelReader(activity=1.5)


def test_open_again_returns_the_same_device(tmp_path: Path, clock: Any) -> None:
    proc = make_proc(tmp_path / "proc", 16 * 1024 * 1024)
    write_stat(proc, busy=0, idle=100)
    reader = MemoryModelReader(proc, tmp_path / "sys", clock=clock)
    first = reader.open()
    reader.read()
    clock.advance(2.0)
    assert reader.open() == first
    assert reader.read()[0].energy_j == pytest.approx(reader.model.idle_power_w * 2.0)
