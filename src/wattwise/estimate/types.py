"""Value types of the estimator: bands, assumptions, and the site context (PUE, grid, price).

Everything here is a small frozen dataclass with no I/O. A :class:`Band` is a central value with
a low and a high bound (same unit); an :class:`Assumption` records one input of an estimate with
its provenance (``measured`` / ``estimated`` / ``assumed``) and source, so that every number in
an estimate says where it came from.

:class:`EstimateContext` carries the site factors as plain numbers — PUE, location- and
market-based grid intensity (gCO2e/kWh), electricity price per kWh and its currency — each as a
:class:`Factor` with its provenance. It can be built by hand (:func:`context_from_numbers`), from
defaults (:func:`default_context`) or, in the CLI, from the accounting module's resolver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wattwise.errors import ConfigError
from wattwise.readers.base import Provenance


@dataclass(frozen=True)
class Band:
    """A value with its low and high bounds, all in the same unit (``low <= value <= high``)."""

    value: float
    low: float
    high: float

    @staticmethod
    def exact(value: float) -> Band:
        """A band of zero width."""
        return Band(value, value, value)

    @staticmethod
    def of(a: float, b: float, c: float) -> Band:
        """A band from three numbers in any order: the median is the value."""
        lo, mid, hi = sorted((a, b, c))
        return Band(mid, lo, hi)

    def scale(self, k: float) -> Band:
        """Multiply by a non-negative constant."""
        if k < 0:
            raise ValueError("Band.scale needs a non-negative factor")
        return Band(self.value * k, self.low * k, self.high * k)

    def mul(self, other: Band) -> Band:
        """Product of two non-negative bands (bounds multiply: a worst-case interval)."""
        return Band(self.value * other.value, self.low * other.low, self.high * other.high)

    def add(self, other: Band) -> Band:
        """Sum of two bands."""
        return Band(self.value + other.value, self.low + other.low, self.high + other.high)

    def to_dict(self, ndigits: int = 6) -> dict[str, float]:
        """``{"value", "low", "high"}`` rounded to ``ndigits`` significant digits."""
        return {
            "value": _sig(self.value, ndigits),
            "low": _sig(self.low, ndigits),
            "high": _sig(self.high, ndigits),
        }


def _sig(x: float, ndigits: int) -> float:
    return float(f"{x:.{ndigits}g}")


@dataclass(frozen=True)
class Assumption:
    """One input of an estimate: its name, value, unit, provenance and source."""

    name: str
    value: str
    unit: str
    provenance: Provenance
    source: str

    def to_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "provenance": self.provenance.value,
            "source": self.source,
        }


@dataclass(frozen=True)
class Factor:
    """A site factor (PUE, gCO2e/kWh, price per kWh) with its range, provenance and source."""

    value: float
    provenance: Provenance
    source: str
    low: float | None = None
    high: float | None = None

    @property
    def band(self) -> Band:
        lo = self.value if self.low is None else self.low
        hi = self.value if self.high is None else self.high
        return Band(self.value, min(lo, self.value), max(hi, self.value))


#: Defaults used when the caller gives nothing. Each is marked ``assumed`` in the output.
DEFAULT_PUE = Factor(
    1.56,
    Provenance.ASSUMED,
    "industry-average PUE 2024, Uptime Institute annual survey (hyperscale fleets ~1.1)",
    low=1.1,
    high=1.6,
)
DEFAULT_INTENSITY = Factor(
    475.0,
    Provenance.ASSUMED,
    "world-average grid intensity, IEA Global Energy & CO2 Status Report 2019 (as used by "
    "CodeCarbon); location-based",
)
DEFAULT_PRICE = Factor(
    0.1059,
    Provenance.ASSUMED,
    "US average commercial retail electricity price 2020, EIA Form 861 (Total Electric Industry)",
)


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

    A number the user gives is recorded as ``estimated`` with ``source`` (wattwise did not measure
    it, but it is not a default either); a number not given falls back to the ``assumed``
    default. ``currency`` applies to a given price only; the default price is in USD.
    """
    given = Provenance.ESTIMATED
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
