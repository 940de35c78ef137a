"""Unit conversions and formatting. Nothing else lives here.

Energy is carried in joules (``_j``) inside wattwise; kilowatt-hours (``_kwh``) appear only at
the accounting and reporting edges.
"""

from __future__ import annotations

J_PER_KWH = 3.6e6
J_PER_WH = 3600.0
UJ_PER_J = 1e6
MJ_PER_J = 1e3  # millijoules per joule (NVML reports mJ)


def j_to_kwh(energy_j: float) -> float:
    """Joules to kilowatt-hours."""
    return energy_j / J_PER_KWH


def kwh_to_j(energy_kwh: float) -> float:
    """Kilowatt-hours to joules."""
    return energy_kwh * J_PER_KWH


def j_to_wh(energy_j: float) -> float:
    """Joules to watt-hours."""
    return energy_j / J_PER_WH


def uj_to_j(energy_uj: float) -> float:
    """Microjoules (RAPL ``energy_uj``) to joules."""
    return energy_uj / UJ_PER_J


def mj_to_j(energy_mj: float) -> float:
    """Millijoules (NVML total energy) to joules."""
    return energy_mj / MJ_PER_J


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
