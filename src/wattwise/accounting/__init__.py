"""Accounting: energy -> facility energy, carbon (location / market), water, cost, embodied, SCI.

Pure functions over frozen dataclasses; reference data comes from :mod:`wattwise.data`.
"""

from __future__ import annotations

from wattwise.accounting.compare import RegionRow, compare_regions, default_keys, location_context
from wattwise.accounting.context import (
    DEFAULT_BOUNDARY,
    DEFAULT_LIFETIME_YEARS,
    SETTINGS,
    Context,
    Setting,
    check_context,
    default_config_paths,
    read_config,
    resolve_context,
)
from wattwise.accounting.footprint import (
    Assumption,
    Cost,
    Device,
    Footprint,
    account,
    embodied_share_g,
    resolve_grid,
    resolve_pue,
    sci,
)

__all__ = [
    "DEFAULT_BOUNDARY",
    "DEFAULT_LIFETIME_YEARS",
    "SETTINGS",
    "Assumption",
    "Context",
    "Cost",
    "Device",
    "Footprint",
    "RegionRow",
    "Setting",
    "account",
    "check_context",
    "compare_regions",
    "default_config_paths",
    "default_keys",
    "embodied_share_g",
    "location_context",
    "read_config",
    "resolve_context",
    "resolve_grid",
    "resolve_pue",
    "sci",
]
