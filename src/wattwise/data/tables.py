"""Loaders of the shipped reference tables, with unit and plausibility checks.

Every table is a CSV file in this package (see ``SOURCES.md`` for source, year, licence and the
transformation applied). Loaders parse each row into a frozen dataclass, check units and
plausible ranges and raise :class:`~wattwise.errors.DataError` naming the table and line of a bad
row. Results are cached: the files are read once per process, never at import.

Units: grid intensity in gCO2e/kWh, PUE a ratio >= 1, WUE in litres per kWh of IT energy, prices
per kWh in the row's currency, embodied carbon in kgCO2e per device, fractions in [0, 1].
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TypeVar

from wattwise.errors import DataError, UnknownKeyError

#: 1 lb/MWh = 453.59237 g / 1000 kWh.
LB_PER_MWH_TO_G_PER_KWH = 0.45359237
#: 1 t/kWh = 1e6 g/kWh.
TONNES_PER_KWH_TO_G_PER_KWH = 1e6

#: Plausible grid intensity; the dirtiest national grids are ~1,000 g/kWh (lignite/coal).
GRID_INTENSITY_MIN_G_PER_KWH = 0.0
GRID_INTENSITY_MAX_G_PER_KWH = 1200.0
PUE_MIN = 1.0
PUE_MAX = 3.0
WUE_MAX_L_PER_KWH = 10.0
RETAIL_PRICE_MAX_PER_KWH = 1.0  # USD or EUR per kWh; no retail tariff is above this
EMBODIED_MAX_KG = 10_000.0
YEAR_MIN = 1990
YEAR_MAX = 2100


def unknown_key(what: str, key: str, known: Iterable[str]) -> UnknownKeyError:
    """An :class:`UnknownKeyError` for ``key`` that lists the closest known names (difflib)."""
    import difflib

    choices = sorted(set(known))
    by_lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(key.lower(), list(by_lower), n=5, cutoff=0.6)
    if not close:  # also try prefixes: "us-east" -> us-east-1, us-east-2
        close = [c for c in by_lower if c.startswith(key.lower())][:5]
    hint = f"; closest: {', '.join(by_lower[c] for c in close)}" if close else ""
    return UnknownKeyError(f"unknown {what} {key!r}{hint}")


def _open_text(name: str) -> str:
    try:
        data = resources.files("wattwise.data").joinpath(name).read_bytes()
    except (FileNotFoundError, OSError) as exc:
        raise DataError(f"reference table {name} is missing from the package: {exc}") from exc
    if name.endswith(".gz"):
        import gzip

        data = gzip.decompress(data)
    return data.decode("utf-8-sig")


def read_rows(name: str, text: str | None = None) -> list[dict[str, str]]:
    """The raw rows of a shipped table (header -> cell text), in file order.

    ``text`` parses that CSV text instead of the shipped file (used to validate candidate data).
    """
    reader = csv.DictReader(io.StringIO(_open_text(name) if text is None else text))
    return [dict(r) for r in reader]


class _Row:
    """A row being parsed, with error messages that name the table and line."""

    def __init__(self, table: str, line: int, row: dict[str, str]) -> None:
        self.table, self.line, self.row = table, line, row

    def fail(self, msg: str) -> DataError:
        return DataError(f"{self.table} line {self.line}: {msg}")

    def text(self, col: str, required: bool = True) -> str:
        value = (self.row.get(col) or "").strip()
        if required and not value:
            raise self.fail(f"column {col!r} is empty")
        return value

    def number(self, col: str, lo: float, hi: float, unit: str) -> float:
        raw = self.text(col)
        try:
            value = float(raw)
        except ValueError:
            raise self.fail(f"{col}={raw!r} is not a number") from None
        if not math.isfinite(value) or not lo <= value <= hi:
            raise self.fail(f"{col}={raw} {unit} is outside the plausible range {lo:g}-{hi:g}")
        return value

    def optional_number(self, col: str, lo: float, hi: float, unit: str) -> float | None:
        return self.number(col, lo, hi, unit) if self.text(col, required=False) else None

    def year(self, col: str = "year") -> int | None:
        raw = self.text(col, required=False)
        if not raw:
            return None
        return int(self.number(col, YEAR_MIN, YEAR_MAX, ""))


_T = TypeVar("_T")


def _parse(name: str, parse: Callable[[_Row], _T], text: str | None = None) -> list[_T]:
    # Line numbers count the header as line 1.
    return [parse(_Row(name, i + 2, row)) for i, row in enumerate(read_rows(name, text))]


# --------------------------------------------------------------------------- grid intensity


@dataclass(frozen=True)
class Country:
    """An ISO 3166-1 country: alpha-2, alpha-3, English short name."""

    iso2: str
    iso3: str
    name: str


@dataclass(frozen=True)
class GridFactor:
    """Average carbon intensity of the electricity of one grid, gCO2e/kWh.

    ``kind`` is ``world``, ``country``, ``subnational`` or ``cloud``; ``key`` is the ISO alpha-2
    code, a sub-national code (``US-CA``, ``CA-QC``, ``SE3``) or ``provider:region``. ``year`` is
    the data year (None where the source does not date it). ``basis`` says what is counted:
    ``lifecycle`` (construction and fuel chain included), ``location-based`` / ``direct``
    (combustion only) or unspecified. ``cfe_fraction`` is Google's carbon-free energy share
    (0-1) for Google Cloud regions, else None.
    """

    kind: str
    key: str
    name: str
    country_iso2: str
    year: int | None
    intensity_g_per_kwh: float
    basis: str
    source: str
    table: str
    cfe_fraction: float | None = None


def _intensity(r: _Row) -> float:
    return r.number(
        "intensity_g_per_kwh", GRID_INTENSITY_MIN_G_PER_KWH, GRID_INTENSITY_MAX_G_PER_KWH, "g/kWh"
    )


@lru_cache(maxsize=1)
def countries() -> tuple[Country, ...]:
    """ISO 3166-1 countries (``countries.csv``)."""

    def parse(r: _Row) -> Country:
        iso2, iso3 = r.text("iso2").upper(), r.text("iso3").upper()
        if len(iso2) != 2 or len(iso3) != 3:
            raise r.fail(f"bad ISO codes {iso2!r}/{iso3!r}")
        return Country(iso2, iso3, r.text("name"))

    return tuple(_parse("countries.csv", parse))


@lru_cache(maxsize=1)
def world_averages() -> tuple[GridFactor, ...]:
    """The world-average grid intensity per data year (``grid_world.csv``), oldest first."""

    def parse(r: _Row) -> GridFactor:
        return GridFactor(
            "world",
            r.text("key"),
            r.text("name"),
            "",
            r.year(),
            _intensity(r),
            r.text("basis"),
            r.text("source"),
            "grid_world.csv",
        )

    rows = sorted(_parse("grid_world.csv", parse), key=lambda f: f.year or 0)
    years = [f.year for f in rows]
    if not rows or None in years or len(set(years)) != len(years):
        raise DataError(f"grid_world.csv must hold one row per data year, found years {years}")
    return tuple(rows)


def world_average(year: int | None = None) -> GridFactor:
    """The world average used when no location is known: the latest year; with ``year`` that
    year's row, else the latest before it, else the earliest (``GridFactor.year`` says which)."""
    rows = world_averages()
    if year is None:
        return rows[-1]
    earlier = [f for f in rows if (f.year or 0) <= year]
    return earlier[-1] if earlier else rows[0]


def _parse_country_factors(r: _Row) -> GridFactor:
    iso2 = r.text("iso2", required=False).upper()
    iso3 = r.text("iso3").upper()
    return GridFactor(
        "country",
        iso2 or iso3,
        r.text("name"),
        iso2,
        r.year(),
        _intensity(r),
        r.text("basis"),
        r.text("source"),
        "grid_country.csv",
    )


@lru_cache(maxsize=1)
def country_factors() -> tuple[GridFactor, ...]:
    """National grid intensity per country (``grid_country.csv``), keyed by ISO alpha-2."""
    return parse_grid_table("grid_country.csv")


def _parse_subnational_factors(r: _Row) -> GridFactor:
    return GridFactor(
        "subnational",
        r.text("key").upper(),
        r.text("name"),
        r.text("country_iso2").upper(),
        r.year(),
        _intensity(r),
        r.text("basis"),
        r.text("source"),
        "grid_subnational.csv",
    )


@lru_cache(maxsize=1)
def subnational_factors() -> tuple[GridFactor, ...]:
    """Sub-national grids: US states, Canadian provinces, Nordic bidding zones."""
    return parse_grid_table("grid_subnational.csv")


def _parse_cloud_factors(r: _Row) -> GridFactor:
    provider = r.text("provider").lower()
    if provider not in ("aws", "azure", "gcp"):
        raise r.fail(f"unknown provider {provider!r}")
    region = r.text("region").lower()
    iso2 = r.text("country_iso2").upper()
    if len(iso2) != 2 or not iso2.isalpha():
        raise r.fail(f"country_iso2 {iso2!r} is not an ISO 3166-1 alpha-2 code")
    return GridFactor(
        "cloud",
        f"{provider}:{region}",
        r.text("location", required=False) or region,
        iso2,
        r.year(),
        _intensity(r),
        r.text("basis"),
        r.text("source"),
        "grid_cloud.csv",
        r.optional_number("cfe_fraction", 0.0, 1.0, "(fraction)"),
    )


@lru_cache(maxsize=1)
def cloud_factors() -> tuple[GridFactor, ...]:
    """Cloud regions (AWS, Azure, GCP): key ``provider:region``; GCP rows per year with CFE."""
    return parse_grid_table("grid_cloud.csv")


_GRID_PARSERS: dict[str, Callable[[_Row], GridFactor]] = {
    "grid_country.csv": _parse_country_factors,
    "grid_subnational.csv": _parse_subnational_factors,
    "grid_cloud.csv": _parse_cloud_factors,
}


def parse_grid_table(table: str, text: str | None = None) -> tuple[GridFactor, ...]:
    """Parse and validate a grid-intensity table (the shipped file, or candidate ``text``).

    Raises DataError on a bad row, e.g. the United Kingdom 2020 = 20,953 g/kWh row of an
    EU yearly series (plausible grid intensity is 0-1,200 g/kWh).
    """
    if table not in _GRID_PARSERS:
        raise unknown_key("grid table", table, _GRID_PARSERS)
    return tuple(_parse(table, _GRID_PARSERS[table], text))


# --------------------------------------------------------------------------- PUE and WUE


@dataclass(frozen=True)
class PuePreset:
    """A PUE preset: ``kind`` is ``provider``, ``cooling`` or ``industry``; range low-high."""

    key: str
    kind: str
    pue: float
    pue_low: float
    pue_high: float
    year: int | None
    source: str
    note: str


@lru_cache(maxsize=1)
def pue_presets() -> tuple[PuePreset, ...]:
    """PUE presets (``pue.csv``): providers, cooling types, industry average by year."""

    def parse(r: _Row) -> PuePreset:
        kind = r.text("kind")
        if kind not in ("provider", "cooling", "industry"):
            raise r.fail(f"unknown kind {kind!r}")
        p = PuePreset(
            r.text("key").lower(),
            kind,
            r.number("pue", PUE_MIN, PUE_MAX, ""),
            r.number("pue_low", PUE_MIN, PUE_MAX, ""),
            r.number("pue_high", PUE_MIN, PUE_MAX, ""),
            r.year(),
            r.text("source"),
            r.text("note", required=False),
        )
        if not p.pue_low <= p.pue <= p.pue_high:
            raise r.fail(f"pue {p.pue} is outside its own range {p.pue_low}-{p.pue_high}")
        return p

    return tuple(_parse("pue.csv", parse))


@dataclass(frozen=True)
class WueFigure:
    """Site water usage effectiveness: litres of water per kWh of IT energy."""

    key: str
    wue_l_per_kwh: float
    year: int | None
    source: str
    verification: str


@lru_cache(maxsize=1)
def wue_figures() -> tuple[WueFigure, ...]:
    """Published site WUE figures (``wue.csv``)."""

    def parse(r: _Row) -> WueFigure:
        return WueFigure(
            r.text("key").lower(),
            r.number("wue_l_per_kwh", 0.0, WUE_MAX_L_PER_KWH, "L/kWh"),
            r.year(),
            r.text("source"),
            r.text("verification"),
        )

    return tuple(_parse("wue.csv", parse))


# --------------------------------------------------------------------------- prices


@dataclass(frozen=True)
class Price:
    """An electricity price per kWh in ``currency`` for a country (``DE``) or US state (``US-CA``).

    ``sector`` is ``commercial``, ``industrial``, ``all`` or ``non-household``; ``period`` a year
    (``2020``) or semester (``2024-S1``); ``tax_basis`` says which taxes are included.
    """

    key: str
    sector: str
    period: str
    price_per_kwh: float
    currency: str
    tax_basis: str
    source: str
    table: str


def _price_parser(table: str) -> Callable[[_Row], Price]:
    def parse(r: _Row) -> Price:
        currency = r.text("currency").upper()
        if len(currency) != 3:
            raise r.fail(f"currency {currency!r} is not an ISO 4217 code")
        return Price(
            r.text("key").upper(),
            r.text("sector"),
            r.text("period"),
            r.number("price_per_kwh", 0.0, RETAIL_PRICE_MAX_PER_KWH, f"{currency}/kWh"),
            currency,
            r.text("tax_basis"),
            r.text("source"),
            table,
        )

    return parse


@lru_cache(maxsize=1)
def prices() -> tuple[Price, ...]:
    """Retail / non-household electricity prices: US EIA (2020) and Eurostat figures."""
    rows: list[Price] = []
    for table in ("prices_us_eia.csv", "prices_eurostat.csv"):
        rows.extend(_parse(table, _price_parser(table)))
    return tuple(rows)


@dataclass(frozen=True)
class WholesalePrice:
    """Yearly mean day-ahead wholesale price of a European bidding zone (reference only)."""

    zone: str
    year: int
    mean_price_per_kwh: float
    hours: int
    currency: str
    source: str


@lru_cache(maxsize=1)
def wholesale_prices() -> tuple[WholesalePrice, ...]:
    """SMARD day-ahead yearly means (``prices_eu_wholesale.csv``); no network charges or taxes."""

    def parse(r: _Row) -> WholesalePrice:
        return WholesalePrice(
            r.text("zone"),
            r.year() or 0,
            r.number("mean_price_per_kwh", -0.5, RETAIL_PRICE_MAX_PER_KWH, "EUR/kWh"),
            int(r.number("hours", 1, 8784, "h")),
            r.text("currency").upper(),
            r.text("source"),
        )

    return tuple(_parse("prices_eu_wholesale.csv", parse))


# --------------------------------------------------------------------------- embodied carbon


@dataclass(frozen=True)
class EmbodiedFigure:
    """Manufacturing (embodied) carbon of one device, kgCO2e, within a stated ``boundary``.

    ``boundary``: ``die`` (the chip's silicon only), ``card`` (a whole accelerator board) or
    ``server_share`` (a server's embodied carbon divided among its accelerators). ``name`` is
    matched against device names (``*`` = any device of that kind).
    """

    kind: str
    name: str
    boundary: str
    embodied_kg: float
    source: str
    note: str


BOUNDARIES = ("die", "card", "server_share")


@lru_cache(maxsize=1)
def embodied_figures() -> tuple[EmbodiedFigure, ...]:
    """Embodied carbon per device kind and boundary (``embodied.csv``)."""

    def parse(r: _Row) -> EmbodiedFigure:
        boundary = r.text("boundary")
        if boundary not in BOUNDARIES:
            raise r.fail(f"boundary {boundary!r} is not one of {', '.join(BOUNDARIES)}")
        return EmbodiedFigure(
            r.text("kind").lower(),
            r.text("name"),
            boundary,
            r.number("embodied_kg", 0.0, EMBODIED_MAX_KG, "kg"),
            r.text("source"),
            r.text("note", required=False),
        )

    return tuple(_parse("embodied.csv", parse))
