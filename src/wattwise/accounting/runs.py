"""Accounting a tracked run: its footprint in a context, SCI per functional unit.

A run's counted units (tokens, requests, ...) are attributed the energy of the windows in which
they were counted (:meth:`wattwise.core.run.RunResult.energy_per`): a run that fine-tunes and then
serves reports SCI per request from the serving window, not from the whole run.
"""

from __future__ import annotations

from wattwise.accounting.context import Context
from wattwise.accounting.footprint import Footprint, account
from wattwise.core.run import RunResult


def embodied_devices(result: RunResult) -> list[tuple[str, str, int]]:
    """Devices that get an embodied-carbon share: accelerators (one per GPU device)."""
    return [(c.kind, c.name, 1) for c in result.components if c.kind == "gpu"]


def functional_units(result: RunResult) -> dict[str, float] | None:
    """SCI's R per unit, scaled so that SCI per unit uses that unit's windows' energy.

    SCI is computed on the whole run's (E·I + M); a unit counted in windows holding a share
    ``s`` of the run's energy gets R / s, so that SCI = s·(E·I + M) / R: its windows' operational
    carbon plus the same share of the embodied carbon, per unit. Units named in the singular
    (``tokens`` -> ``token``); None when nothing was counted.
    """
    total_j = result.energy.total_j
    per = result.energy_per()
    units: dict[str, float] = {}
    for unit, n in result.counts.items():
        if n <= 0:
            continue
        share = 1.0
        if total_j > 0 and unit in per:
            share = min(1.0, max(per[unit] * n / total_j, 1e-12))
        units[unit.rstrip("s") or unit] = n / share
    return units or None


def footprint_of(result: RunResult, ctx: Context) -> Footprint:
    """Account a run's total energy in ``ctx`` (SCI per unit as :func:`functional_units`)."""
    return account(
        result.energy.total_j,
        result.energy.label,
        result.duration_s,
        ctx,
        embodied_devices(result),
        functional_units(result),
    )
