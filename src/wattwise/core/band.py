"""A central value with a low and a high bound, all in one unit: the estimator's uncertainty."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict


class BandDocument(TypedDict):
    """A band in JSON: ``{"value", "low", "high"}`` in the unit the key names."""

    value: float
    low: float
    high: float


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

    def to_dict(self, ndigits: int = 6) -> BandDocument:
        """``{"value", "low", "high"}`` rounded to ``ndigits`` significant digits."""
        return {
            "value": _sig(self.value, ndigits),
            "low": _sig(self.low, ndigits),
            "high": _sig(self.high, ndigits),
        }


def _sig(x: float, ndigits: int) -> float:
    return float(f"{x:.{ndigits}g}")
