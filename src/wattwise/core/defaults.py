"""Defaults that no shipped table holds, each with its source — one set for API, CLI and audit.

Values a reference table holds (the world-average grid intensity, the industry-average PUE,
prices) are *not* repeated here: the one site resolver (:mod:`wattwise.accounting.site`), which
footprints, estimates and audits share, reads them from :mod:`wattwise.data`
(``tests/core/test_defaults_agree.py`` pins that API and CLI agree). This module names which
row is the default and holds the few figures with no table of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from wattwise.core.band import Band


@dataclass(frozen=True)
class Default:
    """A default band and where it comes from."""

    band: Band
    source: str


#: Lifetime of accelerators and servers over which embodied carbon is amortised, years. Value:
#: 4 years — Cloud Carbon Footprint's server lifespan (35,040 h) and the 4-year GPU life of
#: Morrison et al. 2025 (arXiv:2503.05804). Range 4-6 years: LLMCarbon uses 5 (Faiz et al. 2024);
#: Alphabet and Microsoft depreciate servers over 6 years since 2022-23. ISO/IEC 21031 (SCI)
#: leaves the expected lifespan EL to the user.
LIFETIME_YEARS = Default(
    Band(4.0, 4.0, 6.0),
    "4 years: Cloud Carbon Footprint server lifespan (35,040 h) and Morrison et al. 2025 GPU "
    "life; range to 6 years (LLMCarbon 5 y; hyperscaler server depreciation 6 y); ISO/IEC 21031 "
    "leaves EL to the user",
)
DEFAULT_LIFETIME_YEARS = LIFETIME_YEARS.band.value

#: Embodied-carbon boundary used when the user names none (``embodied.csv``): one accelerator card.
DEFAULT_BOUNDARY = "card"

#: Key of the grid row used when no location is known (``grid_world.csv``), location-based.
WORLD_GRID_KEY = "WORLD"
#: No price row is a default: a place without a price (or no place) has no price, in a
#: footprint and an estimate alike ("unknown — give --price").
#: ``pue.csv`` row whose value is the low bound of an assumed PUE (hyperscale fleets ~1.1); the
#: value and high bound are the latest industry average's (Uptime Institute).
ASSUMED_PUE_LOW_KEY = "free-air"
