"""Unit conversions and formatting. Nothing else lives here.

Energy is carried in joules (``_j``) inside wattwise; kilowatt-hours (``_kwh``) appear only at
the accounting and reporting edges.
"""

from __future__ import annotations

# The constants and conversions live in wattwise.core.units; re-exported here.
from wattwise.core.units import J_PER_KWH as J_PER_KWH
from wattwise.core.units import J_PER_WH as J_PER_WH
from wattwise.core.units import MJ_PER_J as MJ_PER_J
from wattwise.core.units import UJ_PER_J as UJ_PER_J
from wattwise.core.units import j_to_kwh as j_to_kwh
from wattwise.core.units import j_to_wh as j_to_wh
from wattwise.core.units import kwh_to_j as kwh_to_j
from wattwise.core.units import mj_to_j as mj_to_j
from wattwise.core.units import uj_to_j as uj_to_j


def format_energy(energy_j: float) -> str:
    """Human-readable energy: J below 10 kJ, then Wh / kWh / MWh."""
    a = abs(energy_j)
    if a < 1e4:
        return f"{energy_j:.3g} J" if a < 100 else f"{energy_j:.0f} J"
    wh = j_to_wh(energy_j)
    if abs(wh) < 1e3:
        return f"{wh:.3g} Wh"
    if abs(wh) < 1e6:
        return f"{wh / 1e3:.3g} kWh"
    return f"{wh / 1e6:.3g} MWh"


def format_power(power_w: float) -> str:
    """Human-readable power in W or kW."""
    if abs(power_w) < 1e3:
        return f"{power_w:.3g} W" if abs(power_w) < 100 else f"{power_w:.0f} W"
    return f"{power_w / 1e3:.3g} kW"


def format_duration(duration_s: float) -> str:
    """Human-readable duration: ms, s, min or h."""
    if duration_s < 1:
        return f"{duration_s * 1e3:.0f} ms"
    if duration_s < 120:
        return f"{duration_s:.2f} s"
    if duration_s < 7200:
        return f"{duration_s / 60:.1f} min"
    return f"{duration_s / 3600:.2f} h"


def format_mass_g(mass_g: float) -> str:
    """Human-readable mass from grams: g, kg or t."""
    if abs(mass_g) < 1e3:
        return f"{mass_g:.3g} g"
    if abs(mass_g) < 1e6:
        return f"{mass_g / 1e3:.3g} kg"
    return f"{mass_g / 1e6:.3g} t"
