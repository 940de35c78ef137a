"""Fake ``/sys/devices/system/cpu`` trees, shaped as the kernel lays them out (one
``cpufreq/policyN`` per clock domain; file names from Documentation/admin-guide/pm/cpufreq.rst,
intel_pstate.rst, amd-pstate.rst)."""

from __future__ import annotations

from pathlib import Path


def _policy(root: Path, n: int, files: dict[str, str]) -> None:
    d = root / "cpufreq" / f"policy{n}"
    d.mkdir(parents=True)
    for name, value in {"affected_cpus": str(n), "related_cpus": str(n), **files}.items():
        (d / name).write_text(value + "\n")


def intel_pstate(root: Path, cpus: int = 4, governor: str = "powersave",
                 epp: str = "balance_performance") -> Path:  # fmt: skip
    """intel_pstate in active mode: governors performance/powersave, EPP, turbo on."""
    for n in range(cpus):
        _policy(root, n, {
            "scaling_driver": "intel_pstate", "scaling_governor": governor,
            "scaling_available_governors": "performance powersave",
            "energy_performance_preference": epp,
            "energy_performance_available_preferences":
                "default performance balance_performance balance_power power",
            "scaling_min_freq": "800000", "scaling_max_freq": "4700000",
            "scaling_cur_freq": str(1200000 + 100000 * n),
            "cpuinfo_min_freq": "800000", "cpuinfo_max_freq": "4700000",
        })  # fmt: skip
    (root / "intel_pstate").mkdir(parents=True)
    (root / "intel_pstate" / "status").write_text("active\n")
    (root / "intel_pstate" / "no_turbo").write_text("0\n")
    return root


def amd_pstate_epp(root: Path, cpus: int = 2, governor: str = "performance") -> Path:
    """amd-pstate-epp (active mode)."""
    for n in range(cpus):
        _policy(root, n, {
            "scaling_driver": "amd-pstate-epp", "scaling_governor": governor,
            "scaling_available_governors": "performance powersave",
            "energy_performance_preference": "performance" if governor == "performance"
            else "balance_performance",
            "energy_performance_available_preferences":
                "default performance balance_performance balance_power power",
            "scaling_min_freq": "400000", "scaling_max_freq": "5000000",
            "scaling_cur_freq": "3000000",
        })  # fmt: skip
    (root / "amd_pstate").mkdir(parents=True)
    (root / "amd_pstate" / "status").write_text("active\n")
    return root


def acpi_cpufreq(root: Path, cpus: int = 2, governor: str = "performance") -> Path:
    """acpi-cpufreq: the generic governors, no EPP."""
    for n in range(cpus):
        _policy(root, n, {
            "scaling_driver": "acpi-cpufreq", "scaling_governor": governor,
            "scaling_available_governors":
                "conservative ondemand userspace powersave performance schedutil",
            "scaling_min_freq": "1200000", "scaling_max_freq": "2900000",
            "scaling_cur_freq": "2900000",
        })  # fmt: skip
    return root


def no_cpufreq(root: Path) -> Path:
    """A VM: CPUs, but no cpufreq policy."""
    (root / "cpu0").mkdir(parents=True)
    (root / "cpufreq").mkdir()
    return root
