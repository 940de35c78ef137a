"""Advice on the CPU frequency settings (a pure function of :class:`CpuFreqState`).

Qualitative only: no energy figure is claimed (none is measured here, and the effect depends on
the CPU and the load). What each setting does is the kernel's documentation
(Documentation/admin-guide/pm/cpufreq.rst, intel_pstate.rst, amd-pstate.rst):

- governor ``performance`` requests the highest frequency in the policy's limits whenever a CPU
  runs, so the light work of a GPU job's host (data loading, waiting on kernels) runs at full
  clock and voltage for little speed-up;
- with ``intel_pstate`` / ``amd-pstate-epp`` in active mode, governor ``powersave`` hands the
  choice to the processor, steered by the EPP (``balance_performance`` is the usual default;
  ``performance`` pins it high, ``power`` favours saving);
- with ``acpi-cpufreq`` and other passive drivers, ``powersave`` pins the *lowest* frequency
  (runs take longer; energy need not fall) and ``schedutil`` follows the scheduler's load.
"""

from __future__ import annotations

from dataclasses import dataclass

from wattwise.power.cpufreq import CpuFreqState, Policy

ACTIVE_EPP_DRIVERS = ("intel_pstate", "amd-pstate-epp")
SOURCE = "Linux kernel admin-guide: pm/cpufreq.rst, pm/intel_pstate.rst, pm/amd-pstate.rst"


@dataclass(frozen=True)
class CpuAdvice:
    """One piece of advice: a title, the action (a ``wattwise tune --cpu-*`` command where one
    applies), the expected effect in words, and its source."""

    title: str
    action: str
    effect: str
    source: str = SOURCE

    def to_dict(self) -> dict[str, str]:
        return {"title": self.title, "action": self.action, "effect": self.effect,
                "source": self.source}  # fmt: skip


def _epp_driver(p: Policy) -> bool:
    return p.driver in ACTIVE_EPP_DRIVERS and bool(p.available_epp)


def _performance(p: Policy, workload: str | None) -> CpuAdvice | None:
    if p.governor != "performance":
        return None
    if workload == "serve":
        note = "for latency-critical serving it may be deliberate; "
    else:
        note = "on a batch or training node whose CPUs mostly feed and wait on accelerators "
    if _epp_driver(p) and "powersave" in p.available_governors:
        action = "wattwise tune --cpu-governor powersave --cpu-epp balance_performance"
        effect = (
            "the processor picks its clock by load, steered by the EPP: lower CPU power "
            "while cores do light work, near-full speed when they are busy"
        )
    elif "schedutil" in p.available_governors:
        action = "wattwise tune --cpu-governor schedutil"
        effect = "the clock follows the scheduler's load: lower CPU power when cores do light work"
    else:
        return None
    return CpuAdvice(
        f"CPU governor 'performance' ({p.driver})",
        action,
        f"'performance' holds the CPUs at their highest frequency whenever they run; {note}"
        f"it costs CPU power for little speed-up. Expected: {effect}; measure it with "
        "`wattwise run` before and after",
    )


def _pinned_low(p: Policy) -> CpuAdvice | None:
    if p.governor != "powersave" or _epp_driver(p) or p.driver == "intel_pstate":
        return None
    better = "schedutil" if "schedutil" in p.available_governors else "ondemand"
    if better not in p.available_governors:
        return None
    return CpuAdvice(
        f"CPU governor 'powersave' with {p.driver or 'a passive driver'}",
        f"wattwise tune --cpu-governor {better}",
        f"with {p.driver or 'this driver'}, 'powersave' pins the lowest frequency: work takes "
        "longer and the energy need not fall (static power is paid for longer); "
        f"'{better}' raises the clock under load and lowers it when idle",
    )


def _epp(p: Policy) -> CpuAdvice | None:
    if not _epp_driver(p) or p.governor != "powersave" or p.epp != "performance":
        return None
    if "balance_performance" not in p.available_epp:
        return None
    return CpuAdvice(
        f"CPU EPP 'performance' ({p.driver})",
        "wattwise tune --cpu-epp balance_performance",
        "EPP 'performance' asks the processor for its highest clocks even under light load; "
        "'balance_performance' lets it lower them when the work allows, at a small cost in "
        "response time",
    )


def advise(state: CpuFreqState, workload: str | None = None) -> list[CpuAdvice]:
    """Advice for ``state`` (``workload``: ``train``, ``serve`` or None); one entry per kind of
    setting found, however many policies have it. Empty when there is nothing to tune (no
    cpufreq, or settings that already let the hardware scale its clocks)."""
    out: dict[str, CpuAdvice] = {}
    for p in state.policies:
        for a in (_performance(p, workload), _pinned_low(p), _epp(p)):
            if a is not None:
                out.setdefault(a.title, a)
    return list(out.values())
