"""The dashboard's charts: the report's own SVG (:mod:`wattwise.report.svg`: inline, every text
escaped, readable on a phone by scrolling instead of shrinking)."""

from __future__ import annotations

from datetime import date
from typing import Any

from wattwise.report.svg import Bar, bar_chart, line_chart
from wattwise.report.templating import trusted

KWH_J = 3.6e6


def _days(rows: list[dict[str, Any]]) -> list[float]:
    """Each period's start as days since the first one (x of the time charts)."""
    starts = [date.fromisoformat(str(r["key"]) + ("-01" if len(str(r["key"])) == 7 else ""))
              for r in rows]  # fmt: skip
    return [float((d - starts[0]).days) for d in starts] if starts else []


def time_charts(rows: list[dict[str, Any]], period: str) -> dict[str, Any]:
    """Energy (kWh), carbon (kg CO2e) and cost over time, and IT energy per token (J)."""
    xs = _days(rows)
    first = str(rows[0]["key"]) if rows else ""
    x_label = f"days since {first} (one point per {period})"
    currencies = sorted({c for r in rows for c in r["cost"]})
    energy = line_chart(
        {"IT energy": [(x, r["energy_j"] / KWH_J) for x, r in zip(xs, rows, strict=True)],
         "facility energy": [(x, r["facility_energy_kwh"]) for x, r in zip(xs, rows, strict=True)]},
        title=f"Energy per {period}", x_label=x_label, y_label="kWh",
    )  # fmt: skip
    pairs = list(zip(xs, rows, strict=True))
    carbon = line_chart(
        {"location-based": [(x, r["co2e_location_g"] / 1000) for x, r in pairs],
         "market-based": [(x, r["co2e_market_g"] / 1000) for x, r in pairs]},
        title=f"Carbon per {period}", x_label=x_label, y_label="kg CO2e",
    )  # fmt: skip
    cost = line_chart(
        {c: [(x, r["cost"].get(c, 0.0)) for x, r in zip(xs, rows, strict=True)]
         for c in currencies},
        title=f"Electricity cost per {period}", x_label=x_label,
        y_label=", ".join(currencies) or "no price known",
    )  # fmt: skip
    per_token = line_chart(
        {"IT energy per token": [(x, r["energy_per_token_j"]) for x, r in zip(xs, rows, strict=True)
                                 if r["energy_per_token_j"] is not None]},
        title=f"IT energy per token, per {period}", x_label=x_label, y_label="J per token",
    )  # fmt: skip
    return {"time_energy": trusted(energy), "time_carbon": trusted(carbon),
            "time_cost": trusted(cost), "time_per_token": trusted(per_token)}  # fmt: skip


def dimension_chart(rows: list[dict[str, Any]], name: str) -> Any:
    """IT energy (kWh) per value of a dimension (tag, model, hardware, phase)."""
    bars = [Bar(str(r["key"]) if r["key"] is not None else "(none)", r["energy_j"] / KWH_J,
                note=f"{r['runs']} runs") for r in rows]  # fmt: skip
    return trusted(bar_chart(bars, title=f"IT energy by {name}", unit="kWh (IT energy)"))
