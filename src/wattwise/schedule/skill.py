"""How much a plan on the history saves on a grid: a backtest over its reference year.

For a job of ``job_h`` hours with ``flex_h`` hours of slack, arriving at 00:00, 06:00, 12:00
and 18:00 UTC of every day of the series' reference year: the plan made on the same hours one
week earlier (the history as a forecast), judged on the actual hours, against starting at once;
and the plan made on the actual hours (perfect knowledge). ``benchmarks/schedule.md`` has the
full tables. Used to say, beside an ``assumed`` plan, what such plans achieved, and by the
audit's "when to run" recommendation.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache

from wattwise.schedule.planner import best_start, run_at

ARRIVALS_H = (0, 6, 12, 18)
LAG_H = 7 * 24


@dataclass(frozen=True)
class Skill:
    """Savings (0-1) over ``samples`` arrivals in ``year`` on ``grid``."""

    grid: str
    year: int
    job_h: int
    flex_h: int
    forecast_median: float
    forecast_p10: float
    perfect_median: float
    samples: int

    def line(self) -> str:
        return (
            f"in a backtest over {self.year} ({self.samples} arrivals), {self.job_h} h jobs "
            f"with {self.flex_h} h of slack on {self.grid} planned on the previous week's hours "
            f"saved a median {100 * self.forecast_median:.1f} % "
            f"(p10 {100 * self.forecast_p10:.1f} %; {100 * self.perfect_median:.1f} % with "
            f"perfect knowledge)"
        )


def backtest(
    values: list[float] | tuple[float, ...], job_h: int, flex_h: int
) -> tuple[list[float], list[float]]:
    """(savings planned on last week, savings with perfect knowledge) for every arrival."""
    forecast, perfect = [], []
    for a in range(LAG_H, len(values) - job_h - flex_h):
        if a % 24 not in ARRIVALS_H:
            continue
        now = sum(values[a : a + job_h]) / job_h
        past = values[a - LAG_H : a - LAG_H + job_h + flex_h]
        start = best_start(past, 0, job_h + flex_h, job_h).start_h
        forecast.append(1 - run_at(values, a + start, job_h).mean_g_per_kwh / now)
        perfect.append(1 - best_start(values, a, a + job_h + flex_h, job_h).mean_g_per_kwh / now)
    return forecast, perfect


@lru_cache(maxsize=64)
def history_skill(grid: str, job_h: int, flex_h: int) -> Skill | None:
    """The backtest of ``grid``'s reference year (None when too short to backtest)."""
    from wattwise.data.hourly import hourly_series
    from wattwise.schedule.curve import history_curve, reference_year

    series = hourly_series(grid)
    year = reference_year(series)
    start = datetime(year, 1, 1, tzinfo=timezone.utc)
    end = datetime(year + 1, 1, 1, tzinfo=timezone.utc)
    values = history_curve(series, start, end).values_g_per_kwh
    forecast, perfect = backtest(values, job_h, flex_h)
    if len(forecast) < 10:
        return None
    p10 = statistics.quantiles(forecast, n=10)[0]
    return Skill(
        grid,
        year,
        job_h,
        flex_h,
        statistics.median(forecast),
        p10,
        statistics.median(perfect),
        len(forecast),
    )
