"""Data-centre KPIs for operators: PUE, REF, ERF, WUE with their ISO/IEC 30134 definitions.

The EU Energy Efficiency Directive (EU) 2023/1791, Article 12 and Annex VII, has data centres of
500 kW or more installed IT power report yearly; its delegated act (Regulation (EU) 2024/1364)
lists these KPIs among others. All energies are over the same period (ISO/IEC 30134-2 asks for
12 months for a reported PUE), in kWh; water in m³.

* PUE — power usage effectiveness (ISO/IEC 30134-2): total data-centre energy / IT equipment
  energy (≥ 1).
* REF — renewable energy factor (ISO/IEC 30134-3): renewable energy used by the data centre /
  total data-centre energy (0–1).
* ERF — energy reuse factor (ISO/IEC 30134-6): energy reused outside the data centre (e.g. heat
  to a district network) / total data-centre energy (0–1).
* WUE — water usage effectiveness (ISO/IEC 30134-9): site water use (litres) / IT equipment
  energy (kWh), L/kWh.

Inputs that cannot all be true (IT energy above facility energy, renewable or reused energy above
the total) are refused with one line (:class:`~wattwise.errors.ConfigError`): nothing is clipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from wattwise.errors import ConfigError

DEFINITIONS = {
    "PUE": "ISO/IEC 30134-2: total data-centre energy / IT equipment energy",
    "REF": "ISO/IEC 30134-3: renewable energy used / total data-centre energy",
    "ERF": "ISO/IEC 30134-6: energy reused outside the data centre / total data-centre energy",
    "WUE": "ISO/IEC 30134-9: site water use (L) / IT equipment energy (kWh)",
}
#: Said in the output: where the definitions leave the reporter a choice.
UNCERTAIN = (
    "REF: which renewable energy qualifies (on-site generation, PPAs, certificates) follows "
    "ISO/IEC 30134-3's rules: give only energy that qualifies under them",
    "WUE: ISO/IEC 30134-9 counts site water for humidification and cooling; whether potable "
    "and non-potable water are both included is the reporter's disclosure to make",
    "All figures must cover the same period; a reported PUE is an annual figure (ISO/IEC 30134-2)",
    "Not computed: CER (cooling efficiency ratio, ISO/IEC 30134-7) and CUE (ISO/IEC 30134-8) "
    "need cooling and emission data not given here",
)


@dataclass(frozen=True)
class DatacentreKpis:
    """The KPIs (None when their input was not given) and the inputs, units in the names."""

    it_kwh: float
    facility_kwh: float
    renewable_kwh: float | None
    reused_kwh: float | None
    water_m3: float | None
    pue: float
    ref: float | None
    erf: float | None
    wue_l_per_kwh: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": {
                "it_kwh": self.it_kwh,
                "facility_kwh": self.facility_kwh,
                "renewable_kwh": self.renewable_kwh,
                "reused_kwh": self.reused_kwh,
                "water_m3": self.water_m3,
            },
            "pue": self.pue,
            "ref": self.ref,
            "erf": self.erf,
            "wue_l_per_kwh": self.wue_l_per_kwh,
            "definitions": dict(DEFINITIONS),
            "uncertain": list(UNCERTAIN),
        }


def _check(name: str, x: float | None) -> None:
    if x is not None and not (math.isfinite(x) and x >= 0):
        raise ConfigError(f"{name} {x}: give a non-negative number")


def datacentre_kpis(
    it_kwh: float,
    facility_kwh: float,
    renewable_kwh: float | None = None,
    reused_kwh: float | None = None,
    water_m3: float | None = None,
) -> DatacentreKpis:
    """PUE, REF, ERF and WUE from the period's energies; ConfigError for inconsistent inputs."""
    for name, x in (
        ("--it-kwh", it_kwh),
        ("--facility-kwh", facility_kwh),
        ("--renewable-kwh", renewable_kwh),
        ("--reused-kwh", reused_kwh),
        ("--water-m3", water_m3),
    ):
        _check(name, x)
    if it_kwh <= 0:
        raise ConfigError("--it-kwh must be above 0: PUE and WUE divide by IT energy")
    if it_kwh > facility_kwh:
        raise ConfigError(
            f"inconsistent inputs: IT energy {it_kwh:g} kWh is above facility energy "
            f"{facility_kwh:g} kWh (the facility total includes IT: PUE would be below 1)"
        )
    for name, x in (("renewable", renewable_kwh), ("reused", reused_kwh)):
        if x is not None and x > facility_kwh:
            raise ConfigError(
                f"inconsistent inputs: {name} energy {x:g} kWh is above the data centre's total "
                f"energy {facility_kwh:g} kWh (its factor cannot exceed 1)"
            )
    return DatacentreKpis(
        it_kwh,
        facility_kwh,
        renewable_kwh,
        reused_kwh,
        water_m3,
        pue=facility_kwh / it_kwh,
        ref=None if renewable_kwh is None else renewable_kwh / facility_kwh,
        erf=None if reused_kwh is None else reused_kwh / facility_kwh,
        wue_l_per_kwh=None if water_m3 is None else water_m3 * 1000.0 / it_kwh,
    )


def render_text(k: DatacentreKpis) -> str:
    """The KPIs, each with its definition, then what is uncertain."""

    def row(name: str, value: float | None, unit: str = "") -> str:
        shown = "not given" if value is None else f"{value:.4g}{unit}"
        return f"{name}  {shown:<12}  {DEFINITIONS[name]}"

    lines = [
        "Data-centre KPIs (ISO/IEC 30134; EU Energy Efficiency Directive 2023/1791 Annex VII)",
        row("PUE", k.pue),
        row("REF", k.ref),
        row("ERF", k.erf),
        row("WUE", k.wue_l_per_kwh, " L/kWh"),
        *(f"  note: {u}" for u in UNCERTAIN),
    ]
    return "\n".join(lines) + "\n"
