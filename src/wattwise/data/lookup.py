"""Look-ups over the reference tables by user-facing key, with close-match suggestions.

Keys: countries by ISO 3166-1 alpha-2 (``FR``), alpha-3 (``FRA``) or English name; sub-national
grids by ``US-CA`` / ``CA-QC`` / ``SE3``; cloud regions by provider and region name as the provider
spells it (``aws``/``us-east-1``, ``azure``/``westeurope``, ``gcp``/``europe-west1``).
Unknown keys raise :class:`~wattwise.errors.UnknownKeyError` listing the closest known keys.
"""

from __future__ import annotations

from functools import lru_cache

from wattwise.data.tables import (
    Country,
    EmbodiedFigure,
    GridFactor,
    Price,
    PuePreset,
    WueFigure,
    cloud_factors,
    countries,
    country_factors,
    embodied_figures,
    prices,
    pue_presets,
    subnational_factors,
    unknown_key,
    wue_figures,
)
from wattwise.errors import UnknownKeyError

CLOUD_PROVIDERS = ("aws", "azure", "gcp")
#: Providers whose table is a series of published years (Google's yearly region files).
YEARLY_SERIES_PROVIDERS = ("gcp",)
COOLING_ALIASES = {
    "air": "air",
    "free-air": "free-air",
    "free_air": "free-air",
    "freeair": "free-air",
    "direct-liquid": "direct-liquid",
    "direct_liquid": "direct-liquid",
    "liquid": "direct-liquid",
    "dlc": "direct-liquid",
    "immersion": "immersion",
}
#: EU member states (for the EU-27 average price fallback).
_EU27_CODES = "AT BE BG HR CY CZ DK EE FI FR DE GR IE IT LV LT LU MT NL PL PT RO SK SI ES SE HU"
EU27 = frozenset(_EU27_CODES.split(" "))


@lru_cache(maxsize=1)
def _country_index() -> dict[str, Country]:
    index: dict[str, Country] = {}
    for c in countries():
        index[c.iso2] = c
        index[c.iso3] = c
        index[c.name.upper()] = c
    index["UK"] = index["GB"]  # the common, non-ISO code for the United Kingdom
    return index


def resolve_country(code: str) -> Country:
    """The country for an ISO alpha-2 / alpha-3 code or English name (case-insensitive)."""
    key = code.strip().upper()
    found = _country_index().get(key)
    if found is None:
        known = [c.iso2 for c in countries()] + [c.name for c in countries()]
        raise unknown_key("country", code, known)
    return found


def _pick_year(rows: list[GridFactor], year: int | None) -> GridFactor:
    """The row of ``year`` if the table has it; else the latest year before it (the figure in
    force then), else the earliest; without ``year`` the latest. The caller states a mismatch."""
    by_year = sorted(rows, key=lambda f: f.year or 0)
    if year is None:
        return by_year[-1]
    earlier = [f for f in by_year if (f.year or 0) <= year]
    return earlier[-1] if earlier else by_year[0]


def country_factor(code: str, year: int | None = None) -> GridFactor:
    """National grid intensity for a country code or name.

    The table holds one or more data years per country (OWID/Ember): without ``year`` the latest
    published year; with ``year`` that year's row, else the latest year before it, else the
    earliest (``GridFactor.year`` says which year was used).
    """
    country = resolve_country(code)
    rows = [f for f in country_factors() if f.country_iso2 == country.iso2 or f.key == country.iso3]
    if rows:
        return _pick_year(rows, year)
    known = [f.key for f in country_factors()]
    raise unknown_key(f"country with grid data ({country.name})", country.iso2, known)


def latest_country_factors() -> tuple[GridFactor, ...]:
    """One row per country: its latest published year."""
    best: dict[str, GridFactor] = {}
    for f in country_factors():
        cur = best.get(f.key)
        if cur is None or (f.year or 0) > (cur.year or 0):
            best[f.key] = f
    return tuple(best.values())


def region_factor(key: str) -> GridFactor:
    """Sub-national grid intensity: ``US-CA``, ``CA-QC``, ``SE3``, ``NO2`` ..."""
    k = key.strip().upper().replace("_", "-")
    for f in subnational_factors():
        if f.key == k:
            return f
    raise unknown_key("region", key, [f.key for f in subnational_factors()])


def normalize_provider(provider: str) -> str:
    p = provider.strip().lower()
    aliases = {"google": "gcp", "gce": "gcp", "microsoft": "azure", "amazon": "aws", "ec2": "aws"}
    p = aliases.get(p, p)
    if p not in CLOUD_PROVIDERS:
        raise unknown_key("cloud provider", provider, CLOUD_PROVIDERS)
    return p


def cloud_regions(provider: str) -> tuple[GridFactor, ...]:
    """Every row of a provider (all years for GCP)."""
    p = normalize_provider(provider)
    return tuple(f for f in cloud_factors() if f.key.startswith(p + ":"))


def cloud_factor(provider: str, region: str, year: int | None = None) -> GridFactor:
    """Grid intensity of a cloud region.

    GCP regions have one row per year (Google's own data, 2019-2025): ``year`` picks one (an
    unpublished year raises UnknownKeyError), else the latest. AWS/Azure have one row per region
    (Cloud Carbon Footprint, one data year per source, or none stated): ``year`` does not change
    it; ``GridFactor.year`` says the row's year. Azure accepts display names (``West Europe``) as
    well as programmatic ones (``westeurope``).
    """
    p = normalize_provider(provider)
    r = region.strip().lower()
    if p == "azure":
        r = r.replace(" ", "")
    rows = [f for f in cloud_regions(p) if f.key == f"{p}:{r}"]
    if not rows:
        raise unknown_key(f"{p} region", region, [f.key.split(":", 1)[1] for f in cloud_regions(p)])
    dated = [f for f in rows if f.year is not None]
    if year is not None and p in YEARLY_SERIES_PROVIDERS and dated:
        exact = [f for f in dated if f.year == year]
        if exact:
            return exact[0]
        years = sorted({f.year for f in dated if f.year is not None})
        listed = ", ".join(str(y) for y in years)
        raise UnknownKeyError(f"no {year} data for {p}:{r}; years available: {listed}")
    return max(rows, key=lambda f: f.year or 0)


def latest_cloud_factors() -> tuple[GridFactor, ...]:
    """One row per cloud region: the latest year where the source has several."""
    best: dict[str, GridFactor] = {}
    for f in cloud_factors():
        cur = best.get(f.key)
        if cur is None or (f.year or 0) > (cur.year or 0):
            best[f.key] = f
    return tuple(best.values())


def pue_preset(key: str) -> PuePreset:
    """A PUE preset by key: provider (``aws``), cooling type (``immersion``), ``industry-2023``."""
    k = key.strip().lower()
    k = COOLING_ALIASES.get(k, k)
    for p in pue_presets():
        if p.key == k:
            return p
    raise unknown_key("PUE preset", key, [p.key for p in pue_presets()])


def cooling_preset(cooling: str) -> PuePreset:
    """The PUE preset of a cooling type (air, free-air, direct-liquid, immersion)."""
    k = COOLING_ALIASES.get(cooling.strip().lower())
    if k is None:
        raise unknown_key("cooling type", cooling, sorted(set(COOLING_ALIASES.values())))
    return pue_preset(k)


def industry_pue(year: int | None = None) -> PuePreset:
    """Industry-average PUE (Uptime Institute): ``year`` if listed, else the latest year."""
    rows = sorted((p for p in pue_presets() if p.kind == "industry"), key=lambda p: p.year or 0)
    if year is not None:
        for p in rows:
            if p.year == year:
                return p
    return rows[-1]


def wue_figure(key: str) -> WueFigure | None:
    """Published site WUE for ``key`` (``aws``, ``azure``, ``industry``), None if unknown."""
    k = key.strip().lower()
    return next((w for w in wue_figures() if w.key == k), None)


def _period_key(p: Price) -> str:
    return p.period


def price_for(key: str, sector: str | None = None) -> Price | None:
    """The most recent price for a country (``IE``) or US state (``US-CA``); None if none.

    US rows default to the commercial sector (EIA counts data centres in the commercial sector).
    """
    k = key.strip().upper()
    rows = [p for p in prices() if p.key == k]
    if not rows:
        return None
    want = sector or ("commercial" if k == "US" or k.startswith("US-") else None)
    if want is not None:
        rows = [p for p in rows if p.sector == want] or rows
    return max(rows, key=_period_key)


def embodied_for(kind: str, name: str, boundary: str) -> EmbodiedFigure | None:
    """Embodied figure for a device: a row whose name occurs in ``name``, else the ``*`` row."""
    k = kind.strip().lower()
    rows = [e for e in embodied_figures() if e.kind == k and e.boundary == boundary]
    lowered = name.lower().replace(" ", "")
    named = [e for e in rows if e.name != "*" and e.name.lower() in lowered]
    if named:
        return max(named, key=lambda e: len(e.name))
    return next((e for e in rows if e.name == "*"), None)
