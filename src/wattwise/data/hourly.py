"""Hourly grid-intensity series shipped with the package, for carbon-aware scheduling.

* US balancing authorities, 2022 (US EIA Form EIA-930 via HewlettPackard/dc-rl): average
  **lifecycle** intensity computed from the hourly generation mix with fixed per-fuel factors.
  A few hours have no value in the source (CISO 3, MISO 3, PJM 23): they are NaN here.
* Great Britain, 2020-01-08 to 2025-09-30 (NESO historic generation-mix intensity, CC BY 4.0):
  **direct** (operational) intensity, hourly means, no gaps.

The two bases differ (lifecycle vs direct): compare hours within a series, not across them.
Timestamps are UTC, hour-beginning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache

from wattwise.data.tables import GRID_INTENSITY_MAX_G_PER_KWH, read_rows, unknown_key
from wattwise.errors import DataError

US_TABLE = "hourly_us_eia930_2022.csv.gz"
GB_TABLE = "hourly_gb_neso.csv.gz"
US_BALANCING_AUTHORITIES = ("AZPS", "BPAT", "CISO", "ERCO", "MISO", "NYIS", "PJM", "SOCO")


@dataclass(frozen=True)
class HourlySeries:
    """One hourly intensity series: ``timestamps_utc[i]`` is the start of hour i.

    ``intensity_g_per_kwh`` holds NaN for hours with no data (``missing_hours`` counts them).
    """

    key: str
    timestamps_utc: tuple[datetime, ...]
    intensity_g_per_kwh: tuple[float, ...]
    basis: str
    source: str
    table: str

    @property
    def missing_hours(self) -> int:
        return sum(1 for v in self.intensity_g_per_kwh if math.isnan(v))

    def __len__(self) -> int:
        return len(self.timestamps_utc)


def _parse_time(text: str, table: str, line: int) -> datetime:
    try:
        # Stored as "2022-01-01T00:00Z"; "+00:00" keeps fromisoformat (fast, C) working on 3.10.
        t = datetime.fromisoformat(text[:-1] + "+00:00") if text.endswith("Z") else None
    except ValueError:
        t = None
    if t is None or t.utcoffset() is None:
        raise DataError(f"{table} line {line}: bad timestamp {text!r}")
    return t.astimezone(timezone.utc)


@lru_cache(maxsize=4)
def _columns(table: str) -> dict[str, tuple[tuple[datetime, ...], tuple[float, ...]]]:
    rows = read_rows(table)
    if not rows:
        raise DataError(f"{table} is empty")
    stamps = tuple(_parse_time(r["timestamp_utc"], table, i + 2) for i, r in enumerate(rows))
    for i in range(1, len(stamps)):
        if (stamps[i] - stamps[i - 1]).total_seconds() != 3600:
            raise DataError(f"{table} line {i + 2}: not one hour after the previous row")
    out: dict[str, tuple[tuple[datetime, ...], tuple[float, ...]]] = {}
    for col in rows[0]:
        if col == "timestamp_utc":
            continue
        values: list[float] = []
        for i, r in enumerate(rows):
            cell = (r.get(col) or "").strip()
            value = float(cell) if cell else math.nan
            if not math.isnan(value) and not 0.0 <= value <= GRID_INTENSITY_MAX_G_PER_KWH:
                raise DataError(f"{table} line {i + 2}: {col}={cell} g/kWh is implausible")
            values.append(value)
        out[col] = (stamps, tuple(values))
    return out


def hourly_us(balancing_authority: str) -> HourlySeries:
    """Hourly 2022 lifecycle intensity of a US balancing authority (e.g. ``CISO``, ``PJM``)."""
    key = balancing_authority.strip().upper()
    if key not in US_BALANCING_AUTHORITIES:
        raise unknown_key("balancing authority", key, US_BALANCING_AUTHORITIES)
    stamps, values = _columns(US_TABLE)[key]
    return HourlySeries(
        key,
        stamps,
        values,
        "lifecycle (wind 11, solar 41, hydro 24, nuclear 12, other 230, gas 490, oil 650,"
        " coal 820 g/kWh)",
        "US EIA Form EIA-930 (public domain) via HewlettPackard/dc-rl @ a92b4755 (MIT)",
        US_TABLE,
    )


def hourly_gb() -> HourlySeries:
    """Hourly direct intensity of the Great Britain grid, 2020-01-08 to 2025-09-30."""
    stamps, values = _columns(GB_TABLE)["GB"]
    return HourlySeries(
        "GB",
        stamps,
        values,
        "direct (operational)",
        "National Energy System Operator (GB), historic generation-mix carbon intensity"
        " (CC BY 4.0 / NESO open data)",
        GB_TABLE,
    )


def hourly_series(key: str) -> HourlySeries:
    """A series by key: ``GB`` or a US balancing authority code."""
    if key.strip().upper() == "GB":
        return hourly_gb()
    return hourly_us(key)
