"""An Impact Framework manifest whose pipeline computes the run's SCI.

The Green Software Foundation's Impact Framework (``@grnsft/if``, ``if-run``) computes a manifest's
pipeline from its inputs. This manifest carries the run's own inputs and lets IF's builtin
plugins compute SCI (ISO/IEC 21031:2024) the way :func:`wattwise.accounting.footprint.sci` does:

======================  ====================================================================
plugin (builtin)        computes
======================  ====================================================================
facility-energy         Multiply: energy = energy-it (kWh) × pue
operational-carbon      Multiply: carbon-operational = energy × grid/carbon-intensity (g/kWh)
embodied-time           Multiply: embodied-x-time = device/emissions-embodied (g) × time-reserved
embodied-share          Divide: carbon-embodied = embodied-x-time / device/expected-lifespan (s)
carbon                  Sum: carbon = carbon-operational + carbon-embodied
sci                     Sci: sci = carbon / R, R the functional unit's count
======================  ====================================================================

``grid/carbon-intensity`` is location-based (SCI excludes offsets, RECs and PPAs); the embodied
share is SCI's M = TE × TiR / EL with RR/ToR = 1 (devices reserved for the run);
``device/emissions-embodied`` is TE summed over the run's devices. The functional unit's count is
wattwise's R: a unit counted in some windows only is scaled by those windows' share of the
run's energy (:func:`wattwise.accounting.runs.functional_units`), so that SCI per unit is carbon
of the windows that did the work. Declared offsets are in the description only: never an input.
"""

from __future__ import annotations

from typing import Any

from wattwise.core.units import SECONDS_PER_YEAR
from wattwise.errors import ConfigError
from wattwise.report.disclosures import yamltext
from wattwise.report.disclosures.subject import Work

#: The Impact Framework release the manifest is written for and tested with (``.ci/run``).
IF_VERSION = "1.1.0"


def _lifetime_s(w: Work) -> float:
    a = w.assumption("embodied_lifetime")
    years = float(a.value) if a is not None and not isinstance(a.value, str) else 4.0
    return years * SECONDS_PER_YEAR


def _plugin(method: str, config: dict[str, Any]) -> dict[str, Any]:
    return {"method": method, "path": "builtin", "config": config}


def _unit_key(unit: str) -> str:
    """IF input name of the functional unit: ``token`` -> ``tokens``, ``run`` -> ``runs``."""
    return unit if unit.endswith("s") else unit + "s"


def manifest(w: Work, unit: str | None = None) -> tuple[dict[str, Any], float]:
    """(The manifest, wattwise's SCI per ``unit``) for ``w``; ``unit`` defaults to the first
    counted unit (``run`` when nothing was counted). ConfigError for a unit not counted."""
    units = dict(w.functional_units) or {"run": 1.0}
    unit = unit or next(iter(units))
    if unit not in units or unit not in w.sci_g_per_unit:
        raise ConfigError(f"--unit {unit}: this run has SCI per {', '.join(units)}")
    lifetime_s = _lifetime_s(w)
    te_g = w.embodied_co2e_g * lifetime_s / w.duration_s if w.duration_s > 0 else 0.0
    r_key = _unit_key(unit)
    inputs: dict[str, Any] = {
        "timestamp": (w.started_at or "1970-01-01T00:00:00+00:00")[:19] + "Z",
        "duration": max(1.0, w.duration_s),  # IF's Sci plugin needs duration >= 1 s
        "energy-it": w.it_energy_kwh,
        "pue": w.pue,
        "grid/carbon-intensity": w.intensity_location_g_per_kwh or 0.0,
        "device/emissions-embodied": te_g,
        "time-reserved": w.duration_s,
        "device/expected-lifespan": lifetime_s,
        r_key: units[unit],
    }
    offsets = "none declared" if w.offsets_kg is None else f"{w.offsets_kg:g} kgCO2e declared"
    doc: dict[str, Any] = {
        "name": f"wattwise run {w.name} ({w.work_id[:12]})",
        "description": (
            f"SCI (ISO/IEC 21031:2024) per {unit} of wattwise run {w.work_id}: "
            f"((energy-it x pue) x grid/carbon-intensity + embodied share) / {r_key}. "
            f"Energy {w.energy_provenance}; grid intensity location-based ({w.location}). "
            f"Offsets: {offsets}; SCI excludes offsets and they are never subtracted."
        ),
        "tags": {"kind": "ai", "source": "wattwise", "stage": w.stage or "not stated"},
        "initialize": {
            "plugins": {
                "facility-energy": _plugin(
                    "Multiply",
                    {"input-parameters": ["energy-it", "pue"], "output-parameter": "energy"},
                ),
                "operational-carbon": _plugin(
                    "Multiply",
                    {
                        "input-parameters": ["energy", "grid/carbon-intensity"],
                        "output-parameter": "carbon-operational",
                    },
                ),
                "embodied-time": _plugin(
                    "Multiply",
                    {
                        "input-parameters": ["device/emissions-embodied", "time-reserved"],
                        "output-parameter": "embodied-x-time",
                    },
                ),
                "embodied-share": _plugin(
                    "Divide",
                    {
                        "numerator": "embodied-x-time",
                        "denominator": "device/expected-lifespan",
                        "output": "carbon-embodied",
                    },
                ),
                "carbon": _plugin(
                    "Sum",
                    {
                        "input-parameters": ["carbon-operational", "carbon-embodied"],
                        "output-parameter": "carbon",
                    },
                ),
                "sci": _plugin("Sci", {"functional-unit": r_key}),
            }
        },
        "tree": {
            "children": {
                "run": {
                    "pipeline": {
                        "compute": [
                            "facility-energy",
                            "operational-carbon",
                            "embodied-time",
                            "embodied-share",
                            "carbon",
                            "sci",
                        ]
                    },
                    "inputs": [inputs],
                }
            }
        },
    }
    return doc, w.sci_g_per_unit[unit]


def manifest_yaml(w: Work, unit: str | None = None) -> str:
    """:func:`manifest` as YAML, with a header saying what it is and the SCI wattwise found."""
    doc, sci_g = manifest(w, unit)
    unit = unit or next(iter(dict(w.functional_units) or {"run": 1.0}))
    header = [
        f"Impact Framework manifest (if-run, @grnsft/if {IF_VERSION}) written by wattwise.",
        f"wattwise SCI: {sci_g!r} gCO2e per {unit}; run: if-run --manifest FILE --output OUT",
        "Offsets are reported separately and never subtracted (SCI excludes them).",
    ]
    counted = w.counts.get(unit + "s", w.counts.get(unit))
    r = dict(w.functional_units).get(unit)
    if counted and r and abs(r - counted) > 1e-9 * counted:
        header.append(
            f"R = {r:g}: {counted:g} {unit}s counted in windows holding {counted / r:.4g} of the "
            "run's energy (SCI per unit = those windows' carbon / count)"
        )
    return yamltext.dumps(doc, header=header)
