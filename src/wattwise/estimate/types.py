"""Value types of the estimator: bands, assumptions, and the site context (PUE, grid, price).

Small frozen dataclasses. :class:`Band` (a central value with low and high bounds) and
:class:`Assumption` (one input with its provenance and source) are :mod:`wattwise.core`'s,
re-exported here. The default site factors are the one site resolver's
(:func:`wattwise.accounting.site.resolve_site`) for an empty context, read once at import.

:class:`EstimateContext` carries the site factors as plain numbers — PUE, location- and
market-based grid intensity (gCO2e/kWh), electricity price per kWh and its currency — each as a
:class:`Factor` with its provenance. It can be built by hand (:func:`context_from_numbers`), from
defaults (:func:`default_context`) or, in the CLI, from the accounting module's resolver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wattwise.accounting.context import Context
from wattwise.accounting.site import resolve_site
from wattwise.core.assumption import Assumption
from wattwise.core.band import Band
from wattwise.core.defaults import FALLBACK_PRICE_KEY, FALLBACK_PRICE_SECTOR
from wattwise.core.factor import Factor
from wattwise.core.provenance import Provenance
from wattwise.data.lookup import price_for
from wattwise.errors import ConfigError, DataError

__all__ = [
    "DEFAULT_INTENSITY",
    "DEFAULT_PRICE",
    "DEFAULT_PUE",
    "Assumption",
    "Band",
    "EstimateContext",
    "Factor",
    "bands_to_dict",
    "context_from_numbers",
    "default_context",
]


def _fallback_price() -> Factor:
    """The US commercial average price (``prices_us_eia.csv``), in USD."""
    p = price_for(FALLBACK_PRICE_KEY, FALLBACK_PRICE_SECTOR)
    if p is None or p.currency != "USD":  # pragma: no cover - the shipped table has the row
        raise DataError(f"{FALLBACK_PRICE_KEY} {FALLBACK_PRICE_SECTOR} USD price missing")
    return Factor(
        p.price_per_kwh,
        Provenance.ASSUMED,
        f"no price given: {p.table} {p.key} {p.sector} {p.period} ({p.tax_basis}) assumed: "
        f"{p.source}",
    )


#: Defaults used when the caller gives nothing: the one site resolver's factors for an empty
#: context (read from the shipped tables, as for a footprint), and the estimator's fallback
#: price. Each is marked ``assumed`` in the output.
_SITE_DEFAULTS = resolve_site(Context())
DEFAULT_PUE = _SITE_DEFAULTS.pue
DEFAULT_INTENSITY = _SITE_DEFAULTS.intensity_location_g_per_kwh
DEFAULT_PRICE = _fallback_price()


@dataclass(frozen=True)
class EstimateContext:
    """Site factors an estimate turns energy into facility energy, carbon and cost with.

    ``pue`` is a ratio >= 1; intensities are gCO2e per kWh of facility energy; ``price_per_kwh``
    is in ``currency``. The market-based intensity defaults to the location-based one (no
    contractual instruments known), which is recorded as an assumption.
    """

    pue: Factor = DEFAULT_PUE
    intensity_location_g_per_kwh: Factor = DEFAULT_INTENSITY
    intensity_market_g_per_kwh: Factor | None = None
    price_per_kwh: Factor = DEFAULT_PRICE
    currency: str = "USD"
    label: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def market(self) -> Factor:
        """Market-based intensity, falling back to the location-based one."""
        if self.intensity_market_g_per_kwh is not None:
            return self.intensity_market_g_per_kwh
        loc = self.intensity_location_g_per_kwh
        return Factor(
            loc.value,
            Provenance.ASSUMED,
            "no market-based factor given: equal to the location-based intensity",
            loc.low,
            loc.high,
        )

    def assumptions(self) -> list[Assumption]:
        """The site factors as assumptions, for an estimate's ``assumptions[]``."""
        return [
            Assumption("pue", f"{self.pue.value:g}", "ratio", self.pue.provenance, self.pue.source),
            _factor_assumption(
                "grid_intensity_location", self.intensity_location_g_per_kwh, "gCO2e/kWh"
            ),
            _factor_assumption("grid_intensity_market", self.market, "gCO2e/kWh"),
            _factor_assumption("electricity_price", self.price_per_kwh, f"{self.currency}/kWh"),
        ]

    def validate(self) -> None:
        """Raise :class:`ConfigError` for an implausible factor."""
        if not 1.0 <= self.pue.value <= 3.0:
            raise ConfigError(f"PUE must be between 1.0 and 3.0, got {self.pue.value:g}")
        for name, f in (
            ("grid intensity", self.intensity_location_g_per_kwh),
            ("market-based grid intensity", self.market),
        ):
            if not 0.0 <= f.value <= 1500.0:
                raise ConfigError(f"{name} must be 0-1500 gCO2e/kWh, got {f.value:g}")
        if self.price_per_kwh.value < 0:
            raise ConfigError(f"electricity price must be >= 0, got {self.price_per_kwh.value:g}")


def _factor_assumption(name: str, f: Factor, unit: str) -> Assumption:
    return Assumption(name, f"{f.value:g}", unit, f.provenance, f.source)


def context_from_numbers(
    *,
    pue: float | None = None,
    intensity_location_g_per_kwh: float | None = None,
    intensity_market_g_per_kwh: float | None = None,
    price_per_kwh: float | None = None,
    currency: str = "USD",
    source: str = "given by the user",
) -> EstimateContext:
    """A context from plain numbers (PUE ratio, gCO2e/kWh, price per kWh in ``currency``).

    A number the user gives is recorded as ``given`` with ``source``; a number not given falls
    back to the ``assumed`` default. ``currency`` applies to a given price only; the default
    price is in USD.
    """
    given = Provenance.GIVEN
    ctx = EstimateContext(
        pue=DEFAULT_PUE if pue is None else Factor(pue, given, source),
        intensity_location_g_per_kwh=(
            DEFAULT_INTENSITY
            if intensity_location_g_per_kwh is None
            else Factor(intensity_location_g_per_kwh, given, source)
        ),
        intensity_market_g_per_kwh=(
            None
            if intensity_market_g_per_kwh is None
            else Factor(intensity_market_g_per_kwh, given, source)
        ),
        price_per_kwh=(
            DEFAULT_PRICE if price_per_kwh is None else Factor(price_per_kwh, given, source)
        ),
        currency=currency if price_per_kwh is not None else "USD",
    )
    ctx.validate()
    return ctx


def default_context() -> EstimateContext:
    """World-average grid, industry-average PUE, US commercial price: all ``assumed``."""
    return EstimateContext()


def bands_to_dict(values: dict[str, Band]) -> dict[str, Any]:
    """Helper for JSON output: each band as ``{"value", "low", "high"}``."""
    return {k: v.to_dict() for k, v in values.items()}
