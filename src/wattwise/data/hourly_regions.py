"""Which shipped hourly series a region runs on: grid keys, countries and cloud regions.

``hourly_regions.csv`` (hand-curated, see ``SOURCES.md``) maps a user-facing region to the key
of a series in :mod:`wattwise.data.hourly` (a US balancing authority or ``GB``) and, where one
state holds the place, the key of its retail price (``prices_us_eia.csv``). Cloud regions map
by the location their provider publishes; a region whose grid has no shipped series is absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from wattwise.data.hourly import US_BALANCING_AUTHORITIES
from wattwise.data.tables import read_rows, unknown_key
from wattwise.errors import DataError, UnknownKeyError

TABLE = "hourly_regions.csv"
SERIES_KEYS = (*US_BALANCING_AUTHORITIES, "GB")


@dataclass(frozen=True)
class HourlyRegion:
    """A region with an hourly series: ``grid`` is the series key, ``price_key`` may be ''."""

    region: str
    grid: str
    place: str
    price_key: str
    basis: str


@lru_cache(maxsize=1)
def hourly_regions() -> dict[str, HourlyRegion]:
    """Every mapped region by its normalised key (grid keys upper case, cloud keys lower)."""
    out: dict[str, HourlyRegion] = {}
    for i, row in enumerate(read_rows(TABLE)):
        grid = row["grid"].strip()
        if grid not in SERIES_KEYS:
            raise DataError(f"{TABLE} line {i + 2}: grid {grid!r} has no shipped hourly series")
        r = HourlyRegion(
            row["region"].strip(), grid, row["place"], row["price_key"].strip(), row["basis"]
        )
        out[_normalise(r.region)] = r
    return out


def _normalise(text: str) -> str:
    t = text.strip()
    if ":" in t:
        provider, _, region = t.partition(":")
        aliases = {"google": "gcp", "amazon": "aws", "microsoft": "azure"}
        p = provider.strip().lower()
        return f"{aliases.get(p, p)}:{region.strip().lower().replace(' ', '')}"
    return t.upper()


#: Countries whose whole grid has one shipped series (the UK's common code included).
_COUNTRY_GRID = {"GB": "GB", "UK": "GB", "GBR": "GB", "UNITED KINGDOM": "GB"}


def hourly_region(text: str) -> HourlyRegion:
    """The region for ``CISO``, ``GB`` / ``UK`` / ``GBR``, or ``aws:us-west-2``.

    Raises :class:`UnknownKeyError` (a :class:`ConfigError`) naming the closest known regions;
    a known country or cloud region without an hourly series says so.
    """
    key = _normalise(text)
    table = hourly_regions()
    if key in table:
        return table[key]
    if key in _COUNTRY_GRID:
        return table[_COUNTRY_GRID[key]]
    if key in ("US", "USA", "UNITED STATES"):
        raise UnknownKeyError(
            "the US has several grids: give a balancing authority "
            f"({', '.join(US_BALANCING_AUTHORITIES)}) or a cloud region"
        )
    err = unknown_key("region with hourly data", text, [r.region for r in table.values()])
    grids = ", ".join(SERIES_KEYS)
    return_msg = (
        f"{err} (grids with hourly data: {grids}; cloud regions on them: "
        + ", ".join(r.region for r in table.values() if ":" in r.region)
        + "; or a live --provider)"
    )
    raise UnknownKeyError(return_msg)
