"""Live forecast providers, opt-in: a registry of formats, one resampler, one fallback.

:func:`provider_signal` gives the signal function of :func:`wattwise.schedule.plan.make_schedule`
for a named provider: the provider's points averaged into the planner's hours (each hour the
time-weighted mean of the points overlapping it); hours the forecast does not reach are filled
from the shipped history (``assumed``) and counted, so the label says ``forecast:NAME+assumed``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from wattwise.data.hourly import hourly_series
from wattwise.data.hourly_regions import HourlyRegion
from wattwise.errors import ConfigError
from wattwise.schedule.curve import HOUR, Curve, floor_hour, history_curve
from wattwise.schedule.providers.formats import PROVIDERS, Point, Provider
from wattwise.schedule.providers.http import ProviderError

__all__ = ["PROVIDERS", "ProviderError", "hourly_means", "provider_signal"]


def hourly_means(points: list[Point], start: datetime, n: int) -> list[float | None]:
    """Time-weighted mean of the points over each hour from ``start`` (None: no point)."""
    sums = [0.0] * n
    weights = [0.0] * n
    for p in points:
        a = (p.time_utc - start) / HOUR
        b = a + p.minutes / 60
        k = max(0, int(a // 1))
        while k < n and k < b:
            w = min(b, k + 1) - max(a, k)
            if w > 0:
                sums[k] += p.g_per_kwh * w
                weights[k] += w
            k += 1
    return [s / w if w > 0 else None for s, w in zip(sums, weights, strict=True)]


def provider_signal(name: str) -> Callable[[HourlyRegion, datetime, datetime, str], Curve]:
    """The signal function of provider ``name`` (a ConfigError lists the known ones)."""
    provider = PROVIDERS.get(name.strip().lower())
    if provider is None:
        raise ConfigError(f"unknown --provider {name!r}; choose from {', '.join(PROVIDERS)}")

    def signal(region: HourlyRegion, start: datetime, end: datetime, kind: str) -> Curve:
        return _curve(provider, region, start, end, kind)

    return signal


def _curve(
    provider: Provider, region: HourlyRegion, start: datetime, end: datetime, kind: str
) -> Curve:
    if kind != provider.signal:
        raise ConfigError(
            f"--provider {provider.name} gives a {provider.signal} signal; "
            f"use --signal {provider.signal}"
        )
    start = floor_hour(start)
    n = max(1, int(-(-(end - start) // HOUR)))
    means = hourly_means(provider.fetch(region, start, start + n * HOUR), start, n)
    if all(m is None for m in means):
        raise ProviderError(
            f"{provider.name}: the forecast does not cover the window "
            f"{start:%Y-%m-%dT%H:%MZ} + {n} h"
        )
    missing = sum(m is None for m in means)
    fallback = history_curve(hourly_series(region.grid), start, start + n * HOUR, region.region)
    values = tuple(
        m if m is not None else fallback.values_g_per_kwh[i] for i, m in enumerate(means)
    )
    label = f"forecast:{provider.name}" + ("+assumed" if missing else "")
    return Curve(
        region=region.region,
        start_utc=start,
        values_g_per_kwh=values,
        forecast=label,
        basis=provider.basis,
        source=provider.source + (f"; {missing} h from {fallback.source}" if missing else ""),
        signal=provider.signal,
        assumed_hours=missing,
        reference=fallback.reference if missing else "",
    )
