"""Site factors applied to an estimated IT energy: facility energy, carbon, cost; embodied carbon.

``facility = IT x PUE``; ``co2e = facility x gCO2e/kWh`` (location- and market-based, kg);
``cost = facility x price`` (in the context's currency; None when no price is known);
embodied carbon amortises a chip's embodied kgCO2e over its lifetime
(:data:`wattwise.core.defaults.LIFETIME_YEARS`, the same as the accounting module's) by the
chip-hours used. All values are :class:`Band` s.
"""

from __future__ import annotations

from wattwise.core.provenance import Provenance
from wattwise.estimate import defaults as d
from wattwise.estimate.hardware import Accelerator
from wattwise.estimate.types import Assumption, Band, EstimateContext


def money_and_carbon(it_kwh: Band, ctx: EstimateContext) -> tuple[dict[str, Band], Band | None]:
    """Facility energy and location/market carbon (kg) from IT energy, and the electricity
    cost in ``ctx.currency`` (None when no price is known for the place)."""
    facility = it_kwh.mul(ctx.pue.band)
    energy = {
        "facility": facility,
        "loc": facility.mul(ctx.intensity_location_g_per_kwh.band).scale(1e-3),
        "mkt": facility.mul(ctx.market.band).scale(1e-3),
    }
    return energy, ctx.cost_of(facility)


def embodied_of_chip_hours(acc: Accelerator, chip_hours: Band) -> tuple[Band, Assumption]:
    """Embodied carbon (kg) amortised over the chip-hours used.

    Value: the catalog's chip boundary over the default lifetime (4 years, shared with the
    accounting module); low: the same over 6 years; high: a server share per accelerator
    (462.5 kg, BLOOM) over 4 years.
    """
    life = d.LIFETIME_YEARS.band
    if acc.embodied_kgco2e is not None:
        chip_kg, boundary = acc.embodied_kgco2e, acc.embodied_boundary
    else:
        chip_kg = d.CARD_KGCO2E_FALLBACK
        boundary = "one GPU card, 150 kgCO2e (Luccioni 2022 / Cloud Carbon Footprint)"
    value = chip_hours.value * chip_kg / (life.value * d.HOURS_PER_YEAR)
    low = chip_hours.low * chip_kg / (life.high * d.HOURS_PER_YEAR)
    high = chip_hours.high * max(chip_kg, d.SERVER_SHARE_KGCO2E) / (life.low * d.HOURS_PER_YEAR)
    note = Assumption(
        "embodied_per_chip",
        f"{chip_kg:g}",
        "kgCO2e",
        Provenance.ASSUMED,
        f"boundary: {boundary}; amortised over {life.value:g} years (low {life.high:g} y); high: "
        f"server share {d.SERVER_SHARE_KGCO2E:g} kg per accelerator (Luccioni 2022) over "
        f"{life.low:g} years; lifetime: {d.LIFETIME_YEARS.source}",
    )
    return Band(value, low, high), note
