"""Offline signals from the shipped tables: average (hourly history) and marginal (Cambium).

* ``average`` — :func:`wattwise.schedule.curve.history_curve` over the region's shipped series.
* ``marginal`` — NREL Cambium 2022 mid-case long-run marginal emission rate (15-year
  levelized), ERCOT only (``marginal_cambium22_erct_month_hour.csv``). The source profile is a
  modelled 12-month × 24-hour table (its 8,760-hour form repeats each month's day), so every
  hour is **assumed** (modelled, not a forecast of any day). The shipped copy does not state
  its time zone: wattwise reads the hours as ERCOT's local standard time (UTC−6), an
  assumption the output names.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from wattwise.data.hourly import hourly_series
from wattwise.data.hourly_regions import HourlyRegion
from wattwise.data.tables import read_rows
from wattwise.errors import ConfigError, DataError
from wattwise.schedule.curve import ASSUMED, HOUR, Curve, floor_hour, history_curve

MARGINAL_TABLE = "marginal_cambium22_erct_month_hour.csv"
MARGINAL_GRIDS = ("ERCO",)
#: Offset of the hours of the Cambium table from UTC (assumed: ERCOT local standard time).
MARGINAL_UTC_OFFSET_H = -6


@lru_cache(maxsize=1)
def _month_hour() -> dict[int, tuple[float, ...]]:
    out: dict[int, tuple[float, ...]] = {}
    for i, row in enumerate(read_rows(MARGINAL_TABLE)):
        try:
            values = tuple(float(row[f"h{h:02d}"]) for h in range(24))
            month = int(row["month"])
        except (KeyError, ValueError):
            raise DataError(f"{MARGINAL_TABLE} line {i + 2}: bad row") from None
        if not all(0 <= v <= 1200 for v in values):
            raise DataError(f"{MARGINAL_TABLE} line {i + 2}: implausible rate")
        out[month] = values
    if sorted(out) != list(range(1, 13)):
        raise DataError(f"{MARGINAL_TABLE}: needs months 1-12")
    return out


def marginal_curve(region: HourlyRegion, start_utc: datetime, end_utc: datetime) -> Curve:
    """The Cambium marginal profile over [start, end) (every hour assumed)."""
    if region.grid not in MARGINAL_GRIDS:
        raise ConfigError(
            f"no marginal signal for {region.region} (grid {region.grid}): shipped for "
            f"{', '.join(MARGINAL_GRIDS)} only; use --signal average"
        )
    table = _month_hour()
    start = floor_hour(start_utc)
    n = max(1, int(-(-(end_utc - start) // HOUR)))
    offset = timedelta(hours=MARGINAL_UTC_OFFSET_H)
    values = []
    for k in range(n):
        local = start + k * HOUR + offset
        values.append(table[local.month][local.hour])
    return Curve(
        region=region.region,
        start_utc=start,
        values_g_per_kwh=tuple(values),
        forecast=ASSUMED,
        basis="long-run marginal (modelled, 15-year levelized, mid-case)",
        source=f"NREL Cambium 2022 LRMER, ERCOT ({MARGINAL_TABLE}, CC BY)",
        signal="marginal",
        assumed_hours=n,
        reference="month x hour profile; hours read as UTC-6 (time zone not stated by the copy)",
    )


def offline_signal(
    region: HourlyRegion, start_utc: datetime, end_utc: datetime, signal: str
) -> Curve:
    """The default signal function of :func:`wattwise.schedule.plan.make_schedule`."""
    if signal == "marginal":
        return marginal_curve(region, start_utc, end_utc)
    return history_curve(hourly_series(region.grid), start_utc, end_utc, region.region)
