"""The one site resolver: a :class:`Context` → site factors, each a band with provenance.

Footprints (:func:`wattwise.accounting.account`), estimates (:mod:`wattwise.estimate.site`) and
audits all take PUE, grid intensity (location- and market-based), water and price from
:func:`resolve_site`; nothing back-solves them from an accounted footprint.

Order of precedence, per factor (units in the names):

* ``pue`` (ratio): the user's value (``given``), a cooling preset or the cloud provider's fleet
  PUE (``estimated``, with the table's range), else the latest industry average (``assumed``, its
  range reaching down to hyperscale fleets).
* ``intensity_location_g_per_kwh``: the user's value, the cloud region's, the sub-national
  grid's or the country's yearly average (``estimated``), else the world average (``assumed``).
* ``intensity_market_g_per_kwh`` (GHG Protocol Scope 2, market-based): a supplier factor, or the
  location-based figure × (1 − CFE) with the user's carbon-free fraction or Google's published
  CFE of a GCP region, else equal to the location-based figure (``assumed``, stated).
* ``wue_l_per_kwh`` (litres per kWh of IT energy): the user's, the provider's, else the industry
  average.
* ``price_per_kwh`` in ``currency``: the user's, the region's or the country's (EU average for an
  EU country without a figure), else None: unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

from wattwise.accounting.context import Context
from wattwise.accounting.money import UNKNOWN_PRICE
from wattwise.core.assumption import Assumption
from wattwise.core.defaults import ASSUMED_PUE_LOW_KEY
from wattwise.core.factor import Factor
from wattwise.core.provenance import Provenance
from wattwise.data.lookup import (
    EU27,
    cloud_factor,
    cooling_preset,
    country_factor,
    industry_pue,
    price_for,
    pue_preset,
    region_factor,
    resolve_country,
    wue_figure,
)
from wattwise.data.tables import GridFactor, world_average

GIVEN, ESTIMATED, ASSUMED = Provenance.GIVEN, Provenance.ESTIMATED, Provenance.ASSUMED


@dataclass(frozen=True)
class SiteFactors:
    """The site factors of a context, each a :class:`Factor` (value, band, provenance, source).

    ``location`` labels where the energy was drawn; ``grid`` is the table row used (None for a
    user-given intensity); ``price_per_kwh`` is None when no price is known (``currency`` then
    None too). ``assumptions`` are the same factors as footprint inputs, in report order.
    """

    location: str
    grid: GridFactor | None
    pue: Factor
    intensity_location_g_per_kwh: Factor
    intensity_market_g_per_kwh: Factor
    wue_l_per_kwh: Factor
    price_per_kwh: Factor | None
    currency: str | None
    assumptions: tuple[Assumption, ...]


def resolve_site(ctx: Context) -> SiteFactors:
    """The site factors of ``ctx`` (see the module docstring). Raises UnknownKeyError for a place
    the tables do not know."""
    pue_a, pue = _pue(ctx)
    grid, location, grid_a = resolve_grid(ctx)
    loc = _factor(grid_a)
    market_a, market = _market(ctx, grid, loc)
    wue_a = _resolve_water(ctx)
    price_a = _resolve_price(ctx, grid)
    if price_a is None:
        price_note = Assumption("price", "unknown", "", ASSUMED, _no_price_source(ctx, grid))
        price, currency = None, None
    else:
        price_note, price, currency = price_a, _factor(price_a), price_a.unit.split("/", 1)[0]
    return SiteFactors(
        location=location,
        grid=grid,
        pue=pue,
        intensity_location_g_per_kwh=loc,
        intensity_market_g_per_kwh=market,
        wue_l_per_kwh=_factor(wue_a),
        price_per_kwh=price,
        currency=currency,
        assumptions=(pue_a, grid_a, market_a, wue_a, price_note),
    )


def _no_price_source(ctx: Context, grid: GridFactor | None) -> str:
    where = "; ".join(why for _k, why in _price_keys(ctx, grid)) or "no location given"
    return f"no electricity price shipped for this place ({where}): {UNKNOWN_PRICE}"


def _factor(a: Assumption, low: float | None = None, high: float | None = None) -> Factor:
    return Factor(float(a.value), a.provenance, a.source, low, high)


def _market(ctx: Context, grid: GridFactor | None, loc: Factor) -> tuple[Assumption, Factor]:
    """Market-based intensity (gCO2e/kWh) and the input it comes from."""
    if ctx.supplier_factor_g_per_kwh is not None:
        a = Assumption("market_factor", ctx.supplier_factor_g_per_kwh, "gCO2e/kWh", GIVEN,
                       ctx.origin("supplier_factor_g_per_kwh"))  # fmt: skip
        return a, _factor(a)
    if ctx.cfe is not None:
        a = Assumption("cfe", ctx.cfe, "fraction", GIVEN, ctx.origin("cfe"))
    elif grid is not None and grid.cfe_fraction is not None:
        src = f"Google CFE of {grid.key} ({grid.year}), {grid.table}: {grid.source}"
        a = Assumption("cfe", grid.cfe_fraction, "fraction", ESTIMATED, src)
    else:
        a = Assumption(
            "cfe",
            0.0,
            "fraction",
            ASSUMED,
            "no contractual instrument given (--cfe / --supplier-factor) and no residual-mix"
            " table shipped: market-based = location-based",
        )
        return a, Factor(loc.value, ASSUMED, a.source, loc.low, loc.high)
    k = 1.0 - float(a.value)
    band = loc.band.scale(k)
    src = f"location-based x (1 - CFE {float(a.value):g}): {a.source}"
    return a, Factor(band.value, a.provenance, src, band.low, band.high)


def _factor_label(f: GridFactor) -> str:
    year = f"{f.year}" if f.year is not None else "year not stated by source"
    return f"{f.table} ({year}; {f.basis}): {f.source}"


def resolve_grid(ctx: Context) -> tuple[GridFactor | None, str, Assumption]:
    """Location-based grid intensity for a context: (table row or None, location label, input)."""
    if ctx.intensity_g_per_kwh is not None:
        label = ctx.origin("intensity_g_per_kwh")
        return (
            None,
            "grid intensity given by you",
            Assumption("grid_intensity", ctx.intensity_g_per_kwh, "gCO2e/kWh", GIVEN, label),
        )
    f: GridFactor | None = None
    if ctx.cloud is not None and ctx.cloud_region is not None:
        f = cloud_factor(ctx.cloud, ctx.cloud_region, ctx.year)
        label = f"cloud {f.key} ({f.name})"
    elif ctx.region is not None:
        f = region_factor(ctx.region)
        label = f"region {f.key} ({f.name})"
    elif ctx.country is not None:
        f = country_factor(ctx.country, ctx.year)
        label = f"country {f.key} ({f.name})"
    if f is not None:
        source = _factor_label(f)
        if ctx.year is not None and f.year is not None and f.year != ctx.year:
            source += f" [year {ctx.year} requested; {f.year} is the table's year]"
        return f, label, Assumption("grid_intensity", f.intensity_g_per_kwh, "gCO2e/kWh",
                                    ESTIMATED, source)  # fmt: skip
    w = world_average(ctx.year)
    why = "no location given" if ctx.cloud is None else f"cloud {ctx.cloud} without a region"
    return (
        w,
        "world average (assumed)",
        Assumption(
            "grid_intensity",
            w.intensity_g_per_kwh,
            "gCO2e/kWh",
            ASSUMED,
            f"{why}: world average assumed — {_factor_label(w)}",
        ),
    )


def resolve_pue(ctx: Context) -> Assumption:
    """PUE: the user's value, a cooling preset, the cloud provider's or the industry average."""
    return _pue(ctx)[0]


def _pue(ctx: Context) -> tuple[Assumption, Factor]:
    if ctx.pue is not None:
        a = Assumption("pue", ctx.pue, "ratio", GIVEN, ctx.origin("pue"))
        return a, _factor(a)
    if ctx.cooling is not None or ctx.cloud is not None:
        if ctx.cooling is not None:
            p, what = cooling_preset(ctx.cooling), "cooling"
        else:
            p, what = pue_preset(ctx.cloud or ""), "provider"
        src = f"pue.csv {what} '{p.key}' (range {p.pue_low:g}-{p.pue_high:g}): {p.source}"
        a = Assumption("pue", p.pue, "ratio", ESTIMATED, src)
        return a, _factor(a, p.pue_low, p.pue_high)
    p = industry_pue(ctx.year)
    low = pue_preset(ASSUMED_PUE_LOW_KEY)
    src = (
        f"no PUE given: industry average {p.year} assumed, pue.csv (industry range "
        f"{p.pue_low:g}-{p.pue_high:g}; band down to {low.pue:g}, pue.csv '{low.key}', as the "
        f"facility is unknown): {p.source}"
    )
    a = Assumption("pue", p.pue, "ratio", ASSUMED, src)
    # The facility is unknown: the band reaches down to hyperscale fleets (pue.csv 'free-air').
    return a, _factor(a, min(low.pue, p.pue), max(p.pue_high, p.pue))


def _resolve_water(ctx: Context) -> Assumption:
    if ctx.wue_l_per_kwh is not None:
        return Assumption(
            "wue", ctx.wue_l_per_kwh, "L/kWh (IT)", GIVEN, ctx.origin("wue_l_per_kwh")
        )
    if ctx.cloud is not None:
        w = wue_figure(ctx.cloud)
        if w is not None:
            src = f"wue.csv '{w.key}' ({w.year}): {w.source} [{w.verification}]"
            return Assumption("wue", w.wue_l_per_kwh, "L/kWh (IT)", ESTIMATED, src)
    w = wue_figure("industry")
    if w is None:  # pragma: no cover - the shipped table has the row
        return Assumption("wue", 0.0, "L/kWh (IT)", ASSUMED, "no WUE known")
    src = f"no site WUE known: industry average assumed, wue.csv ({w.year}): {w.source}"
    return Assumption("wue", w.wue_l_per_kwh, "L/kWh (IT)", ASSUMED, src)


def _price_keys(ctx: Context, grid: GridFactor | None) -> list[tuple[str, str]]:
    """Where to look a price up, most specific first: (price key, why that key)."""
    keys: list[tuple[str, str]] = []
    if grid is None and ctx.cloud is not None and ctx.cloud_region is not None:
        # A given intensity replaces the grid row, not the place: the region still has a country.
        grid = cloud_factor(ctx.cloud, ctx.cloud_region, ctx.year)
    if ctx.region is not None:
        keys.append((ctx.region, f"region {ctx.region}"))
    if ctx.country is not None:
        iso2 = resolve_country(ctx.country).iso2
        keys.append((iso2, f"country {iso2}"))
    elif grid is not None and grid.country_iso2:
        if grid.kind == "cloud":
            why = f"{grid.key} is in {grid.country_iso2} ({grid.table} location '{grid.name}')"
        else:
            why = f"{grid.key} is in {grid.country_iso2}"
        keys.append((grid.country_iso2, why))
    return keys


def _resolve_price(ctx: Context, grid: GridFactor | None) -> Assumption | None:
    """Price per kWh: the user's, the place's (region, country, a cloud region's country), the
    EU average for an EU country without a figure, else None (unknown: give --price)."""
    if ctx.price_per_kwh is not None:
        currency = ctx.currency or "USD"
        src = ctx.origin("price_per_kwh")
        if ctx.currency is None:
            src += " (currency not given: USD assumed)"
        return Assumption("price", ctx.price_per_kwh, f"{currency}/kWh", GIVEN, src)
    keys = _price_keys(ctx, grid)
    for key, why in keys:
        p = price_for(key)
        if p is not None:
            src = f"{why}: {p.table} {p.key} {p.sector} {p.period} ({p.tax_basis}): {p.source}"
            return Assumption("price", p.price_per_kwh, f"{p.currency}/kWh", ESTIMATED, src)
    for key, why in keys:
        if key in EU27:
            p = price_for("EU")
            if p is not None:
                src = (
                    f"{why}; no figure for {key}: EU average used, {p.table} {p.period}"
                    f" ({p.tax_basis}): {p.source}"
                )
                return Assumption("price", p.price_per_kwh, f"{p.currency}/kWh", ASSUMED, src)
    return None
