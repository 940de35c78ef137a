"""Report sections about what was measured: header, banners, headline cards, power timeline,
energy breakdown, scale and the same run across regions. Each takes the report document (an
audit's, or a plain run's from :mod:`wattwise.report.rundoc`) and the run read back from the
ledger, prepares the values and renders its template (``templates/<section>.html``, escaped
there); the charts come from :mod:`wattwise.report.svg`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from wattwise.core.documents import (
    AuditDocument,
    CostDocument,
    RegionRowDocument,
    ReportDocument,
    ScaleDocument,
    audit_of,
)
from wattwise.core.run import RunResult
from wattwise.report import svg
from wattwise.report.markup import Badge, Cell, assumption, money, num
from wattwise.report.templating import render, trusted
from wattwise.units import format_duration, format_energy, format_mass_g, kwh_to_j


def header_section(doc: ReportDocument, run: RunResult) -> str:
    audit = doc.get("kind", "audit") == "audit"
    return render(
        "header.html",
        heading="Energy, carbon and cost audit" if audit else "Energy, carbon and cost of a run",
        description=doc.get("workload", {}).get("description", ""),
        run_id=run.run_id,
        started=run.started_at[:19].replace("T", " "),
        host=run.host.get("hostname") or run.host.get("node") or "",
        duration=format_duration(run.duration_s),
        status=run.status,
    )


def banners_section(doc: ReportDocument, run: RunResult) -> str:
    code = doc.get("workload", {}).get("exit_code")
    return render(
        "banners.html",
        exit_code=code if isinstance(code, int) and code != 0 else None,
        status=run.status,
        notes=list(doc.get("notes", [])),
    )


def headline_section(doc: ReportDocument, run: RunResult) -> str:
    fp = doc["footprint"]
    audit = audit_of(doc)
    sc = audit.get("scale") if audit else None
    fp_cost = fp.get("cost")
    cost = fp_cost.get("value") if fp_cost else None
    sc_currency = sc.get("currency", "") if sc else ""
    cur = fp_cost.get("currency", sc_currency) if fp_cost else sc_currency
    scale = None
    units = run_units(doc, run)
    if sc is not None:
        y = sc.get("year", {})
        per = sc.get("it_j_per_unit")
        unit = sc.get("unit", "request")
        units = [
            {
                "metric": "it_j_per_unit",
                "value": per if isinstance(per, int | float) else None,
                "unit": unit,
                "provenance": sc.get("provenance"),
                "basis": sc.get("basis", ""),
            }
        ]
        scale = {
            "year_kwh": y.get("facility_energy_kwh"),
            "year_kg": y.get("co2e_location_kg"),
            "year_market_kg": y.get("co2e_market_kg"),
            "year_cost": y.get("cost"),
            "currency": sc.get("currency") or cur,
            "units_per_day": sc.get("units_per_day"),
            "unit": unit,
            "price": _price_of(doc).removesuffix(" · ") or "price",
            "train": sc.get("workload") == "train",
            "runs_per_year": sc.get("runs_per_year"),
        }
    return render(
        "headline.html",
        fp=fp,
        it_j=run.energy.total_j,
        it_provenance=run.energy.label,
        mean_power_w=run.mean_power_w(),
        facility_j=kwh_to_j(fp["facility_energy_kwh"]),
        pue_provenance=assumption(fp, "pue").get("provenance"),
        co2e_shown=format_mass_g(fp["co2e_location_g"]) + " CO2e",
        grid_provenance=assumption(fp, "grid_intensity").get("provenance"),
        grid_year=fp.get("grid_year"),  # absent in footprints stored before it was recorded
        cost=cost,
        currency=cur,
        price_provenance=assumption(fp, "price").get("provenance"),
        price_of=_price_of(doc),
        location=fp.get("location", ""),
        units=units,
        scale=scale,
    )


def run_units(doc: ReportDocument, run: RunResult) -> list[dict[str, Any]]:
    """Energy per counted unit of a plain run: the energy of the windows that counted it."""
    counts = dict(run.counts)
    return [
        {
            "metric": f"it_j_per_{unit.rstrip('s') or unit}",
            "value": j,
            "unit": unit.rstrip("s") or unit,
            "provenance": run.energy.label,
            "basis": f"energy of the windows that counted {num(counts.get(unit))} {unit}",
        }
        for unit, j in run.energy_per().items()
    ]


def timeline_section(doc: ReportDocument, run: RunResult) -> str:
    series: dict[str, list[tuple[float, float]]] = {}
    names = {c.device_id: c.name for c in run.components}
    for s in sorted(run.samples, key=lambda s: s.t_s):
        if s.power_w is not None and math.isfinite(s.power_w):
            series.setdefault(names.get(s.device_id, s.device_id), []).append((s.t_s, s.power_w))
    bands = [(p["start_s"], p["end_s"], p["name"]) for p in doc.get("phases", [])]
    chart = svg.line_chart(
        series,
        title="Power per device over the run",
        x_label="time since start (s)",
        y_label="power (W)",
        bands=bands,
    )
    rows: list[list[Cell]] = [
        [
            str(p["name"]),
            num(p["duration_s"]),
            format_energy(p["energy_j"]),
            Badge(p["provenance"]),
            ", ".join(f"{num(v)} {k}" for k, v in p.get("counts", {}).items()) or "—",
            ", ".join(
                f"{format_energy(v)}/{k.rstrip('s')}" for k, v in p.get("energy_per", {}).items()
            )
            or "—",
        ]
        for p in doc.get("phases", [])
    ]
    phases_of = "workload's" if doc.get("kind", "audit") == "audit" else "run's"
    return render("timeline.html", svg=trusted(chart), rows=rows, phases_of=phases_of)


def breakdown_section(doc: ReportDocument, run: RunResult) -> str:
    parts = [(str(k), float(v)) for k, v in doc.get("breakdown_j", [])]
    chart = svg.stacked_bar(parts, title="Energy breakdown", unit="J", fmt=format_energy)
    rows: list[list[Cell]] = [
        [c.name, c.kind, format_energy(c.energy_j), Badge(c.provenance.value), c.source]
        for c in run.components
    ]
    return render("breakdown.html", svg=trusted(chart), rows=rows)


def scale_section(doc: AuditDocument) -> str:
    sc = doc.get("scale", {})
    cur = sc.get("currency", "")
    rows: list[list[Cell]] = [
        [
            label,
            num(p.get("it_energy_kwh")),
            num(p.get("facility_energy_kwh")),
            num(p.get("co2e_location_kg")),
            num(p.get("co2e_market_kg")),
            money(p.get("cost"), cur),
        ]
        for label, p in _periods(sc)
    ]
    hw_rows: list[list[Cell]] = [
        [
            str(h["name"]),
            num(h["wh_per_request"]),
            num(h.get("year_busy_facility_kwh")),
            num(h["year_facility_kwh"]),
            f"{num(h['year_facility_kwh_low'])}–{num(h['year_facility_kwh_high'])}",
            num(h["year_co2e_kg"]),
            money(h.get("year_cost"), cur),
            Badge("estimated"),
        ]
        for h in doc.get("hardware", [])
    ]
    tok = sc.get("it_j_per_token")
    return render(
        "scale.html",
        train=sc.get("workload") == "train",
        runs_per_year=sc.get("runs_per_year"),
        runs_per_year_basis=sc.get("runs_per_year_basis", ""),
        per=[
            {"unit": u, "count": p.get("count"), "it_j": p.get("it_j"), "basis": p.get("basis")}
            for u, p in (sc.get("per") or {}).items()
        ],
        units_per_day=sc.get("units_per_day"),
        unit=sc.get("unit", "request"),
        per_unit=sc.get("it_j_per_unit") or 0,
        per_token=tok if isinstance(tok, int | float) else None,
        provenance=sc.get("provenance"),
        rows=rows,
        hw_rows=hw_rows,
        hardware_note=doc.get("hardware_note") or "no hardware comparison",
    )


def regions_section(doc: AuditDocument) -> str:
    reg = doc.get("regions", {})
    rows = reg.get("chart", [])
    carbon = svg.bar_chart(
        [
            svg.Bar(
                ("▶ " if r.get("current") else "") + str(r.get("name") or r["key"]),
                r["co2e_location_g"],
                "g",
                bool(r.get("current")),
            )
            for r in rows
        ],
        title="Carbon of this run across regions",
        unit="gCO2e (location-based)",
    )
    costed = [(r, c) for r in rows if (c := _cost(r))]
    cost_svg, same_basis = None, None
    if costed:
        # One axis, one currency: the run's own, else the most common (tariffs not converted).
        own = _cost(reg.get("current"))
        names = [c["currency"] for _, c in costed]
        currency = (own.get("currency") if own else None) or max(set(names), key=names.count)
        costed = [(r, c) for r, c in costed if c["currency"] == currency]
        cost_svg = trusted(
            svg.bar_chart(
                [
                    svg.Bar(
                        str(r.get("name") or r["key"]),
                        c["value"],
                        c["currency"] + _basis(r),
                        bool(r.get("current")),
                    )
                    for r, c in costed
                ],
                title="Electricity cost of this run across regions",
                unit=f"cost ({currency}; each price labelled by what it is)",
            )
        )
        bases = {r.get("price_basis") for r, _ in costed}
        if len(bases) == 1 and None not in bases and "" not in bases:
            same_basis = bases.pop()
    table_rows: list[list[Cell]] = [
        [
            str(r.get("name") or r["key"]),
            num(r["intensity_g_per_kwh"]),
            _year_of(r),
            num(r["pue"]),
            num(r["co2e_location_g"]),
            num(r["co2e_market_g"]),
            _money_of(r) + _basis(r),
        ]
        for r in rows
    ]
    return render(
        "regions.html",
        carbon_svg=trusted(carbon),
        scope=reg.get("scope", ""),
        cost_svg=cost_svg,
        same_basis=same_basis,
        rows=table_rows,
    )


def _year_of(row: RegionRowDocument) -> str:
    """A region row's grid-factor year; "not stated" when the source gives none, "" for a row
    stored before the year was recorded."""
    if "year" not in row:
        return ""
    year = row["year"]
    return str(year) if year is not None else "not stated"


def _price_of(doc: ReportDocument) -> str:
    """'EU average price · ' when the run's own price is that; empty when it is not known."""
    audit = audit_of(doc)
    current = audit.get("regions", {}).get("current") if audit else None
    basis = _basis(current or {}).strip(" ()")
    return f"{basis} price · " if basis else ""


def _cost(row: RegionRowDocument | None) -> CostDocument | None:
    """A region row's cost; None when no price is known (or no row)."""
    return row.get("cost") if row else None


def _money_of(row: RegionRowDocument) -> str:
    """A region row's cost for people (``unknown — give --price`` when none is known)."""
    c = _cost(row)
    return money(c.get("value") if c else None, c.get("currency", "") if c else "")


def _basis(row: RegionRowDocument | Mapping[str, object]) -> str:
    """' (EU average)' etc.: what a row's price is; empty when no price is known."""
    basis = row.get("price_basis")
    return f" ({basis})" if basis and row.get("cost") else ""


def _periods(sc: ScaleDocument) -> list[tuple[str, Mapping[str, object]]]:
    """The scale table's rows: per day and per year for serving; per training run and per year
    (``runs_per_year`` runs) for training (issue 11 B12: a training run is not a request)."""
    if sc.get("workload") == "train":
        return [("per training run", sc.get("run", {})), ("per year", sc.get("year", {}))]
    return [("per day", sc.get("day", {})), ("per year", sc.get("year", {}))]
