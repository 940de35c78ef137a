"""The one line a tuned block or a tuned fit ends with (:meth:`TunedSession.summary`)."""

from __future__ import annotations

from typing import Any


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
