"""Unit constants and conversions (no formatting: that is :mod:`wattwise.units`).

Energy is carried in joules (``_j``) inside wattwise; kilowatt-hours (``_kwh``) appear only at
the accounting and reporting edges. A year is the Julian year of 365.25 days everywhere
(accounting, estimates, audits), so a yearly figure is the same whoever computes it.
"""

from __future__ import annotations

J_PER_KWH = 3.6e6
J_PER_WH = 3600.0
UJ_PER_J = 1e6
MJ_PER_J = 1e3  # millijoules per joule (NVML reports mJ)
G_PER_KG = 1e3

S_PER_HOUR = 3600.0
HOURS_PER_DAY = 24.0
S_PER_DAY = S_PER_HOUR * HOURS_PER_DAY
#: Julian year (365.25 days): the one year length of wattwise.
DAYS_PER_YEAR = 365.25
HOURS_PER_YEAR = DAYS_PER_YEAR * HOURS_PER_DAY  # 8766 h
SECONDS_PER_YEAR = DAYS_PER_YEAR * S_PER_DAY


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
