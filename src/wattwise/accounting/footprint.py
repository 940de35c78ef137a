"""From energy to facility energy, carbon (location / market), water, cost, embodied carbon, SCI.

Pure functions over frozen dataclasses; the only I/O is reading the shipped reference tables.
The site factors (PUE, intensities, WUE, price) come from the one site resolver,
:func:`wattwise.accounting.site.resolve_site`.

How a footprint is computed (units in the names):

* ``facility_energy_kwh = it_energy_kwh × PUE`` (PUE: user value, cooling preset, cloud provider
  preset or the Uptime Institute industry average — in that order).
* ``co2e_location_g = facility_energy_kwh × I`` where I (gCO2e/kWh) is the grid average of the
  cloud region, sub-national grid or country given — or the world average, **assumed**.
* ``co2e_market_g`` (GHG Protocol Scope 2, market-based): ``facility_energy_kwh × supplier
  factor`` when given, else ``co2e_location_g × (1 − CFE)`` with the user's carbon-free fraction
  or Google's published CFE of a GCP region, else equal to the location-based figure (stated).
* ``water_l = it_energy_kwh × WUE`` (site WUE is litres per kWh of IT energy).
* ``cost = facility_energy_kwh × price``.
* ``embodied_co2e_g = Σ devices count × embodied_kg × 1000 × duration_s / lifetime_s``, with the
  boundary (die / card / server share) stated.
* ``SCI = (facility_energy_kwh × I + embodied_co2e_g) / R`` per functional unit R
  (ISO/IEC 21031:2024; I is location-based — no offsets, RECs or PPAs).
* ``offsets_kg``: carbon offsets the user declared (``--offsets-kg``), recorded and reported on
  their own — **never subtracted** from the location- or market-based figure (GHG Protocol
  Scope 2 guidance; SCI excludes them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from wattwise.accounting.context import Context
from wattwise.accounting.site import SiteFactors, resolve_grid, resolve_pue, resolve_site
from wattwise.core.assumption import Assumption
from wattwise.core.defaults import DEFAULT_BOUNDARY, DEFAULT_LIFETIME_YEARS, LIFETIME_YEARS
from wattwise.core.documents import FootprintDocument
from wattwise.core.provenance import Provenance, as_provenance, weakest
from wattwise.core.units import SECONDS_PER_YEAR
from wattwise.data.lookup import embodied_for
from wattwise.errors import ConfigError
from wattwise.units import j_to_kwh

__all__ = [
    "ASSUMPTION_PROVENANCES",
    "SECONDS_PER_YEAR",
    "Assumption",
    "Cost",
    "Device",
    "Footprint",
    "SiteFactors",
    "account",
    "embodied_share_g",
    "resolve_grid",
    "resolve_pue",
    "resolve_site",
    "sci",
]

#: The provenance values an assumption may carry (see :class:`wattwise.core.Provenance`).
ASSUMPTION_PROVENANCES = tuple(p.value for p in Provenance)

GIVEN, ESTIMATED, ASSUMED = Provenance.GIVEN, Provenance.ESTIMATED, Provenance.ASSUMED


@dataclass(frozen=True)
class Cost:
    """Money: ``value`` in ``currency`` (ISO 4217)."""

    value: float
    currency: str


@dataclass(frozen=True)
class Device:
    """A device counted for embodied carbon: kind (``gpu``, ``cpu``), name, how many."""

    kind: str
    name: str
    count: int = 1


@dataclass(frozen=True)
class Footprint:
    """The accounted footprint of some energy. Every figure's inputs are in ``assumptions``."""

    energy_j: float
    energy_provenance: str
    duration_s: float
    location: str
    pue: float
    facility_energy_kwh: float
    intensity_g_per_kwh: float
    co2e_location_g: float
    co2e_market_g: float
    water_l: float
    cost: Cost | None
    embodied_co2e_g: float
    sci_g_per_unit: Mapping[str, float]
    assumptions: tuple[Assumption, ...] = field(default_factory=tuple)
    #: kgCO2e of offsets declared; None when none. Never netted against any figure above.
    offsets_kg: float | None = None
    #: Data year of the grid-intensity row used; None when given by the user or not stated.
    grid_year: int | None = None

    @property
    def it_energy_kwh(self) -> float:
        return j_to_kwh(self.energy_j)

    @property
    def assumed(self) -> tuple[Assumption, ...]:
        """The inputs that are defaults the user did not set."""
        return tuple(a for a in self.assumptions if a.provenance is ASSUMED)

    @property
    def given(self) -> tuple[Assumption, ...]:
        """The inputs the user supplied."""
        return tuple(a for a in self.assumptions if a.provenance is GIVEN)

    def assumption(self, name: str) -> Assumption:
        """The assumption called ``name`` (KeyError if absent)."""
        for a in self.assumptions:
            if a.name == name:
                return a
        raise KeyError(name)

    def to_dict(self) -> FootprintDocument:
        """JSON-ready dict: the ``footprint`` object of ``wattwise run --json``."""
        return {
            "location": self.location,
            "it_energy_kwh": self.it_energy_kwh,
            "energy_provenance": self.energy_provenance,
            "duration_s": self.duration_s,
            "pue": self.pue,
            "facility_energy_kwh": self.facility_energy_kwh,
            "intensity_g_per_kwh": self.intensity_g_per_kwh,
            "grid_year": self.grid_year,
            "co2e_location_g": self.co2e_location_g,
            "co2e_market_g": self.co2e_market_g,
            "water_l": self.water_l,
            "cost": (
                {"value": self.cost.value, "currency": self.cost.currency} if self.cost else None
            ),
            "embodied_co2e_g": self.embodied_co2e_g,
            "sci_g_per_unit": dict(self.sci_g_per_unit),
            "assumptions": [a.to_dict() for a in self.assumptions],
            "offsets_kg": self.offsets_kg,
        }


def sci(energy_kwh: float, intensity_g_per_kwh: float, embodied_g: float, units: float) -> float:
    """Software Carbon Intensity (ISO/IEC 21031:2024): ((E × I) + M) / R, gCO2e per unit.

    ``energy_kwh`` E, ``intensity_g_per_kwh`` I (location-based), ``embodied_g`` M, ``units`` R.
    """
    if units <= 0:
        raise ConfigError(f"functional unit count must be positive, got {units:g}")
    return (energy_kwh * intensity_g_per_kwh + embodied_g) / units


def embodied_share_g(
    embodied_kg: float, duration_s: float, lifetime_years: float, count: int = 1
) -> float:
    """SCI's M = TE × (TiR / EL) × (RR / ToR) for ``count`` dedicated devices, in grams.

    TE ``embodied_kg`` per device, TiR ``duration_s``, EL ``lifetime_years``; RR/ToR = 1 because
    the devices are reserved for the run.
    """
    return count * embodied_kg * 1000.0 * duration_s / (lifetime_years * SECONDS_PER_YEAR)


def energy_provenance(label: str | Provenance) -> Provenance:
    """The provenance of an energy given as a kind or a run's label: ``measured``, or the weakest
    part of ``mixed: measured + estimated``; ``assumed`` when the label names no kind."""
    text = str(label)
    parts = text.split(":", 1)[1].split("+") if text.startswith("mixed:") else [text]
    kinds: list[Provenance] = []
    for part in parts:
        try:
            kinds.append(as_provenance(part.strip()))
        except ValueError:
            continue
    return weakest(kinds) or ASSUMED


def account(
    energy_j: float,
    provenance: str,
    duration_s: float,
    context: Context,
    devices: Sequence[Device | tuple[str, str, int]] = (),
    functional_units: Mapping[str, float] | None = None,
) -> Footprint:
    """Account ``energy_j`` (IT energy, joules, of ``provenance``) used over ``duration_s``.

    ``devices`` (kind, name, count) get an embodied-carbon share; ``functional_units`` maps a
    unit name to its count (``{"token": 1.2e6}``) for SCI; without it SCI is per ``run``.
    Raises ConfigError / UnknownKeyError for bad input; never guesses silently.
    """
    if energy_j < 0 or duration_s < 0:
        raise ConfigError("energy and duration must not be negative")
    it_energy = Assumption(
        "it_energy", j_to_kwh(energy_j), "kWh", energy_provenance(provenance),
        f"wattwise run ({provenance})",
    )  # fmt: skip
    it_kwh = j_to_kwh(energy_j)
    site = resolve_site(context)
    assumptions: list[Assumption] = [it_energy, *site.assumptions]
    facility_kwh = it_kwh * site.pue.value
    i_g_per_kwh = site.intensity_location_g_per_kwh.value
    co2e_location_g = facility_kwh * i_g_per_kwh
    co2e_market_g = facility_kwh * site.intensity_market_g_per_kwh.value
    water_l = it_kwh * site.wue_l_per_kwh.value
    cost: Cost | None = None
    if site.price_per_kwh is not None and site.currency is not None:
        cost = Cost(facility_kwh * site.price_per_kwh.value, site.currency)

    embodied_g = _embodied(context, duration_s, devices, assumptions)
    if context.offsets_kg is not None:
        assumptions.append(Assumption(
            "offsets", context.offsets_kg, "kgCO2e", GIVEN,
            f"{context.origin('offsets_kg')}: declared offsets, reported on their own, never "
            "subtracted from emissions (GHG Protocol)",
        ))  # fmt: skip

    units = dict(functional_units) if functional_units else {"run": 1.0}
    sci_per_unit = {
        unit: sci(facility_kwh, i_g_per_kwh, embodied_g, n) for unit, n in units.items() if n > 0
    }
    return Footprint(
        energy_j=energy_j,
        energy_provenance=str(provenance),
        duration_s=duration_s,
        location=site.location,
        pue=site.pue.value,
        facility_energy_kwh=facility_kwh,
        intensity_g_per_kwh=i_g_per_kwh,
        co2e_location_g=co2e_location_g,
        co2e_market_g=co2e_market_g,
        water_l=water_l,
        cost=cost,
        embodied_co2e_g=embodied_g,
        sci_g_per_unit=sci_per_unit,
        assumptions=tuple(assumptions),
        offsets_kg=context.offsets_kg,
        grid_year=site.grid.year if site.grid is not None else None,
    )


def _embodied(
    ctx: Context,
    duration_s: float,
    devices: Sequence[Device | tuple[str, str, int]],
    assumptions: list[Assumption],
) -> float:
    if not devices:
        return 0.0
    boundary = ctx.embodied_boundary or DEFAULT_BOUNDARY
    if ctx.embodied_lifetime_years is not None:
        lifetime = ctx.embodied_lifetime_years
        assumptions.append(Assumption("embodied_lifetime", lifetime, "years", GIVEN,
                                      ctx.origin("embodied_lifetime_years")))  # fmt: skip
    else:
        lifetime = DEFAULT_LIFETIME_YEARS
        assumptions.append(
            Assumption(
                "embodied_lifetime",
                lifetime,
                "years",
                ASSUMED,
                LIFETIME_YEARS.source,
            )
        )
    total_g = 0.0
    for d in devices:
        dev = d if isinstance(d, Device) else Device(*d)
        fig = embodied_for(dev.kind, dev.name, boundary)
        name = f"embodied:{dev.kind}:{dev.name}"
        if fig is None:
            assumptions.append(Assumption(name, "not counted", "", ASSUMED,
                                          f"no {dev.kind} figure at boundary '{boundary}'"
                                          " in embodied.csv"))  # fmt: skip
            continue
        g = embodied_share_g(fig.embodied_kg, duration_s, lifetime, dev.count)
        total_g += g
        src = (
            f"embodied.csv {fig.kind}/{fig.name}, boundary {fig.boundary} ({fig.note}),"
            f" x{dev.count} devices: {fig.source}"
        )
        # The figure is a table estimate; with the default boundary its choice is ours.
        prov = ESTIMATED if ctx.embodied_boundary is not None else ASSUMED
        assumptions.append(Assumption(name, fig.embodied_kg, "kgCO2e/device", prov, src))
    return total_g
