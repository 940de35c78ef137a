"""Energy of moving data, and of federated learning against centralised training.

Moving data and models costs energy too. :func:`transfer` is ``GB × kWh/GB`` of a network
boundary (``core``, ``access-fixed``, ``mobile``, ``datacentre``) from ``network_energy.csv``
(each figure with its source, year and range). The year dependence is explicit: for a boundary
with a published trend (Aslan et al. 2018: halving about every 2 years), the figure for ``year``
is ``base × 2^(−(year − base_year) / halving_years)``, and the band runs from that trend to the
source-year figure held flat; a boundary without a trend uses its figure for every year and says
so. GB are decimal (10^9 bytes); MB are 10^6 bytes.

:func:`federated` compares, in kWh:

* federated: each round every client downloads the model and uploads an update of the same size
  (``2 × model_mb × clients × rounds`` MB over the clients' network) and trains ``local_steps``
  steps of ``step_s`` seconds at the device's power (``client_devices.csv`` or given);
* centralised: each client's data uploaded once (``clients × data_mb`` MB over the same network)
  plus the central training energy the user gives (``central_kwh``, e.g. from ``wattwise
  estimate train``); without it the comparison covers the network only and says so.

It reports the break-even number of rounds (where federated equals centralised), so a user sees
when federated learning saves energy and when it does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

from wattwise.core.band import Band
from wattwise.data.tables import read_rows, unknown_key
from wattwise.errors import ConfigError, DataError

NETWORKS = ("core", "access-fixed", "mobile", "datacentre")
DEVICES = ("phone", "laptop")
#: Default network of each client device (a phone on mobile data, a laptop on a fixed line).
DEVICE_NETWORK = {"phone": "mobile", "laptop": "access-fixed"}
MB_PER_GB = 1000.0


@dataclass(frozen=True)
class NetworkPreset:
    """A row of ``network_energy.csv``: kWh/GB in ``base_year`` with the source's range."""

    network: str
    base_year: int
    kwh_per_gb: float
    low_kwh_per_gb: float
    high_kwh_per_gb: float
    halving_years: float | None
    boundary: str
    source: str


@dataclass(frozen=True)
class DevicePreset:
    """A row of ``client_devices.csv``: training power of a client device, W."""

    device: str
    power_w: float
    low_w: float
    high_w: float
    provenance: str
    source: str


def _num(row: dict[str, str], col: str, table: str, lo: float, hi: float) -> float:
    try:
        x = float(row[col])
    except (KeyError, ValueError):
        raise DataError(f"{table}: {col}={row.get(col)!r} is not a number") from None
    if not (math.isfinite(x) and lo <= x <= hi):
        raise DataError(f"{table}: {col}={x:g} outside the plausible range {lo:g}-{hi:g}")
    return x


@cache
def network_presets() -> dict[str, NetworkPreset]:
    """The network boundaries of ``network_energy.csv`` (kWh/GB plausible: 1e-5 to 10)."""
    t = "network_energy.csv"
    out = {}
    for r in read_rows(t):
        halving = r.get("halving_years", "").strip()
        out[r["network"]] = NetworkPreset(
            r["network"],
            int(_num(r, "base_year", t, 1990, 2100)),
            _num(r, "kwh_per_gb", t, 1e-5, 10),
            _num(r, "low_kwh_per_gb", t, 1e-5, 10),
            _num(r, "high_kwh_per_gb", t, 1e-5, 10),
            _num(r, "halving_years", t, 0.5, 20) if halving else None,
            r["boundary"],
            r["source"],
        )
    return out


@cache
def device_presets() -> dict[str, DevicePreset]:
    """The client devices of ``client_devices.csv`` (power plausible: 0.1 to 500 W)."""
    t = "client_devices.csv"
    return {
        r["device"]: DevicePreset(
            r["device"],
            _num(r, "power_w", t, 0.1, 500),
            _num(r, "low_w", t, 0.1, 500),
            _num(r, "high_w", t, 0.1, 500),
            r["provenance"],
            r["source"],
        )
        for r in read_rows(t)
    }


@dataclass(frozen=True)
class Intensity:
    """kWh/GB of a network for a year, its band and how the year was handled (in words)."""

    network: str
    year: int
    kwh_per_gb: Band
    year_note: str
    source: str
    boundary: str


def intensity(network: str, year: int | None = None) -> Intensity:
    """The kWh/GB of ``network`` in ``year`` (default: the source's year). See the module."""
    presets = network_presets()
    if network not in presets:
        raise unknown_key("network", network, list(presets))
    p = presets[network]
    y = p.base_year if year is None else year
    low, high = p.low_kwh_per_gb, p.high_kwh_per_gb
    if p.halving_years is None or y == p.base_year:
        note = (
            f"{p.base_year} figure"
            if y == p.base_year
            else f"the source gives no year trend: its {p.base_year} figure is used for {y}"
        )
        return Intensity(network, y, Band(p.kwh_per_gb, low, high), note, p.source, p.boundary)
    factor = 2.0 ** (-(y - p.base_year) / p.halving_years)
    trend = p.kwh_per_gb * factor
    lo, hi = min(low * factor, low), max(high * factor, high)
    direction = "extrapolated" if y > p.base_year else "back-cast"
    note = (
        f"{p.base_year} figure x 2^(-({y} - {p.base_year}) / {p.halving_years:g}): the "
        f"source's trend {direction} (halving every {p.halving_years:g} years); band from "
        f"that trend to the {p.base_year} figure held flat"
    )
    return Intensity(network, y, Band(trend, lo, hi), note, p.source, p.boundary)


@dataclass(frozen=True)
class Transfer:
    """Energy (kWh) of moving ``gb`` gigabytes over a network."""

    gb: float
    intensity: Intensity
    energy_kwh: Band


def transfer(gb: float, network: str = "access-fixed", year: int | None = None) -> Transfer:
    """``gb × kWh/GB`` of ``network`` in ``year``, with the band."""
    if not (math.isfinite(gb) and gb >= 0):
        raise ConfigError(f"--gb {gb}: give a non-negative number of gigabytes")
    i = intensity(network, year)
    return Transfer(gb, i, i.kwh_per_gb.scale(gb))


@dataclass(frozen=True)
class Federated:
    """Federated against centralised training, kWh (bands), and the break-even rounds."""

    network: Intensity
    device: str
    client_power_w: Band
    power_source: str
    traffic_gb: float
    network_kwh: Band
    client_compute_kwh: Band
    federated_kwh: Band
    upload_gb: float
    upload_kwh: Band
    central_kwh: float | None
    centralised_kwh: Band
    per_round_kwh: float
    break_even_rounds: float | None
    notes: tuple[str, ...]


def federated(
    clients: int,
    rounds: int,
    model_mb: float,
    *,
    device: str = "phone",
    local_steps: int = 1,
    step_s: float = 1.0,
    client_power_w: float | None = None,
    network: str | None = None,
    year: int | None = None,
    data_mb: float | None = None,
    central_kwh: float | None = None,
) -> Federated:
    """The comparison of the module docstring (``data_mb`` per client, ``central_kwh`` total)."""
    for name, v in (("--clients", clients), ("--rounds", rounds), ("--local-steps", local_steps)):
        if v < 1:
            raise ConfigError(f"{name} {v}: give a whole number of at least 1")
    for name, x in (
        ("--model-mb", model_mb),
        ("--step-s", step_s),
        ("--data-mb", data_mb),
        ("--central-kwh", central_kwh),
        ("--client-power-w", client_power_w),
    ):
        if x is not None and not (math.isfinite(x) and x >= 0):
            raise ConfigError(f"{name} {x}: give a non-negative number")
    devices = device_presets()
    if device not in devices:
        raise unknown_key("client device", device, list(devices))
    d = devices[device]
    net = intensity(network or DEVICE_NETWORK[device], year)
    notes: list[str] = [f"network {net.network}: {net.year_note}"]
    if client_power_w is not None:
        power = Band.exact(client_power_w)
        power_source = "given by you (--client-power-w)"
    else:
        power = Band(d.power_w, d.low_w, d.high_w)
        power_source = f"{d.provenance}: {d.source}"
    traffic_gb = 2.0 * model_mb * clients * rounds / MB_PER_GB  # download + upload per round
    network_kwh = net.kwh_per_gb.scale(traffic_gb)
    hours = clients * rounds * local_steps * step_s / 3600.0
    compute = power.scale(hours / 1000.0)  # W x h -> kWh
    fed = network_kwh.add(compute)
    upload_gb = clients * (data_mb or 0.0) / MB_PER_GB
    upload = net.kwh_per_gb.scale(upload_gb)
    cent = upload.add(Band.exact(central_kwh or 0.0))
    if data_mb is None:
        notes.append("--data-mb not given: the centralised side has no data upload")
    if central_kwh is None:
        notes.append(
            "--central-kwh not given: the centralised side has no training energy "
            "(give it, e.g. from 'wattwise estimate train'): the comparison then "
            "covers the network and client compute only"
        )
    notes.append(
        "client energy excludes the device's idle power and charging losses; one "
        "update per client per round, the same size as the model (no compression)"
    )
    per_round = fed.value / rounds
    even = cent.value / per_round if per_round > 0 else None
    return Federated(
        net,
        device,
        power,
        power_source,
        traffic_gb,
        network_kwh,
        compute,
        fed,
        upload_gb,
        upload,
        central_kwh,
        cent,
        per_round,
        even,
        tuple(notes),
    )
