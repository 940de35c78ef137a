"""A site factor: a number with its range, provenance and source (PUE, gCO2e/kWh, price, WUE)."""

from __future__ import annotations

from dataclasses import dataclass

from wattwise.core.band import Band
from wattwise.core.provenance import Provenance


@dataclass(frozen=True)
class Factor:
    """A site factor (PUE, gCO2e/kWh, price per kWh, L/kWh) with its range, provenance, source.

    ``low`` / ``high`` default to ``value`` (a factor without a published range is exact).
    """

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
