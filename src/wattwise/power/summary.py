"""What a tuned block reports (:meth:`TunedSession.report`) and the line it ends with."""

from __future__ import annotations

from typing import Any


def outcome_fields(result: Any, reused: dict[str, Any] | None, steps: int) -> dict[str, Any]:
    """The report's outcome: from this run's :class:`~wattwise.power.tuner.TuneResult`, else
    from the ``reused`` profile (its figures measured in the run that saved it), else nothing."""
    from wattwise.power.tuner import payback

    if result is not None:
        return {
            "workload_class": result.workload_class,
            "default": result.default.as_dict(),
            "chosen": result.chosen.as_dict(),
            "settings": [m.as_dict() for m in result.settings],
            "energy_saving": result.energy_saving,
            "slowdown": result.slowdown,
            "stopped_early": result.stopped_early,
            "tuning_cost": payback(result, max(steps, result.profiling_steps)),
        }
    if reused is not None:
        return {k: reused.get(k) for k in ("default", "chosen", "energy_saving", "slowdown")}
    return {}


def _setting(d: dict[str, Any]) -> str:
    clock = d.get("sm_clock_mhz")
    return f"{d['power_limit_w']:g} W" + (f", SM clock <= {clock:g} MHz" if clock else "")


def summary_line(doc: dict[str, Any]) -> str:
    """``doc``: a :meth:`~wattwise.power.session.TunedSession.report`. Says *simulated* for the
    simulated GPU, where the choice came from (this run's profile or a saved one), the held
    setting against the default, the saving and slowdown per step, and whether the settings
    were restored."""
    sim = " (SIMULATED GPU)" if doc["simulated"] else ""
    back = "settings restored" if doc["restored"] else "settings NOT restored"
    if doc.get("chosen") is None:
        return f"wattwise tune{sim}: {doc['note'] or 'nothing chosen'}; {back}"
    where = (
        f"from the saved profile {doc['reused_profile']}"
        if doc["reused_profile"]
        else f"measured in this run over {doc['tuning_cost']['profiling_steps']} steps"
    )
    return (
        f"wattwise tune{sim}: held {_setting(doc['chosen'])} (default "
        f"{_setting(doc['default'])}) for {doc['held']['steps']} steps: "
        f"{100 * doc['energy_saving']:.1f} % less energy per step, "
        f"{100 * doc['slowdown']:.2f} % slower ({where}); {back}"
    )
