"""The four live providers, each as one function from a region and window to forecast points.

Each reads its settings from the environment (``WATTWISE_*``) and is only called when the user
names it with ``--provider``:

* ``gb-carbon-intensity`` — the GB Carbon Intensity API (NESO; no key), ``GET
  /intensity/{from}/{to}``, half-hourly ``intensity.forecast`` (``actual`` where published),
  gCO2/kWh, direct. GB only. ``WATTWISE_GB_CARBON_INTENSITY_URL`` (default
  https://api.carbonintensity.org.uk).
* ``electricitymaps`` — Electricity Maps ``GET /v3/carbon-intensity/forecast?zone=``, header
  ``auth-token: $WATTWISE_ELECTRICITYMAPS_TOKEN``, ``forecast[].carbonIntensity`` gCO2e/kWh
  (lifecycle). ``WATTWISE_ELECTRICITYMAPS_URL`` (default https://api.electricitymap.org).
* ``watttime`` — WattTime v3: ``GET /login`` (basic auth ``$WATTWISE_WATTTIME_USER`` /
  ``$WATTWISE_WATTTIME_PASSWORD``) for a token, then ``GET /v3/forecast?region=&signal_type=
  co2_moer``, ``data[].value`` in **lb/MWh** (× 0.45359237 → g/kWh), marginal.
  ``WATTWISE_WATTTIME_URL`` (default https://api.watttime.org).
* ``carbon-aware-sdk`` — a Carbon Aware SDK WebAPI at ``$WATTWISE_CARBON_AWARE_URL``: ``GET
  /emissions/forecasts/current?location=``, ``[0].forecastData[]`` with ``timestamp``,
  ``duration`` (minutes) and ``value`` (gCO2/kWh).

Region names differ per provider: a grid key maps to the provider's zone / region below, and
``WATTWISE_<PROVIDER>_REGIONS="CISO=...,PJM=..."`` overrides or adds entries.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from wattwise.data.hourly_regions import HourlyRegion
from wattwise.data.tables import LB_PER_MWH_TO_G_PER_KWH
from wattwise.errors import ConfigError
from wattwise.schedule.providers.http import ProviderError, get_json


@dataclass(frozen=True)
class Point:
    """A forecast value over [time_utc, time_utc + minutes), gCO2e/kWh."""

    time_utc: datetime
    g_per_kwh: float
    minutes: float


@dataclass(frozen=True)
class Provider:
    name: str
    fetch: Callable[[HourlyRegion, datetime, datetime], list[Point]]
    signal: str
    basis: str
    source: str


#: Electricity Maps zone keys of the shipped grids.
EM_ZONES = {
    "CISO": "US-CAL-CISO",
    "BPAT": "US-NW-BPAT",
    "ERCO": "US-TEX-ERCO",
    "MISO": "US-MIDW-MISO",
    "PJM": "US-MIDA-PJM",
    "NYIS": "US-NY-NYIS",
    "SOCO": "US-SE-SOCO",
    "AZPS": "US-SW-AZPS",
    "GB": "GB",
}
#: WattTime regions (only those whose footprint is the balancing authority's own).
WT_REGIONS = {
    "BPAT": "BPA",
    "ERCO": "ERCOT",
    "PJM": "PJM",
    "MISO": "MISO",
    "NYIS": "NYISO",
    "SOCO": "SOCO",
    "AZPS": "AZPS",
}


def _t(text: Any, name: str) -> datetime:
    try:
        t = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise ProviderError(f"{name}: bad timestamp {text!r}") from None
    return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _region_code(
    env_name: str, defaults: dict[str, str], region: HourlyRegion, provider: str
) -> str:
    table = dict(defaults)
    for item in os.environ.get(env_name, "").split(","):
        if "=" in item:
            k, v = item.split("=", 1)
            table[k.strip().upper()] = v.strip()
    for key in (region.region.upper(), region.grid):
        if key in table:
            return table[key]
    raise ConfigError(
        f"{provider}: no region code for {region.region}; set {env_name}='{region.grid}=CODE'"
    )


def _need(var: str, provider: str) -> str:
    value = os.environ.get(var, "").strip()
    if not value:
        raise ConfigError(f"--provider {provider} needs {var}")
    return value


def _fmt(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%MZ")


def gb_carbon_intensity(region: HourlyRegion, start: datetime, end: datetime) -> list[Point]:
    name = "gb-carbon-intensity"
    if region.grid != "GB":
        raise ConfigError(f"{name} covers Great Britain only, not {region.region}")
    base = os.environ.get("WATTWISE_GB_CARBON_INTENSITY_URL", "https://api.carbonintensity.org.uk")
    doc = get_json(
        name,
        f"{base.rstrip('/')}/intensity/{_fmt(start)}/{_fmt(end)}",
        headers={"Accept": "application/json"},
    )
    out = []
    for row in _list(doc, "data", name):
        i = row.get("intensity") or {}
        value = i.get("actual") if i.get("actual") is not None else i.get("forecast")
        if value is None:
            continue
        t0, t1 = _t(row["from"], name), _t(row["to"], name)
        out.append(Point(t0, float(value), (t1 - t0) / timedelta(minutes=1)))
    return out


def electricitymaps(region: HourlyRegion, start: datetime, end: datetime) -> list[Point]:
    name = "electricitymaps"
    token = _need("WATTWISE_ELECTRICITYMAPS_TOKEN", name)
    zone = _region_code("WATTWISE_ELECTRICITYMAPS_REGIONS", EM_ZONES, region, name)
    base = os.environ.get("WATTWISE_ELECTRICITYMAPS_URL", "https://api.electricitymap.org")
    doc = get_json(
        name,
        f"{base.rstrip('/')}/v3/carbon-intensity/forecast",
        {"zone": zone},
        {"auth-token": token},
    )
    return [
        Point(_t(r["datetime"], name), float(r["carbonIntensity"]), 60.0)
        for r in _list(doc, "forecast", name)
        if r.get("carbonIntensity") is not None
    ]


def watttime(region: HourlyRegion, start: datetime, end: datetime) -> list[Point]:
    name = "watttime"
    user = _need("WATTWISE_WATTTIME_USER", name)
    password = _need("WATTWISE_WATTTIME_PASSWORD", name)
    code = _region_code("WATTWISE_WATTTIME_REGIONS", WT_REGIONS, region, name)
    base = os.environ.get("WATTWISE_WATTTIME_URL", "https://api.watttime.org").rstrip("/")
    login = get_json(name, f"{base}/login", auth=(user, password), cache=False)
    token = login.get("token") if isinstance(login, dict) else None
    if not token:
        raise ProviderError(f"{name}: the login answered no token")
    doc = get_json(
        name,
        f"{base}/v3/forecast",
        {"region": code, "signal_type": "co2_moer"},
        {"Authorization": f"Bearer {token}"},
    )
    units = str((doc.get("meta") or {}).get("units", "lbs_co2_per_mwh"))
    if "lbs" not in units:
        raise ProviderError(f"{name}: unexpected units {units!r} (expected lbs_co2_per_mwh)")
    rows = _list(doc, "data", name)
    step = 5.0
    if len(rows) > 1:
        step = (_t(rows[1]["point_time"], name) - _t(rows[0]["point_time"], name)) / timedelta(
            minutes=1
        )
    return [
        Point(_t(r["point_time"], name), float(r["value"]) * LB_PER_MWH_TO_G_PER_KWH, step)
        for r in rows
    ]


def carbon_aware_sdk(region: HourlyRegion, start: datetime, end: datetime) -> list[Point]:
    name = "carbon-aware-sdk"
    base = _need("WATTWISE_CARBON_AWARE_URL", name).rstrip("/")
    defaults = {region.region.upper(): region.region.split(":", 1)[-1]}
    location = _region_code("WATTWISE_CARBON_AWARE_REGIONS", defaults, region, name)
    doc = get_json(name, f"{base}/emissions/forecasts/current", {"location": location})
    if not isinstance(doc, list) or not doc or not isinstance(doc[0], dict):
        raise ProviderError(f"{name}: expected a list of forecasts, got {str(doc)[:80]!r}")
    return [
        Point(_t(r["timestamp"], name), float(r["value"]), float(r.get("duration", 5)))
        for r in _list(doc[0], "forecastData", name)
    ]


def _list(doc: Any, key: str, name: str) -> list[dict[str, Any]]:
    rows = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(rows, list):
        raise ProviderError(f"{name}: the answer has no '{key}' list")
    return [r for r in rows if isinstance(r, dict)]


PROVIDERS = {
    p.name: p
    for p in (
        Provider(
            "gb-carbon-intensity",
            gb_carbon_intensity,
            "average",
            "direct (operational)",
            "GB Carbon Intensity API (NESO, CC BY 4.0)",
        ),
        Provider(
            "electricitymaps",
            electricitymaps,
            "average",
            "lifecycle",
            "Electricity Maps API (forecast)",
        ),
        Provider(
            "watttime",
            watttime,
            "marginal",
            "marginal operating emissions rate (MOER)",
            "WattTime API v3 (forecast)",
        ),
        Provider(
            "carbon-aware-sdk",
            carbon_aware_sdk,
            "average",
            "as the SDK's configured data source",
            "Carbon Aware SDK WebAPI (forecast)",
        ),
    )
}
