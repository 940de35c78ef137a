"""Reference data shipped with wattwise: versioned tables with source, year and licence.

See ``SOURCES.md`` in this folder for every table's origin and transformation. Tables are read
lazily on first use and validated (units, plausible ranges); a bad row raises
:class:`~wattwise.errors.DataError`.
"""

from __future__ import annotations

from wattwise.data.catalog import SearchHit, TableInfo, data_catalog, search_data, show_table
from wattwise.data.hourly import HourlySeries, hourly_gb, hourly_series, hourly_us
from wattwise.data.lookup import (
    cloud_factor,
    cooling_preset,
    country_factor,
    embodied_for,
    industry_pue,
    latest_country_factors,
    price_for,
    pue_preset,
    region_factor,
    resolve_country,
    wue_figure,
)
from wattwise.data.tables import (
    Country,
    EmbodiedFigure,
    GridFactor,
    Price,
    PuePreset,
    WholesalePrice,
    WueFigure,
    world_average,
    world_averages,
)

__all__ = [
    "Country",
    "EmbodiedFigure",
    "GridFactor",
    "HourlySeries",
    "Price",
    "PuePreset",
    "SearchHit",
    "TableInfo",
    "WholesalePrice",
    "WueFigure",
    "cloud_factor",
    "cooling_preset",
    "country_factor",
    "data_catalog",
    "embodied_for",
    "hourly_gb",
    "hourly_series",
    "hourly_us",
    "industry_pue",
    "latest_country_factors",
    "price_for",
    "pue_preset",
    "region_factor",
    "resolve_country",
    "search_data",
    "show_table",
    "world_average",
    "world_averages",
    "wue_figure",
]
