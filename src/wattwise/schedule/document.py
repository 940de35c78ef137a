"""A schedule as a JSON-ready document and as lines for a person.

Every output names its signal's provenance: forecast kind (historical / assumed / a live
provider), basis, source, and how many hours were historical, assumed or interpolated.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wattwise.schedule.plan import RegionPlan, Schedule, trade_off
from wattwise.schedule.planner import Placement


def _t(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%MZ")


def _placement(s: Schedule, rp: RegionPlan, p: Placement) -> dict[str, Any]:
    job = s.request.job
    cost = rp.cost(job)
    return {
        "start_utc": _t(s.time_of(p.start_h)),
        "end_utc": _t(s.time_of(p.end_h)),
        "pieces": [
            {"start_utc": _t(s.time_of(a)), "end_utc": _t(s.time_of(b))} for a, b in p.pieces
        ],
        "mean_g_per_kwh": round(p.mean_g_per_kwh, 3),
        "co2e_kg": round(rp.co2e_kg(job, p), 6),
        "cost": None if cost is None else {"value": round(cost, 4), "currency": rp.currency},
    }


def signal_doc(rp: RegionPlan) -> dict[str, Any]:
    c = rp.curve
    return {
        "signal": c.signal,
        "forecast": c.forecast,
        "basis": c.basis,
        "source": c.source,
        "historical_hours": c.historical_hours,
        "assumed_hours": c.assumed_hours,
        "interpolated_hours": c.interpolated_hours,
        "reference": c.reference or None,
    }


def _region_doc(s: Schedule, rp: RegionPlan) -> dict[str, Any]:
    now = rp.co2e_kg(s.request.job, rp.now)
    plan = rp.co2e_kg(s.request.job, rp.plan)
    return {
        "region": rp.region.region,
        "grid": rp.region.grid,
        "place": rp.region.place,
        "mapping": rp.region.basis,
        "plan": _placement(s, rp, rp.plan),
        "now": _placement(s, rp, rp.now),
        "saving_fraction_here": round(1 - plan / now, 6) if now > 0 else 0.0,
        "price_source": rp.price_source,
        "transfer_kwh": rp.transfer_kwh,
        "provenance": signal_doc(rp),
        "curve": [
            {"start_utc": _t(t), "g_per_kwh": v}
            for t, v in zip(rp.curve.times_utc(), rp.curve.values_g_per_kwh, strict=True)
        ],
    }


def to_dict(s: Schedule) -> dict[str, Any]:
    """The whole schedule: job, window, chosen plan against starting now, every region."""
    req, job = s.request, s.request.job
    return {
        "job": {
            "energy_kwh": job.energy_kwh,
            "duration_h": job.duration_h,
            "power_kw": job.power_kw,
            "source": job.source,
            "runs": req.jobs,
            "run_h": job.duration_h / req.jobs,
        },
        "window": {"earliest_utc": _t(req.earliest_utc), "deadline_utc": _t(req.deadline_utc)},
        "objective": req.objective,
        "signal": req.signal,
        "interruptible": req.interruptible,
        "min_chunk_h": req.min_chunk_h if req.interruptible else None,
        "region": s.chosen.region.region,
        "plan": _placement(s, s.chosen, s.chosen.plan),
        "now": {"region": s.baseline.region.region, **_placement(s, s.baseline, s.baseline.now)},
        "saving_kg": round(s.saving_kg, 6),
        "saving_fraction": round(s.saving_fraction, 6),
        "provenance": signal_doc(s.chosen),
        "trade_off": trade_off(s),
        "warnings": list(s.warnings),
        "regions": [_region_doc(s, rp) for rp in s.regions],
    }


def _pieces_text(s: Schedule, p: Placement) -> str:
    return ", ".join(f"{_t(s.time_of(a))} -> {_t(s.time_of(b))}" for a, b in p.pieces)


#: The hourly curve is printed for windows up to two days (always in --json).
MAX_CURVE_HOURS_SHOWN = 48


def _curve_rows(s: Schedule, rp: RegionPlan) -> list[str]:
    """Eight hours a line: ``15:00 140*`` (a star where the plan runs)."""
    cells = []
    for i, (t, v) in enumerate(zip(rp.curve.times_utc(), rp.curve.values_g_per_kwh, strict=True)):
        used = any(a < i + 1 and b > i for a, b in rp.plan.pieces)
        cells.append(f"{t:%H:%M} {v:4.0f}{'*' if used else ' '}")
    return ["  " + "  ".join(cells[k : k + 8]).rstrip() for k in range(0, len(cells), 8)]


def human_lines(s: Schedule) -> list[str]:
    """The plan, the saving, each region, the provenance and the caveats."""
    job = s.request.job
    c = s.chosen
    out = [
        f"job: {job.energy_kwh:.4g} kWh over {job.duration_h:g} h"
        + (
            f" in {s.request.jobs} runs of {job.duration_h / s.request.jobs:g} h"
            if s.request.jobs > 1
            else ""
        )
        + f" ({job.power_kw:.4g} kW; {job.source})",
        f"plan: run in {c.region.region} {_pieces_text(s, c.plan)}: "
        f"{s.plan_co2e_kg:.4g} kg CO2e at {c.plan.mean_g_per_kwh:.0f} g/kWh",
        f"now:  start at once in {s.baseline.region.region} {_pieces_text(s, s.baseline.now)}: "
        f"{s.now_co2e_kg:.4g} kg CO2e at {s.baseline.now.mean_g_per_kwh:.0f} g/kWh",
        f"saving: {s.saving_kg:.4g} kg CO2e ({100 * s.saving_fraction:.1f} %)",
    ]
    if len(s.regions) > 1:
        for rp in s.regions:
            cost = rp.cost(job)
            money = f", {cost:.2f} {rp.currency}" if cost is not None else ", cost unknown"
            out.append(
                f"  {rp.region.region:<18} best {rp.co2e_kg(job, rp.plan):.4g} kg "
                f"(start {_t(s.time_of(rp.plan.start_h))}){money}"
            )
    cv = c.curve
    if len(cv.values_g_per_kwh) <= MAX_CURVE_HOURS_SHOWN:
        out.append(f"hours in {c.region.region} (UTC, g/kWh; * = planned):")
        out += _curve_rows(s, c)
    out.append(
        f"signal: {cv.signal}, {cv.forecast} ({cv.historical_hours} h historical, "
        f"{cv.assumed_hours} h assumed, {cv.interpolated_hours} h interpolated"
        + (f"; {cv.reference}" if cv.reference else "")
        + ")"
    )
    out.append(f"  basis: {cv.basis}; source: {cv.source}")
    t = trade_off(s)
    if t:
        out.append(f"trade-off: {t}")
    out += [f"note: {w}" for w in s.warnings]
    return out
