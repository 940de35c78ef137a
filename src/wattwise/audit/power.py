"""What the audit records about power settings: the tuning profile measured for the audited
command (if any) and the CPU frequency settings of the machine, with their advice.

The profile (:mod:`wattwise.power.profiles`) is looked up by the command's fingerprint; a
profile of the simulated GPU is never used, and when the run measured GPUs, only a profile of a
GPU model among them is (the newest such). The recommendation rules
(:mod:`wattwise.report.powerrules`) and the report's tuning section read both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wattwise.core.run import RunResult

#: The profile keys the audit document keeps (the shape of :mod:`wattwise.power.profiles`).
PROFILE_KEYS = (
    "gpu_model", "fingerprint", "created_at", "unit", "settings", "default", "chosen",
    "selector", "energy_saving", "slowdown",
)  # fmt: skip


def _matches(model: str, gpu_names: Sequence[str]) -> bool:
    m = model.strip().lower()
    return any(m and (m in n.lower() or n.lower() in m) for n in gpu_names if n.strip())


def tuning_profile(
    command: Sequence[str] | None, gpu_names: Sequence[str], env: dict[str, str] | None = None
) -> dict[str, Any] | None:
    """The newest non-simulated profile of ``command`` (on a GPU model among ``gpu_names``
    when the run measured GPUs), trimmed to :data:`PROFILE_KEYS` plus ``gpu_measured``
    (whether the audited run measured a GPU of that model); None when there is none."""
    if not command:
        return None
    from wattwise.power.profiles import find_profiles, fingerprint

    found = [p for p in find_profiles(fingerprint(command), env) if p.get("simulated") is False]
    usable = [p for p in found if isinstance(p.get("settings"), list) and p["settings"]]
    if gpu_names:
        usable = [p for p in usable if _matches(str(p.get("gpu_model", "")), gpu_names)]
    if not usable:
        return None
    best = max(usable, key=lambda p: str(p.get("created_at", "")))
    return {**{k: best.get(k) for k in PROFILE_KEYS}, "gpu_measured": bool(gpu_names)}


def cpufreq_finding(unit: str | None) -> dict[str, Any]:
    """The CPU frequency state (:func:`wattwise.power.cpufreq.read_cpufreq`: summary lines,
    driver) and its advice for a training (``unit`` other than ``request``) or serving job."""
    from wattwise.power.cpuadvice import advise
    from wattwise.power.cpufreq import read_cpufreq, summary_lines

    state = read_cpufreq()
    advice = advise(state, "serve" if unit == "request" else "train")
    return {
        "available": state.available,
        "driver": state.driver,
        "summary": summary_lines(state),
        "advice": [a.to_dict() for a in advice],
    }


def power_findings(
    command: Sequence[str] | None, result: RunResult, unit: str | None
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """``power_profile`` and ``cpufreq`` of the audit document."""
    gpus = [c.name for c in result.components if c.kind == "gpu"]
    return tuning_profile(command, gpus), cpufreq_finding(unit)
