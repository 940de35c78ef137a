"""Hardware side by side: one table of the same workload estimated on several accelerators.

Each row is one accelerator's estimate of the same ``infer``, ``image``, ``video`` or ``train``
workload (its ``to_dict()``), reduced to comparable columns:

* ``wh_per_unit`` — facility Wh per request (under a load: of the always-on fleet, idle power
  included), image, video, or training run (band);
* ``units_per_kwh`` — work per facility kWh (performance per watt, as energy efficiency);
* ``throughput_per_chip`` — requests, images or videos per second per chip (train: none);
* ``chips`` and ``replicas`` (under a load) or ``chip_hours`` (training);
* ``co2e_location_g_per_unit`` — at the site's location-based intensity;
* ``kwh_per_year`` and ``cost_per_year`` in the site's currency (infer/image/video: the daily
  load over a year, always-on fleet where one is sized; train: the run), None without a price;
* ``provenance`` — how the row was obtained (``estimated``: power basis, peak and power source).

Rows are sorted by ``wh_per_unit`` (lowest first). An accelerator the estimator cannot price in
energy — a TPU whose chip power Google does not publish — is kept as a row with ``error`` set
("not shipped: ..."), never silently dropped and never given an invented power.
"""

from __future__ import annotations

from typing import Any

from wattwise.core.units import DAYS_PER_YEAR
from wattwise.estimate.types import EstimateContext

UNITS: dict[str, str] = {"infer": "request", "image": "image", "video": "video", "train": "run"}


def _band(d: dict[str, Any], scale: float = 1.0) -> dict[str, float]:
    return {k: float(d[k]) * scale for k in ("value", "low", "high")}


def _energy(kind: str, data: dict[str, Any]) -> dict[str, float]:
    if kind == "infer" and data.get("load"):  # under a load: the always-on fleet, idle included
        return _band(data["load"]["always_on"]["wh_per_request_facility"])
    if kind == "infer":
        return _band(data["wh_per_request"]["facility"])
    if kind in ("image", "video"):
        return _band(data[f"wh_per_{kind}"]["facility"])
    return _band(data["facility_energy_kwh"], 1000.0)


def _throughput(kind: str, data: dict[str, Any]) -> float | None:
    chips = data["chips"]
    key = {"infer": "seconds_per_request", "image": "seconds_per_image",
           "video": "seconds_per_video"}.get(kind)  # fmt: skip
    if key is None:
        return None
    seconds = float(data[key]["value"])
    return 1.0 / (seconds * chips) if seconds > 0 else None


def _kwh_per_year(kind: str, data: dict[str, Any]) -> float | None:
    if kind == "train":
        return float(data["facility_energy_kwh"]["value"])
    load = data.get("load") or {}
    if load:
        return float(load["always_on"]["energy_kwh_per_day"]["value"]) * DAYS_PER_YEAR
    year = float(data["yearly"]["energy_kwh"]["value"])
    return year or None


def _provenance(data: dict[str, Any]) -> str:
    """The estimate's power basis, power and peak sources, in one line."""
    by_name = {a["name"]: a for a in data.get("assumptions", [])}
    parts = ["estimated"]
    names = ("power_basis", "power_per_chip", "idle_power_per_chip",
             "compute_bound_power_fraction", "peak_flops", "memory_bandwidth")  # fmt: skip
    for name in names:
        a = by_name.get(name)
        if a is not None:
            parts.append(f"{name}={a['value']} [{a['provenance']}] {a['source']}")
    return "; ".join(parts)


def row(kind: str, name: str, data: dict[str, Any], ctx: EstimateContext) -> dict[str, Any]:
    """One accelerator's comparable columns from its estimate's ``to_dict()``."""
    wh = _energy(kind, data)
    kwh_year = _kwh_per_year(kind, data)
    price = ctx.price_per_kwh.value if ctx.price_per_kwh is not None and ctx.currency else None
    load = data.get("load") or {}
    return {
        "hardware": name,
        "catalog_name": data["hardware"],
        "unit": UNITS[kind],
        "wh_per_unit": wh,
        "units_per_kwh": 1000.0 / wh["value"] if wh["value"] else None,
        "throughput_per_chip": _throughput(kind, data),
        "chips": data["chips"],
        "replicas": load["always_on"]["replicas"] if load else None,
        "chip_hours": float(data["chip_hours"]["value"]) if kind == "train" else None,
        "co2e_location_g_per_unit": wh["value"] / 1000.0 * ctx.intensity_location_g_per_kwh.value,
        "kwh_per_year": kwh_year,
        "cost_per_year": None if price is None or kwh_year is None else kwh_year * price,
        "currency": ctx.currency if price is not None else None,
        "provenance": _provenance(data),
        "error": None,
    }


def error_row(kind: str, name: str, message: str) -> dict[str, Any]:
    """A row for an accelerator that could not be estimated, saying why."""
    return {"hardware": name, "unit": UNITS[kind], "wh_per_unit": None, "error": message,
            "provenance": "not shipped"}  # fmt: skip


def sort_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Lowest facility Wh per unit first; rows without an estimate last, in input order."""
    done = [r for r in rows if r.get("wh_per_unit")]
    missing = [r for r in rows if not r.get("wh_per_unit")]
    return sorted(done, key=lambda r: r["wh_per_unit"]["value"]) + missing


__all__ = ["UNITS", "error_row", "row", "sort_rows"]
