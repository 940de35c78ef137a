"""The same energy accounted in many places: countries, sub-national grids, cloud regions.

Keys: an ISO country code (``FR``), a sub-national grid (``US-CA``, ``CA-QC``, ``SE3``) or a
cloud region ``provider:region`` (``aws:us-east-1``, ``gcp:europe-west1``). Each row is a full
:func:`~wattwise.accounting.footprint.account` with the context's location replaced; other
settings (PUE, CFE, price, ...) are kept, so a cloud row uses its provider's PUE unless the user
fixed one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from wattwise.accounting.context import Context
from wattwise.accounting.footprint import Cost, Device, Footprint, account, resolve_grid
from wattwise.data.lookup import latest_cloud_factors, latest_country_factors
from wattwise.data.tables import subnational_factors
from wattwise.units import format_number

KINDS = ("country", "subnational", "cloud")
#: Below this a table's grid intensity (gCO2e/kWh) is a gap in the source data, not a figure:
#: no grid runs without emissions (hydro, nuclear and wind have lifecycle factors of ~10-30
#: g/kWh; the lowest national figures in grid_country.csv are ~20, Lesotho and Bhutan: hydro).
#: ``grid_country.csv`` has "CF" (Central African Republic) at 0 g/kWh.
MIN_PLAUSIBLE_G_PER_KWH = 1.0


@dataclass(frozen=True)
class RegionRow:
    """One place in a comparison. Carbon in grams, energy in kWh."""

    key: str
    kind: str
    name: str
    year: int | None
    basis: str
    intensity_g_per_kwh: float
    pue: float
    facility_energy_kwh: float
    co2e_location_g: float
    co2e_market_g: float
    cost: Cost | None
    source: str
    #: What the price is: "your price", "EU average" (no national figure), "<key> tariff",
    #: or "" when no price is known (see :func:`price_basis`).
    price_basis: str = ""
    #: Why the row's figures are not to be trusted ("" when they are): a table intensity of
    #: 0 g/kWh is a gap in the source, not a carbon-free grid. Flagged rows sort last.
    flag: str = ""


def price_basis(fp: Footprint) -> str:
    """A short name for the price a footprint used: ``your price`` (given), ``EU average``
    (no figure for the country: the EU average stands in), ``<country> tariff`` (the table's
    national figure), or ``""`` when no price is known."""
    price = next((a for a in fp.assumptions if a.name == "price"), None)
    if price is None or not isinstance(price.value, int | float):
        return ""
    if str(getattr(price.provenance, "value", price.provenance)) in ("given", "user"):
        return "your price"
    if "EU average" in price.source:
        return "EU average"
    # The source names the table row: "... prices_us_eia.csv US-CA commercial 2020 ...".
    words = price.source.split()
    for i, word in enumerate(words[:-1]):
        if word.endswith(".csv"):
            return f"{words[i + 1]} tariff"
    return "table tariff"


def location_context(base: Context, key: str) -> Context:
    """``base`` with its location replaced by ``key`` (country, region or provider:region)."""
    k = key.strip()
    country = region = cloud = cloud_region = None
    if ":" in k:
        cloud, cloud_region = k.split(":", 1)
    elif any(f.key == k.upper() for f in subnational_factors()):
        region = k.upper()
    else:
        country = k
    # A user PUE or cooling preset stays; cloud rows otherwise take the provider's PUE.
    return replace(
        base,
        country=country,
        region=region,
        cloud=cloud,
        cloud_region=cloud_region,
        intensity_g_per_kwh=None,
    )


def default_keys(kinds: Sequence[str] = KINDS) -> list[str]:
    """Every place with data, once: countries, sub-national grids and cloud regions."""
    keys: list[str] = []
    if "country" in kinds:
        keys += [f.key for f in latest_country_factors() if f.country_iso2]
    if "subnational" in kinds:
        keys += [f.key for f in subnational_factors()]
    if "cloud" in kinds:
        keys += [f.key for f in latest_cloud_factors()]
    return keys


def compare_regions(
    energy_j: float,
    duration_s: float,
    context: Context,
    keys: Iterable[str] | None = None,
    provenance: str = "measured",
    devices: Sequence[Device | tuple[str, str, int]] = (),
) -> list[RegionRow]:
    """Account the same energy in each place of ``keys`` (default: every place with data),
    sorted by location-based carbon, lowest first; rows whose table figure is implausible
    (``flag``, e.g. a 0 g/kWh gap) come last. Unknown keys raise UnknownKeyError."""
    rows: list[RegionRow] = []
    for key in keys if keys is not None else default_keys():
        ctx = location_context(context, key)
        fp = account(energy_j, provenance, duration_s, ctx, devices)
        grid, label, used = resolve_grid(ctx)
        kind = "cloud" if ctx.cloud else "subnational" if ctx.region else "country"
        rows.append(
            RegionRow(
                key=grid.key if grid is not None else key,
                kind=kind,
                name=label,
                year=grid.year if grid is not None else None,
                basis=grid.basis if grid is not None else "",
                intensity_g_per_kwh=fp.intensity_g_per_kwh,
                pue=fp.pue,
                facility_energy_kwh=fp.facility_energy_kwh,
                co2e_location_g=fp.co2e_location_g,
                co2e_market_g=fp.co2e_market_g,
                cost=fp.cost,
                source=used.source,
                price_basis=price_basis(fp),
                flag=implausible(fp.intensity_g_per_kwh) if grid is not None else "",
            )
        )
    rows.sort(key=lambda r: (bool(r.flag), r.co2e_location_g, r.key))
    return rows


def implausible(intensity_g_per_kwh: float) -> str:
    """The reason a table's grid intensity cannot be right, or "" (see MIN_PLAUSIBLE_G_PER_KWH)."""
    if intensity_g_per_kwh < MIN_PLAUSIBLE_G_PER_KWH:
        return (
            f"{format_number(intensity_g_per_kwh)} gCO2e/kWh in the source table is a gap, not "
            "a figure: no grid is carbon-free (lifecycle factors of hydro and nuclear are "
            "~10-30 g/kWh)"
        )
    return ""
