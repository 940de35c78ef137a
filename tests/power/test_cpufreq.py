"""cpufreq over fake sysfs trees: reading each driver's layout, setting and restoring, advice."""

from __future__ import annotations

from pathlib import Path

import pytest

from power import sysfs
from wattwise.errors import ConfigError
from wattwise.power.cpuadvice import advise
from wattwise.power.cpufreq import (
    read_cpufreq,
    restore_cpu,
    saved_state,
    set_epp,
    set_governor,
    summary_lines,
)


def _file(root: Path, policy: int, name: str) -> str:
    return (root / "cpufreq" / f"policy{policy}" / name).read_text().strip()


def test_intel_pstate_powersave_with_epp_is_one_line(tmp_path: Path) -> None:
    st = read_cpufreq(sysfs.intel_pstate(tmp_path))
    assert st.available and st.driver == "intel_pstate"
    assert st.intel_pstate_status == "active" and st.intel_no_turbo is False
    p = st.policies[0]
    assert (p.governor, p.epp, p.min_khz, p.max_khz) == (
        "powersave", "balance_performance", 800_000, 4_700_000)  # fmt: skip
    assert "balance_power" in p.available_epp
    assert [q.cur_khz for q in st.policies] == [1_200_000, 1_300_000, 1_400_000, 1_500_000]
    lines = summary_lines(st)
    assert lines == [
        "CPUs 0–3: intel_pstate (active), governor powersave, EPP balance_performance, "
        "800–4,700 MHz, turbo on"
    ]
    assert advise(st, "train") == []  # already lets the processor pick its clock


def test_amd_pstate_epp_performance_is_advised_down(tmp_path: Path) -> None:
    st = read_cpufreq(sysfs.amd_pstate_epp(tmp_path))
    assert st.amd_pstate_status == "active"
    assert summary_lines(st)[0].startswith(
        "CPUs 0–1: amd-pstate-epp (active), governor performance"
    )
    (a,) = advise(st, "train")
    assert "--cpu-governor powersave --cpu-epp balance_performance" in a.action
    assert "kernel" in a.source.lower() and "%" not in a.effect  # qualitative: no figure


def test_acpi_cpufreq_has_governors_but_no_epp(tmp_path: Path) -> None:
    st = read_cpufreq(sysfs.acpi_cpufreq(tmp_path))
    assert st.policies[0].epp is None and "schedutil" in st.policies[0].available_governors
    assert "EPP" not in summary_lines(st)[0]
    assert [a.action for a in advise(st)] == ["wattwise tune --cpu-governor schedutil"]
    with pytest.raises(ConfigError, match="offers none"):
        set_epp("balance_performance", tmp_path, tmp_path / "state.json")


def test_acpi_powersave_pins_the_lowest_clock(tmp_path: Path) -> None:
    st = read_cpufreq(sysfs.acpi_cpufreq(tmp_path, governor="powersave"))
    (a,) = advise(st)
    assert "lowest frequency" in a.effect and a.action.endswith("schedutil")


def test_mixed_policies_give_one_line_each(tmp_path: Path) -> None:
    sysfs.acpi_cpufreq(tmp_path, cpus=3)
    (tmp_path / "cpufreq" / "policy2" / "scaling_governor").write_text("schedutil\n")
    assert [line.split(":")[0] for line in summary_lines(read_cpufreq(tmp_path))] == [
        "CPUs 0–1", "CPU 2"]  # fmt: skip


def test_a_vm_without_cpufreq_says_so(tmp_path: Path) -> None:
    st = read_cpufreq(sysfs.no_cpufreq(tmp_path))
    assert not st.available and "VM" in st.reason
    assert summary_lines(st) == [st.reason] and advise(st) == []
    assert not read_cpufreq(tmp_path / "absent").available
    with pytest.raises(ConfigError, match="no cpufreq policies"):
        set_governor("performance", tmp_path, tmp_path / "state.json")


def test_set_governor_and_epp_then_restore(tmp_path: Path) -> None:
    root, state = sysfs.intel_pstate(tmp_path / "sys", cpus=2), tmp_path / "state.json"
    assert set_governor("performance", root, state) == ["policy0", "policy1"]
    assert set_epp("power", root, state) == ["policy0", "policy1"]
    set_governor("powersave", root, state)  # a second change keeps the first original
    assert _file(root, 1, "scaling_governor") == "powersave"
    assert _file(root, 0, "energy_performance_preference") == "power"
    saved = saved_state(state)
    assert saved[str(root / "cpufreq/policy0/scaling_governor")] == "powersave"
    assert saved[str(root / "cpufreq/policy0/energy_performance_preference")] == (
        "balance_performance")  # fmt: skip
    set_governor("performance", root, state)
    restored = restore_cpu(state)
    assert restored[0].endswith("scaling_governor") and len(restored) == 4
    assert [_file(root, n, "scaling_governor") for n in (0, 1)] == ["powersave"] * 2
    assert _file(root, 1, "energy_performance_preference") == "balance_performance"
    assert not state.exists() and restore_cpu(state) == []


def test_unavailable_governor_is_refused_in_one_line(tmp_path: Path) -> None:
    root, state = sysfs.intel_pstate(tmp_path / "sys"), tmp_path / "state.json"
    with pytest.raises(ConfigError) as err:
        set_governor("schedutil", root, state)
    msg = str(err.value)
    assert "\n" not in msg and "available: performance, powersave" in msg
    assert _file(root, 0, "scaling_governor") == "powersave" and not state.exists()
    with pytest.raises(ConfigError, match="not available"):
        set_epp("turbo", root, state)


def test_read_only_sysfs_is_refused_in_one_line(tmp_path: Path) -> None:
    root, state = sysfs.acpi_cpufreq(tmp_path / "sys"), tmp_path / "state.json"
    gov = root / "cpufreq" / "policy1" / "scaling_governor"
    gov.chmod(0o444)
    with pytest.raises(ConfigError) as err:
        set_governor("schedutil", root, state)
    msg = str(err.value)
    assert "\n" not in msg and str(gov) in msg and "not writable" in msg
    assert _file(root, 0, "scaling_governor") == "performance"  # nothing half-changed
    assert not state.exists()


def test_refused_write_is_one_line_and_restorable(tmp_path: Path) -> None:
    """A write the kernel refuses midway (here policy1's file is a directory) is one line;
    the policy already changed is in the record and comes back."""
    root, state = sysfs.acpi_cpufreq(tmp_path / "sys"), tmp_path / "state.json"
    gov = root / "cpufreq" / "policy1" / "scaling_governor"
    gov.unlink()
    gov.mkdir()
    with pytest.raises(ConfigError) as err:
        set_governor("ondemand", root, state)
    assert "\n" not in str(err.value) and "refused" in str(err.value)
    assert _file(root, 0, "scaling_governor") == "ondemand"
    assert restore_cpu(state) == [str(root / "cpufreq/policy0/scaling_governor")]
    assert _file(root, 0, "scaling_governor") == "performance"


def test_root_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATTWISE_CPUFREQ_ROOT", str(sysfs.acpi_cpufreq(tmp_path)))
    assert read_cpufreq().driver == "acpi-cpufreq"
    doc = read_cpufreq().to_dict()
    assert doc["available"] and doc["policies"][0]["max_khz"] == 2_900_000
