"""CPU power estimate: table, name matching, scaling, energy integration, process-tree share."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from wattwise.errors import ReaderError, ReaderUnavailable
from wattwise.readers.base import Provenance, Reader
from wattwise.readers.cpu_model import (
    DEFAULT_TDP_PER_VCPU_W,
    IDLE_FRACTION,
    CpuInfo,
    CpuModelReader,
    build_cpu_power_model,
    load_cpu_tdp_table,
    match_cpu_model,
    normalise_cpu_name,
    read_cpu_times,
    read_cpuinfo,
)

XEON = "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"
EPYC_7763 = "AMD EPYC 7763 64-Core Processor"


def write_cpuinfo(
    root: Path, model: str, vcpus: int, *, sockets: int = 1, hypervisor: bool = False
) -> None:
    flags = "fpu vme sse sse2" + (" hypervisor" if hypervisor else "")
    blocks = []
    for i in range(vcpus):
        blocks.append(
            f"processor\t: {i}\nvendor_id\t: X\nmodel name\t: {model}\n"
            f"physical id\t: {i * sockets // vcpus}\nsiblings\t: {vcpus // sockets}\n"
            f"flags\t\t: {flags}\n"
        )
    root.mkdir(parents=True, exist_ok=True)
    (root / "cpuinfo").write_text("\n".join(blocks) + "\n")


def write_stat(
    root: Path, *, user: int, idle: int, system: int = 0, steal: int = 0, iowait: int = 0
) -> None:
    # user nice system idle iowait irq softirq steal guest guest_nice
    line = f"cpu  {user} 0 {system} {idle} {iowait} 0 0 {steal} 0 0\n"
    (root / "stat").write_text(line + "cpu0 0 0 0 0 0 0 0 0 0 0\nintr 0\nctxt 0\n")


@pytest.fixture
def proc(tmp_path: Path) -> Path:
    root = tmp_path / "proc"
    write_cpuinfo(root, "AMD EPYC", 2, hypervisor=True)
    write_stat(root, user=1000, idle=5000)
    return root


# --- the table ---------------------------------------------------------------------------


def test_table_is_clean() -> None:
    table = load_cpu_tdp_table()
    assert len(table) > 4000
    assert all(1.0 <= e.tdp_w <= 500.0 for e in table)
    keys = [normalise_cpu_name(e.model) for e in table]
    assert len(keys) == len(set(keys)), "duplicate models after normalisation"
    assert all(e.model == e.model.strip() and e.model for e in table)
    assert load_cpu_tdp_table() is table  # cached


def test_default_tdp_per_vcpu_is_the_table_median() -> None:
    per_thread = [
        e.tdp_w / e.threads_per_socket for e in load_cpu_tdp_table() if e.threads_per_socket
    ]
    assert len(per_thread) > 100
    assert abs(DEFAULT_TDP_PER_VCPU_W - statistics.median(per_thread)) <= 0.05


# --- names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        (XEON, "intel xeon platinum 8375c"),
        (EPYC_7763, "amd epyc 7763"),
        ("Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz", "intel core i7-8700"),
        ("AMD Ryzen 7 5800H with Radeon Graphics", "amd ryzen 7 5800h"),
        ("13th Gen Intel(R) Core(TM) i7-1365U", "intel core i7-1365u"),
        ("Intel(R) Xeon(R) CPU @ 2.20GHz", "intel xeon"),
    ],
)
def test_normalise(raw: str, normalised: str) -> None:
    assert normalise_cpu_name(raw) == normalised


def test_exact_match_uses_the_table_row() -> None:
    rows = {normalise_cpu_name(e.model): e for e in load_cpu_tdp_table()}
    m = match_cpu_model(XEON)
    assert m is not None and m.method == "exact"
    assert m.entry == rows["intel xeon platinum 8375c"]


def test_fuzzy_match_needs_the_same_model_number() -> None:
    m = match_cpu_model("Intel Xeon 8375C")  # "Platinum" missing
    assert m is not None and m.method == "fuzzy"
    assert m.entry.model == "Intel Xeon Platinum 8375C"
    assert 0.6 <= m.score < 1.0


@pytest.mark.parametrize(
    "name",
    [
        "AMD EPYC",  # what this KVM guest reports: a family, not a part
        "Intel(R) Xeon(R) CPU @ 2.20GHz",  # GCP-style masked name
        "AMD EPYC 7B13",  # cloud SKU absent from the table
        "Intel Xeon Platinum 8375",  # a different model number
        "",
    ],
)
def test_no_false_matches(name: str) -> None:
    assert match_cpu_model(name) is None


# --- scaling -------------------------------------------------------------------------------


def test_unknown_cpu_uses_the_default_per_vcpu() -> None:
    model = build_cpu_power_model(CpuInfo("AMD EPYC", 2, 1, True))
    assert model.tdp_source == "default per-vCPU"
    assert model.max_power_w == pytest.approx(2 * DEFAULT_TDP_PER_VCPU_W)
    assert model.idle_power_w == pytest.approx(IDLE_FRACTION * model.max_power_w)
    assert model.params()["matched_model"] == "none"


def test_known_threads_scale_tdp_to_vcpus() -> None:
    match = match_cpu_model(EPYC_7763)
    assert match is not None and match.entry.threads_per_socket
    model = build_cpu_power_model(CpuInfo(EPYC_7763, 4, 1, True))
    expected = match.entry.tdp_w * 4 / match.entry.threads_per_socket
    assert model.max_power_w == pytest.approx(expected)
    assert model.tdp_source == f"table: {match.entry.model}"


def test_vm_without_thread_count_is_not_charged_a_whole_socket() -> None:
    match = match_cpu_model(XEON)
    assert match is not None and match.entry.threads_per_socket is None
    model = build_cpu_power_model(CpuInfo(XEON, 2, 1, True))
    assert model.max_power_w == pytest.approx(min(match.entry.tdp_w, 2 * DEFAULT_TDP_PER_VCPU_W))
    assert model.max_power_w < match.entry.tdp_w / 10


def test_bare_metal_without_thread_count_charges_each_socket() -> None:
    match = match_cpu_model(XEON)
    assert match is not None
    model = build_cpu_power_model(CpuInfo(XEON, 128, 2, False))
    assert model.max_power_w == pytest.approx(2 * match.entry.tdp_w)


# --- /proc parsing -------------------------------------------------------------------------


def test_read_cpuinfo(tmp_path: Path) -> None:
    write_cpuinfo(tmp_path, XEON, 8, sockets=2, hypervisor=False)
    assert read_cpuinfo(tmp_path) == CpuInfo(XEON, 8, 2, False)


def test_steal_and_guest_are_not_busy(tmp_path: Path) -> None:
    (tmp_path / "stat").write_text("cpu  10 1 2 100 3 4 5 6 7 8\n")
    t = read_cpu_times(tmp_path)
    assert t.busy_ticks == 10 + 1 + 2 + 4 + 5
    assert t.total_ticks == t.busy_ticks + 100 + 3 + 6


# --- the reader ----------------------------------------------------------------------------


def test_energy_integrates_utilisation_exactly(proc: Path, clock: Any) -> None:
    reader = CpuModelReader(proc, clock=clock)
    assert isinstance(reader, Reader)
    (device,) = reader.open()
    assert device.device_id == "cpu-model:machine" and device.kind == "cpu"
    assert device.provenance is Provenance.ESTIMATED
    for key in ("model_name_seen", "matched_model", "tdp_w", "tdp_source", "vcpus",
                "max_power_w", "idle_power_w", "formula"):  # fmt: skip
        assert key in device.params
    idle_w = IDLE_FRACTION * 2 * DEFAULT_TDP_PER_VCPU_W
    max_w = 2 * DEFAULT_TDP_PER_VCPU_W

    (r0,) = reader.read()
    assert r0.energy_j == 0.0 and r0.device_id == device.device_id
    # 2 CPUs x 100 ticks = 200 ticks per second. 0 %, then 50 %, then 100 %.
    steps = [(0, 200, 2.0), (100, 100, 1.0), (200, 0, 0.5)]
    user, idle, expected_j = 1000, 5000, 0.0
    for d_busy, d_idle, dt in steps:
        user, idle = user + d_busy, idle + d_idle
        write_stat(proc, user=user, idle=idle)
        clock.advance(dt)
        u = d_busy / (d_busy + d_idle)
        expected_j += (idle_w + (max_w - idle_w) * u) * dt
        (r,) = reader.read()
        assert r.energy_j == pytest.approx(expected_j)
        assert r.timestamp_s == clock()
    assert reader.utilisation() == 1.0
    assert reader.process_share() is None and reader.process_energy_j() is None
    reader.close()


def test_window_is_difference_and_no_tick_keeps_last_utilisation(proc: Path, clock: Any) -> None:
    reader = CpuModelReader(proc, clock=clock)
    reader.open()
    reader.read()
    write_stat(proc, user=1000 + 100, idle=5000 + 100)  # 50 %
    clock.advance(1.0)
    (a,) = reader.read()
    clock.advance(0.005)  # no tick elapsed: the last utilisation (50 %) carries on
    (b,) = reader.read()
    assert a.energy_j is not None and b.energy_j is not None
    assert b.energy_j - a.energy_j == pytest.approx(a.energy_j * 0.005)


def test_unreadable_proc(tmp_path: Path) -> None:
    reader = CpuModelReader(tmp_path / "nowhere")
    result = reader.probe()
    assert not result.available and "unreadable" in result.reason
    with pytest.raises(ReaderUnavailable):
        reader.open()
    with pytest.raises(ReaderError):
        reader.read()


def test_probe_reports_the_model(proc: Path) -> None:
    result = CpuModelReader(proc).probe()
    assert result.available
    assert result.details["tdp_source"] == "default per-vCPU"
    assert result.devices[0].params["vcpus"] == "2"


# --- process-tree share (real processes, real /proc) --------------------------------------

BUSY = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"


def test_child_that_exits_between_reads_is_counted() -> None:
    reader = CpuModelReader(pid=os.getpid())
    (device,) = reader.open()
    assert device.params["tracked_pid"] == str(os.getpid())
    reader.read()
    subprocess.run([sys.executable, "-c", BUSY], check=True)  # runs ~0.3 s, exits, is reaped
    reader.read()
    cpu_s = reader.process_cpu_s()
    share = reader.process_share()
    energy_j = reader.process_energy_j()
    assert cpu_s is not None and cpu_s >= 0.25
    assert share is not None and 0.0 < share <= 1.0
    (machine,) = reader.read()
    assert energy_j is not None and machine.energy_j is not None
    assert 0.0 < energy_j <= machine.energy_j


def test_tracked_root_that_exits_is_handled() -> None:
    child = subprocess.Popen([sys.executable, "-c", BUSY + "time.sleep(0.2)\n"])
    try:
        reader = CpuModelReader(pid=child.pid)
        reader.open()
        reader.read()
        # Poll instead of sleeping a fixed time: on a loaded machine the child may get its CPU
        # time late (bounded: 10 s).
        deadline = time.monotonic() + 10.0
        cpu_s = None
        while time.monotonic() < deadline:
            time.sleep(0.05)
            reader.read()
            cpu_s = reader.process_cpu_s()
            if cpu_s is not None and cpu_s > 0.1:
                break
        assert cpu_s is not None and cpu_s > 0.1
    finally:
        child.wait()
    reader.read()  # the root is gone: no exception, no further progress
    assert reader.process_cpu_s() == cpu_s
    assert reader.process_share() == 0.0


def test_missing_pid_disables_attribution_visibly(proc: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # a pid that no longer exists
    reader = CpuModelReader(proc, pid=child.pid)
    (device,) = reader.open()
    assert device.params["process_share"].startswith("unavailable")
    reader.read()
    assert reader.process_share() is None and reader.process_energy_j() is None


def test_open_again_keeps_the_baseline(proc: Path, clock: Any) -> None:
    """The registry opens the reader and the tracker opens it again: same device, and the first
    read stays the baseline of the first interval (open takes no sample and never waits)."""
    reader = CpuModelReader(proc, clock=clock)
    first = reader.open()
    assert reader.read()[0].energy_j == 0.0  # the baseline, read at once
    assert reader.open() == first
    write_stat(proc, user=1000 + 100, idle=5000 + 100)  # 50 % busy over the next second
    clock.advance(1.0)
    energy_j = reader.read()[0].energy_j
    assert energy_j == pytest.approx(reader.model.power_w(0.5) * 1.0)
    reader.close()
    reader.open()
    assert reader.read()[0].energy_j == 0.0  # closed and opened again: a new baseline


_ARM_CPUINFO = "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\nCPU part\t: 0xd0c\n\n"


@pytest.mark.skipif(not hasattr(os, "uname"), reason="POSIX only")
def test_cpuinfo_without_a_model_name_forks_no_uname(tmp_path: Path) -> None:
    """arm64 cpuinfo has no model name; platform.processor() forked `uname -p` in start()."""
    root = tmp_path / "proc"
    root.mkdir()
    (root / "cpuinfo").write_text(_ARM_CPUINFO)
    code = (
        "import sys; from wattwise.readers.procfs import read_cpuinfo\n"
        "before = 'subprocess' in sys.modules\n"
        f"info = read_cpuinfo({str(root)!r})\n"
        "print(info.model_name, info.vcpus, before or 'subprocess' not in sys.modules)\n"
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": src},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [os.uname().machine, "1", "True"]
