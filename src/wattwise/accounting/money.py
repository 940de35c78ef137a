"""Money for people: every figure with its currency, and one wording when no price is known.

Used by every human output that shows a cost (``wattwise run`` / ``footprint`` lines,
``compare-regions``, the audit summary, the report's cost cells): ``1,234.50 EUR``,
``0.00114 USD``; with no price for the place, :data:`UNKNOWN_PRICE`. JSON keeps the raw value
and its ``currency`` (``{"value": ..., "currency": ...}``, or null when unknown).
"""

from __future__ import annotations

import math

from wattwise.units import format_number

#: What a cost reads when no price is known for the place (footprint, estimate, audit, report).
UNKNOWN_PRICE = "unknown — give --price"


def format_money(value: float | None, currency: str | None) -> str:
    """``value`` in ``currency`` for people; :data:`UNKNOWN_PRICE` when either is missing.

    Amounts of 1 and more show cents and grouped digits (``1,234.50 EUR``); smaller ones three
    significant digits (``0.00114 EUR``), never e-notation. A number without a currency is never
    shown: money in an unknown currency is not a cost anyone can use.
    """
    if value is None or not currency or not math.isfinite(value):
        return UNKNOWN_PRICE
    shown = f"{value:,.2f}" if abs(value) >= 1 else format_number(value)
    return f"{shown} {currency}"


def format_price(value: float | None, currency: str | None) -> str:
    """A price per kWh: ``0.19 EUR/kWh``; :data:`UNKNOWN_PRICE` when unknown."""
    if value is None or not currency or not math.isfinite(value):
        return UNKNOWN_PRICE
    return f"{format_number(value)} {currency}/kWh"
