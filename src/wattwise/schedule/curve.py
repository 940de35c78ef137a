"""The signal a plan is made on: an hourly intensity curve with where each hour came from.

A :class:`Curve` starts on an hour boundary (UTC) and holds one value per hour, gCO2e/kWh.
From the shipped history (:func:`history_curve`) each hour is either

* ``historical`` — the very hour, inside a shipped series (a backtest or a past window), or
* ``assumed`` — the same hour of the same weekday in the series' reference year (the history
  used as a forecast; its error is measured in ``benchmarks/schedule.md``).

Hours the source lacks (NaN: CISO 3, MISO 3, PJM 23 in 2022) are filled by linear
interpolation between their neighbours and counted in ``interpolated_hours``. A live provider
builds its curve with :func:`Curve` directly and the ``forecast`` label of its source.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from wattwise.data.hourly import HourlySeries
from wattwise.errors import ConfigError, DataError

HOUR = timedelta(hours=1)
HISTORICAL, ASSUMED = "historical", "assumed"


@dataclass(frozen=True)
class Curve:
    """Hourly intensity from ``start_utc`` (an hour boundary), gCO2e/kWh per hour.

    ``forecast``: ``historical``, ``assumed``, ``historical+assumed`` (a window that leaves the
    series) or a live provider's label; ``basis`` (lifecycle / direct / marginal ...) and
    ``source`` say what the numbers are.
    """

    region: str
    start_utc: datetime
    values_g_per_kwh: tuple[float, ...]
    forecast: str
    basis: str
    source: str
    signal: str = "average"
    historical_hours: int = 0
    assumed_hours: int = 0
    interpolated_hours: int = 0
    reference: str = ""

    def __post_init__(self) -> None:
        if not self.values_g_per_kwh:
            raise DataError(f"{self.region}: the signal has no hours")
        if any(math.isnan(v) or v < 0 for v in self.values_g_per_kwh):
            raise DataError(f"{self.region}: the signal has a missing or negative hour")

    @property
    def end_utc(self) -> datetime:
        return self.start_utc + len(self.values_g_per_kwh) * HOUR

    def times_utc(self) -> list[datetime]:
        return [self.start_utc + i * HOUR for i in range(len(self.values_g_per_kwh))]


def floor_hour(t: datetime) -> datetime:
    """``t`` (aware) in UTC, rounded down to the hour."""
    if t.tzinfo is None:
        raise ConfigError(f"time {t.isoformat()} has no time zone: give one, e.g. 'Z'")
    return t.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


_FILLED: dict[tuple[str, str, int], tuple[list[float], frozenset[int]]] = {}


def _filled_series(series: HourlySeries) -> tuple[list[float], frozenset[int]]:
    """The series' values with gaps interpolated, and the gap indices (cached per series)."""
    key = (series.table, series.key, len(series))
    if key not in _FILLED:
        values = series.intensity_g_per_kwh
        _FILLED[key] = (_filled(values)[0], frozenset(i for i, v in enumerate(values) if v != v))
    return _FILLED[key]


def _filled(values: tuple[float, ...]) -> tuple[list[float], int]:
    """Values with NaN runs linearly interpolated (ends: the nearest value); how many filled."""
    out = list(values)
    known = [i for i, v in enumerate(out) if not math.isnan(v)]
    if not known:
        raise DataError("the series has no value at all")
    filled = len(out) - len(known)
    if filled == 0:
        return out, 0
    for a, b in itertools.pairwise(known):
        for i in range(a + 1, b):
            out[i] = out[a] + (out[b] - out[a]) * (i - a) / (b - a)
    for i in range(known[0]):
        out[i] = out[known[0]]
    for i in range(known[-1] + 1, len(out)):
        out[i] = out[known[-1]]
    return out, filled


def reference_year(series: HourlySeries) -> int:
    """The latest calendar year the series covers whole (for the ``assumed`` forecast)."""
    first, last = series.timestamps_utc[0], series.timestamps_utc[-1]
    for year in range(last.year, first.year - 1, -1):
        if first <= datetime(year, 1, 1, tzinfo=timezone.utc) and last >= datetime(
            year, 12, 31, 23, tzinfo=timezone.utc
        ):
            return year
    return last.year


def _analogue(t: datetime, year: int) -> datetime:
    """The same hour of the same weekday in ``year``, nearest to ``t``'s date shifted there."""
    try:
        shifted = t.replace(year=year)
    except ValueError:  # 29 February
        shifted = t.replace(year=year, day=28)
    delta = (t.weekday() - shifted.weekday()) % 7
    if delta > 3:
        delta -= 7
    candidate = shifted + timedelta(days=delta)
    if candidate.year != year:  # stay inside the reference year: a week the other way
        candidate += timedelta(days=-7 if candidate.year > year else 7)
    return candidate


def history_curve(
    series: HourlySeries, start_utc: datetime, end_utc: datetime, region: str = ""
) -> Curve:
    """The shipped series as the signal over [start, end): historical hours where the series
    has them, assumed (same hour, same weekday of the reference year) elsewhere."""
    start = floor_hour(start_utc)
    n = math.ceil((end_utc - start) / HOUR)
    if n <= 0:
        raise ConfigError("the window ends before it starts")
    values, missing = _filled_series(series)
    first = series.timestamps_utc[0]
    ref = reference_year(series)
    out: list[float] = []
    historical = interpolated = 0
    for k in range(n):
        t = start + k * HOUR
        i = int((t - first) / HOUR)
        if not 0 <= i < len(values):
            i = int((_analogue(t, ref) - first) / HOUR)
        else:
            historical += 1
        out.append(values[i])
        interpolated += i in missing
    assumed = n - historical
    label = HISTORICAL if assumed == 0 else ASSUMED if historical == 0 else "historical+assumed"
    return Curve(
        region=region or series.key,
        start_utc=start,
        values_g_per_kwh=tuple(out),
        forecast=label,
        basis=series.basis,
        source=f"{series.source} ({series.table})",
        historical_hours=historical,
        assumed_hours=assumed,
        interpolated_hours=interpolated,
        reference=f"same hour, same weekday of {ref}" if assumed else "",
    )
