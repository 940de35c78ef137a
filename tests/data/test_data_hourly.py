"""Hourly intensity series: regular UTC hours, gaps as NaN, plausible values."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from wattwise.data.hourly import US_BALANCING_AUTHORITIES, hourly_gb, hourly_series, hourly_us
from wattwise.errors import UnknownKeyError


def test_us_series_cover_2022_hourly() -> None:
    for ba in US_BALANCING_AUTHORITIES:
        s = hourly_us(ba)
        assert len(s) == 8760
        assert s.timestamps_utc[0] == datetime(2022, 1, 1, tzinfo=timezone.utc)
        assert s.timestamps_utc[-1] == datetime(2022, 12, 31, 23, tzinfo=timezone.utc)
        assert "lifecycle" in s.basis
        values = [v for v in s.intensity_g_per_kwh if not math.isnan(v)]
        assert all(0 < v < 1200 for v in values)


def test_us_gaps_are_nan_not_zero() -> None:
    assert hourly_us("PJM").missing_hours == 23
    assert hourly_us("CISO").missing_hours == 3
    assert hourly_us("ERCO").missing_hours == 0


def test_hydro_grid_is_cleaner_than_coal_heavy_grid() -> None:
    def mean(key: str) -> float:
        vals = [v for v in hourly_series(key).intensity_g_per_kwh if not math.isnan(v)]
        return sum(vals) / len(vals)

    assert mean("BPAT") < mean("SOCO")


def test_gb_series_regular_and_direct() -> None:
    s = hourly_gb()
    assert s.missing_hours == 0
    assert s.timestamps_utc[0] == datetime(2020, 1, 8, tzinfo=timezone.utc)
    assert s.timestamps_utc[-1] == datetime(2025, 9, 30, 23, tzinfo=timezone.utc)
    assert len(s) == (s.timestamps_utc[-1] - s.timestamps_utc[0]) // timedelta(hours=1) + 1
    assert s.basis.startswith("direct")
    assert 0 < min(s.intensity_g_per_kwh) < max(s.intensity_g_per_kwh) < 600


def test_unknown_series_suggests() -> None:
    with pytest.raises(UnknownKeyError, match="CISO"):
        hourly_series("CISX")
