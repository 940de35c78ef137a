"""Value types of the estimator: bands, assumptions, and the site context (PUE, grid, price).

Small frozen dataclasses. :class:`Band` (a central value with low and high bounds) and
:class:`Assumption` (one input with its provenance and source) are :mod:`wattwise.core`'s,
re-exported here. The default site factors are the one site resolver's
(:func:`wattwise.accounting.site.resolve_site`) for an empty context, read once at import; no
place means no price (``price_per_kwh`` None: every cost unknown, "unknown — give --price").

:class:`EstimateContext` carries the site factors as plain numbers — PUE, location- and
market-based grid intensity (gCO2e/kWh), electricity price per kWh and its currency (both None
when no price is known for the place) — each as a :class:`Factor` with its provenance. It can
be built by hand (:func:`context_from_numbers`), from defaults (:func:`default_context`) or, in
the CLI, from the accounting module's resolver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wattwise.accounting.context import Context
from wattwise.accounting.money import UNKNOWN_PRICE
from wattwise.accounting.site import resolve_site
from wattwise.core.assumption import Assumption
from wattwise.core.band import Band
from wattwise.core.factor import Factor
from wattwise.core.provenance import Provenance
from wattwise.errors import ConfigError

__all__ = [
    "DEFAULT_INTENSITY",
    "DEFAULT_PUE",
    "Assumption",
    "Band",
    "EstimateContext",
    "Factor",
    "bands_to_dict",
    "context_from_numbers",
    "cost_to_dict",
    "default_context",
]


#: Defaults used when the caller gives nothing: the one site resolver's factors for an empty
#: context (read from the shipped tables, as for a footprint), each marked ``assumed`` in the
#: output. No place has no price: an estimate's cost is then unknown, never a fallback price.
_SITE_DEFAULTS = resolve_site(Context())
DEFAULT_PUE = _SITE_DEFAULTS.pue
DEFAULT_INTENSITY = _SITE_DEFAULTS.intensity_location_g_per_kwh


@dataclass(frozen=True)
class EstimateContext:
    """Site factors an estimate turns energy into facility energy, carbon and cost with.

    ``pue`` is a ratio >= 1; intensities are gCO2e per kWh of facility energy; ``price_per_kwh``
    is in ``currency``, and both are None when no price is known for the place (every cost of
    an estimate is then None: "unknown — give --price"). The market-based intensity defaults to
    the location-based one (no contractual instruments known), recorded as an assumption.
    """

    pue: Factor = DEFAULT_PUE
    intensity_location_g_per_kwh: Factor = DEFAULT_INTENSITY
    intensity_market_g_per_kwh: Factor | None = None
    price_per_kwh: Factor | None = None
    currency: str | None = None
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
            self._price_assumption(),
        ]

    @property
    def priced(self) -> bool:
        """Whether a price (and its currency) is known: costs can be computed."""
        return self.price_per_kwh is not None and bool(self.currency)

    def cost_of(self, facility_kwh: Band) -> Band | None:
        """The electricity cost of ``facility_kwh`` in :attr:`currency`; None without a price."""
        if self.price_per_kwh is None or not self.currency:
            return None
        return facility_kwh.mul(self.price_per_kwh.band)

    def _price_assumption(self) -> Assumption:
        if self.price_per_kwh is None or not self.currency:
            where = self.label or "this place"
            why = f"no electricity price known for {where}: {UNKNOWN_PRICE}"
            return Assumption("electricity_price", "unknown", "", Provenance.ASSUMED, why)
        return _factor_assumption("electricity_price", self.price_per_kwh, f"{self.currency}/kWh")

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
        if self.price_per_kwh is not None and self.price_per_kwh.value < 0:
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
    back to the ``assumed`` default. ``currency`` applies to a given price only; with no price
    given, the price (and currency) is None: every cost unknown.
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
        price_per_kwh=None if price_per_kwh is None else Factor(price_per_kwh, given, source),
        currency=currency if price_per_kwh is not None else None,
    )
    ctx.validate()
    return ctx


def default_context() -> EstimateContext:
    """World-average grid, industry-average PUE (both ``assumed``); no price (costs unknown)."""
    return EstimateContext()


def bands_to_dict(values: dict[str, Band]) -> dict[str, Any]:
    """Helper for JSON output: each band as ``{"value", "low", "high"}``."""
    return {k: v.to_dict() for k, v in values.items()}


def cost_to_dict(cost: Band | None, currency: str | None) -> dict[str, Any]:
    """A cost for JSON: ``{"value", "low", "high", "currency"}``; every field null when no
    price is known (the same keys either way)."""
    if cost is None or not currency:
        return {"value": None, "low": None, "high": None, "currency": None}
    return {**cost.to_dict(), "currency": currency}
