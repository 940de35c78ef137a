"""The audit's arithmetic: breakdown, scaling, hardware what-ifs, regions, PUE and power what-ifs.

Pure functions of a measured run and an accounting context (reference tables are the only
input besides them). Energies in J or kWh as named; carbon in g or kg as named; money in the
context's currency. Every row says its provenance (``measured`` for figures from the run,
``estimated`` for the estimator and table rows).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from wattwise.core.documents import (
    AcceleratorDocument,
    HardwareRowDocument,
    PeriodDocument,
    PowerWhatifDocument,
    PueWhatifDocument,
    RegionRowDocument,
    RegionsDocument,
    ScaleBasisDocument,
    ScaleDocument,
    SiteDocument,
    SiteFactorDocument,
    UtilisationDocument,
)
from wattwise.core.factor import Factor
from wattwise.report.rundoc import breakdown_j as breakdown_j  # one definition, shared
from wattwise.report.rundoc import phases as phases
from wattwise.units import j_to_kwh

if TYPE_CHECKING:
    from wattwise.accounting import Context, Footprint
    from wattwise.accounting.compare import RegionRow
    from wattwise.tracker.model import RunResult

DAYS_PER_YEAR = 365.25
#: Catalog hardware compared in the "same workload on other hardware" table.
HARDWARE = ("T4", "L4", "A10G", "L40S", "A100 SXM4 80GB", "H100 SXM5 80GB", "MI300X")
#: Places always shown in the region chart besides the run's own and the cleanest ones.
REFERENCE_PLACES = ("US", "DE", "FR", "GB", "IN", "CN", "SE", "PL", "BR", "AU")
COOLING = ("air", "free-air", "direct-liquid", "immersion")


def per_unit_basis(result: RunResult) -> tuple[str, float, float, str]:
    """(unit, IT J per unit, units measured, how): per request from the ``generate`` window when
    there is one, else per request of the whole run, else one run as the unit."""
    gen = next((w for w in result.windows if w.name == "generate"), None)
    if gen is not None and gen.counts.get("requests", 0) > 0:
        n = gen.counts["requests"]
        return "request", gen.energy.total_j / n, n, "energy of the 'generate' phase / requests"
    n = result.counts.get("requests", 0.0)
    if n > 0:
        return "request", result.energy.total_j / n, n, "energy of the run / requests it reported"
    return (
        "run",
        result.energy.total_j,
        1.0,
        (
            "the command reported no requests (wattwise.workloads.counts.report_count): one run "
            "is taken as the unit"
        ),
    )


def period(it_kwh: float, ctx: Context) -> PeriodDocument:
    """IT energy of a period accounted in ``ctx``: facility kWh, kgCO2e, cost."""
    from wattwise.accounting import account
    from wattwise.units import kwh_to_j

    fp = account(kwh_to_j(it_kwh), "measured", 0.0, ctx)
    return {
        "it_energy_kwh": it_kwh,
        "facility_energy_kwh": fp.facility_energy_kwh,
        "co2e_location_kg": fp.co2e_location_g / 1000.0,
        "co2e_market_kg": fp.co2e_market_g / 1000.0,
        "cost": fp.cost.value if fp.cost else None,
    }


def site_doc(ctx: Context) -> SiteDocument:
    """The site factors of ``ctx`` as the one resolver gives them (nothing back-solved): per
    factor its value, band, provenance and source; the price with its currency (None: unknown)."""
    from wattwise.accounting.money import UNKNOWN_PRICE
    from wattwise.accounting.site import resolve_site

    site = resolve_site(ctx)

    def one(f: Factor, unit: str) -> SiteFactorDocument:
        b = f.band
        return {"value": b.value, "low": b.low, "high": b.high, "unit": unit,
                "provenance": f.provenance.value, "source": f.source}  # fmt: skip

    price_note = next(a for a in site.assumptions if a.name == "price")
    price = None
    if site.price_per_kwh is not None and site.currency is not None:
        price = one(site.price_per_kwh, f"{site.currency}/kWh")
    return {
        "location": site.location,
        "pue": one(site.pue, "ratio"),
        "intensity_location_g_per_kwh": one(site.intensity_location_g_per_kwh, "gCO2e/kWh"),
        "intensity_market_g_per_kwh": one(site.intensity_market_g_per_kwh, "gCO2e/kWh"),
        "wue_l_per_kwh": one(site.wue_l_per_kwh, "L/kWh (IT)"),
        "price_per_kwh": price,
        "currency": site.currency,
        "price_unknown": None if price is not None else UNKNOWN_PRICE,
        "price_source": price_note.source,
    }


def scale(
    result: RunResult,
    fp: Footprint,
    ctx: Context,
    units_per_day: float,
    workload: str | None = None,
) -> ScaleDocument:
    """The run scaled to its use: a serving workload per request × ``units_per_day``, per day
    and per year (365.25 days); a training workload per training run (and per epoch, step,
    sample or token counted), never per request (see :mod:`wattwise.audit.scaling`).

    ``workload`` is ``train``, ``serve`` or None: decided from what the run counted. Site
    factors come from the one resolver (:func:`site_doc`), not from the footprint."""
    from wattwise.audit.scaling import decide_workload, training_scale

    kind, why = decide_workload(result, workload)
    site = site_doc(ctx)
    common: ScaleBasisDocument = {
        "workload": kind,
        "workload_basis": why,
        "provenance": fp.energy_provenance,
        "pue": site["pue"]["value"],
        "intensity_g_per_kwh": site["intensity_location_g_per_kwh"]["value"],
        "price_per_kwh": price["value"] if (price := site["price_per_kwh"]) else None,
        "currency": site["currency"] or "",
        "site": site,
    }
    # The ** items below are the TypedDicts built here (no extra keys): mypy's strict check
    # for optional keys an open TypedDict might carry does not apply (tests/core checks keys).
    if kind == "train":
        return {**training_scale(result, ctx), **common}  # type: ignore[typeddict-item]
    unit, j_per_unit, n, how = per_unit_basis(result)
    tokens = next((w.counts.get("tokens", 0.0) for w in result.windows if w.name == "generate"), 0)
    day_kwh = j_to_kwh(j_per_unit * units_per_day)
    return {
        "unit": unit,
        "units_per_day": units_per_day,
        "units_measured": n,
        "basis": how,
        "it_j_per_unit": j_per_unit,
        "it_j_per_token": (j_per_unit * n / tokens) if tokens else None,
        **common,  # type: ignore[typeddict-item]
        "day": period(day_kwh, ctx),
        "year": period(day_kwh * DAYS_PER_YEAR, ctx),
    }


def hardware_rows(
    params: float, prompt_tokens: float, new_tokens: float, units_per_day: float, ctx: Context
) -> list[HardwareRowDocument]:
    """The same serving load on catalog hardware, from the estimator (``estimated``): energy
    while busy, and a year with one chip provisioned around the clock (``always_on``: its idle
    power included) — the conservative figure recommendations use.

    The site factors are the resolver's for ``ctx`` (:func:`wattwise.estimate.site.
    context_from_accounting`), with their provenance; each row's cost carries its ``currency``
    and is None (currency ``""``) when no price is known for the place — never another place's
    price; the report shows it as ``unknown — give --price``."""
    from wattwise.errors import WattwiseError
    from wattwise.estimate import estimate_inference, get_hardware
    from wattwise.estimate.site import context_from_accounting

    ectx = context_from_accounting(ctx)
    rows: list[HardwareRowDocument] = []
    for name in HARDWARE:
        try:
            acc = get_hardware(name)
            busy, on = (
                estimate_inference(
                    hardware=acc,
                    params=params,
                    input_tokens=prompt_tokens,
                    output_tokens=new_tokens,
                    requests_per_day=units_per_day,
                    chips=1,
                    batch_size=1,
                    precision="fp32",
                    context=ectx,
                    always_on=always_on,
                )
                for always_on in (False, True)
            )
        except WattwiseError:
            continue
        y = on.yearly
        rows.append(
            {
                "name": acc.name,
                "wh_per_request": busy.wh_per_request["facility"].value,
                "year_busy_facility_kwh": busy.yearly["energy_kwh"].value,
                # always on: one chip provisioned around the clock (idle power included)
                "year_facility_kwh": y["energy_kwh"].value,
                "year_facility_kwh_low": y["energy_kwh"].low,
                "year_facility_kwh_high": y["energy_kwh"].high,
                "year_co2e_kg": y["co2e_location_kg"].value,
                "year_cost": cost.value if (cost := y.get("cost")) is not None else None,
                "currency": ectx.currency if cost is not None and ectx.currency else "",
                "provenance": "estimated",
            }
        )
    return rows


def _row_dict(r: RegionRow, current: bool = False) -> RegionRowDocument:
    return {
        "key": r.key,
        "kind": r.kind,
        "name": r.name,
        "intensity_g_per_kwh": r.intensity_g_per_kwh,
        "year": r.year,
        "pue": r.pue,
        "facility_energy_kwh": r.facility_energy_kwh,
        "co2e_location_g": r.co2e_location_g,
        "co2e_market_g": r.co2e_market_g,
        "cost": {"value": r.cost.value, "currency": r.cost.currency} if r.cost else None,
        "price_basis": r.price_basis,
        "source": r.source,
        "current": current,
    }


def regions(
    energy_j: float, duration_s: float, ctx: Context, provenance: str, fp: Footprint
) -> RegionsDocument:
    """The same run in other places: the run's own place, the candidates within the user's
    reach (their cloud provider's regions; else every cloud region and country with data) and
    a chart selection (own place, the 5 cleanest candidates, reference countries)."""
    from wattwise.accounting import compare_regions
    from wattwise.accounting.compare import default_keys, price_basis
    from wattwise.data.lookup import cloud_regions

    if ctx.cloud is not None:
        keys = [f"{ctx.cloud}:{f.key.split(':', 1)[-1]}" for f in cloud_regions(ctx.cloud)]
        keys = sorted(set(keys))
        scope = f"the cleanest {ctx.cloud} region"
    else:
        keys = default_keys(("cloud",))
        scope = "the cleanest cloud region with published data (AWS, Azure, GCP)"
    try:
        cands = compare_regions(energy_j, duration_s, ctx, keys, provenance)
    except Exception:  # a provider table without usable keys: fall back to every place
        cands = compare_regions(energy_j, duration_s, ctx, default_keys(("cloud",)), provenance)
    cands = [r for r in cands if not r.flag]  # a 0 g/kWh gap is no place to move to
    # The run's own place, accounted the same way (world average when none was given).
    current: RegionRowDocument = {
        "key": "here",
        "name": fp.location,
        "intensity_g_per_kwh": fp.intensity_g_per_kwh,
        "year": fp.grid_year,
        "pue": fp.pue,
        "facility_energy_kwh": fp.facility_energy_kwh,
        "co2e_location_g": fp.co2e_location_g,
        "co2e_market_g": fp.co2e_market_g,
        "cost": {"value": fp.cost.value, "currency": fp.cost.currency} if fp.cost else None,
        "price_basis": price_basis(fp),
        "source": next((a.source for a in fp.assumptions if a.name == "grid_intensity"), ""),
        "current": True,
    }
    refs = compare_regions(energy_j, duration_s, ctx, REFERENCE_PLACES, provenance)
    chart = [current] + [_row_dict(r) for r in cands[:5]] + [_row_dict(r) for r in refs]
    # One row per place: the run's own place is also a reference country or a candidate
    # (key "here" vs "DE", the same name "country DE (Germany)"); it is listed once, as itself.
    seen: set[str] = set()
    uniq = []
    for r in chart:
        if r["key"] not in seen and r["name"] not in seen:
            seen.update((r["key"], r["name"]))
            uniq.append(r)
    uniq.sort(key=lambda r: r["co2e_location_g"])
    return {
        "scope": scope,
        "current": current,
        "candidates": [_row_dict(r) for r in cands[:20]],
        "chart": uniq,
    }


def pue_whatifs(year_it_kwh: float, ctx: Context) -> list[PueWhatifDocument]:
    """A year of IT energy in facilities of each cooling type (pue.csv presets)."""
    out: list[PueWhatifDocument] = []
    base = replace(ctx, pue=None, cooling=None)
    for cooling in COOLING:
        c = replace(base, cooling=cooling)
        p = period(year_it_kwh, c)
        from wattwise.accounting import resolve_pue

        a = resolve_pue(c)
        pue = float(a.value)  # a preset's PUE (a number, as the resolver reads it)
        out.append({"setting": f"cooling: {cooling}", "pue": pue, "source": a.source, **p})
    return out


def power_whatifs(
    lab: Mapping[str, Any] | None, scale_doc: ScaleDocument
) -> list[PowerWhatifDocument]:
    """Serving settings measured by the lab on the baseline model: batch 1 vs batch N; and
    the recommended variant. Yearly facility kWh scaled by the measured ratio."""
    if not lab:
        return []
    base = next((v for v in lab.get("variants", []) if v.get("name") == lab.get("baseline")), None)
    year_kwh = (scale_doc.get("year") or {}).get("facility_energy_kwh")
    if base is None or not isinstance(year_kwh, float | int):
        return []
    e1 = base.get("j_per_token")
    if not isinstance(e1, float | int) or e1 <= 0:
        return []
    rows: list[PowerWhatifDocument] = []
    settings: Sequence[tuple[str, Any, Any]] = [
        ("baseline, batch 1 (as served)", e1, base.get("tokens_per_s")),
        (
            f"baseline, batch {base.get('batch')}",
            base.get("j_per_token_batch"),
            base.get("tokens_per_s_batch"),
        ),
    ]
    rec = lab.get("recommended")
    if rec and rec != lab.get("baseline"):
        v = next((v for v in lab.get("variants", []) if v.get("name") == rec), None)
        if v is not None:
            settings = [
                *settings,
                (f"{rec}, batch 1", v.get("j_per_token"), v.get("tokens_per_s")),
                (
                    f"{rec}, batch {v.get('batch')}",
                    v.get("j_per_token_batch"),
                    v.get("tokens_per_s_batch"),
                ),
            ]
    for name, e, tps in settings:
        if not isinstance(e, float | int) or not math.isfinite(e):
            continue
        rows.append(
            {
                "setting": name,
                "j_per_token": e,
                "tokens_per_s": tps,
                "relative": e / e1,
                "year_facility_kwh": year_kwh * e / e1,
                "provenance": base.get("provenance", "measured"),
            }
        )
    return rows


def utilisation(result: RunResult) -> UtilisationDocument:
    """Mean power of each accelerator against its catalog TDP and idle power."""
    from wattwise.errors import WattwiseError
    from wattwise.estimate import get_hardware

    accs: list[AcceleratorDocument] = []
    for c in result.components:
        if c.kind != "gpu" or result.duration_s <= 0:
            continue
        tdp_w: float | None = None
        idle_w: float | None = None
        catalog: str | None = None
        with contextlib.suppress(WattwiseError):  # not in the catalog: no TDP to compare with
            hw = get_hardware(c.name)
            tdp_w, idle_w, catalog = hw.tdp_w, hw.idle_w, hw.name
        accs.append(
            {"name": c.name, "mean_power_w": c.energy_j / result.duration_s,
             "tdp_w": tdp_w, "idle_w": idle_w, "catalog": catalog}
        )  # fmt: skip
    return {"accelerators": accs}


def timeline(result: RunResult) -> dict[str, list[tuple[float, float]]]:
    """Power (W) over time (s) per device, from the run's samples (names from components)."""
    names = {c.device_id: c.name for c in result.components}
    out: dict[str, list[tuple[float, float]]] = {}
    for s in sorted(result.samples, key=lambda s: s.t_s):
        if s.power_w is None or not math.isfinite(s.power_w):
            continue
        out.setdefault(names.get(s.device_id, s.device_id), []).append((s.t_s, s.power_w))
    return out
