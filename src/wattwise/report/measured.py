"""Report sections about what was measured: header, banners, headline cards, power timeline,
energy breakdown, scale and the same run across regions. Each takes the audit document (and
the run read back from the ledger) and returns HTML."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from wattwise.report import svg
from wattwise.report.markup import (
    assumption,
    badge,
    card,
    e,
    money,
    num,
    scroll_chart,
    table,
)
from wattwise.units import format_duration, format_energy, format_mass_g, kwh_to_j


def header_section(doc: Mapping[str, Any], run: Any) -> str:
    wl = doc.get("workload", {})
    host = run.host.get("hostname") or run.host.get("node") or ""
    return (
        "<header class='top'><div class='in'><h1>Energy, carbon and cost audit</h1>"
        f"<p>{e(wl.get('description', ''))}</p>"
        f"<p>run <code style='background:#ffffff22;color:#fff'>{e(run.run_id)}</code> · "
        f"{e(run.started_at[:19].replace('T', ' '))} UTC · {e(host)} · "
        f"{e(format_duration(run.duration_s))} · status {e(run.status)}</p></div></header>"
    )


def banners_section(doc: Mapping[str, Any], run: Any) -> str:
    out = []
    wl = doc.get("workload", {})
    code = wl.get("exit_code")
    if isinstance(code, int) and code != 0:
        out.append(
            f"<div class='banner fail' data-exit-code='{code}'><b>The command failed with exit "
            f"code {code}.</b> The figures below cover what was measured until it stopped; the "
            "run is in the ledger with status "
            f"<code>{e(run.status)}</code>.</div>"
        )
    for n in doc.get("notes", []):
        out.append(f"<div class='banner warn'>{e(n)}</div>")
    return "".join(out)


def headline_section(doc: Mapping[str, Any], run: Any) -> str:
    fp = doc["footprint"]
    sc = doc.get("scale", {})
    y = sc.get("year", {})
    cur = (fp.get("cost") or {}).get("currency", sc.get("currency", ""))
    pue_a = assumption(fp, "pue")
    grid_a = assumption(fp, "grid_intensity")
    price_a = assumption(fp, "price")
    e_j = run.energy.total_j
    cards = [
        card(
            "it_energy_j",
            e_j,
            "IT energy of the run",
            e(format_energy(e_j)),
            f"{badge(run.energy.label)} mean {num(run.mean_power_w())} W",
        ),
        card(
            "facility_energy_kwh",
            fp["facility_energy_kwh"],
            "Facility energy",
            e(format_energy(kwh_to_j(fp["facility_energy_kwh"]))),
            f"PUE {num(fp['pue'])} {badge(pue_a.get('provenance'))}",
        ),
        card(
            "co2e_location_g",
            fp["co2e_location_g"],
            "Carbon, location-based",
            e(format_mass_g(fp["co2e_location_g"])) + " CO2e",
            f"{num(fp['intensity_g_per_kwh'])} g/kWh {badge(grid_a.get('provenance'))}",
        ),
        card(
            "cost",
            (fp.get("cost") or {}).get("value"),
            "Electricity cost",
            money((fp.get("cost") or {}).get("value"), cur),
            f"{badge(price_a.get('provenance'))} "
            + e(_price_of(doc))
            + f"{e(fp.get('location', ''))}",
        ),
    ]
    unit = sc.get("unit", "request")
    per = sc.get("it_j_per_unit")
    cards += [
        card(
            "it_j_per_unit",
            per,
            f"IT energy per {unit}",
            e(format_energy(per)) if isinstance(per, float | int) else "—",
            f"{badge(sc.get('provenance'))} {e(sc.get('basis', ''))}",
        ),
        card(
            "year_facility_kwh",
            y.get("facility_energy_kwh"),
            "Per year at scale",
            f"{num(y.get('facility_energy_kwh'))} kWh",
            f"{num(sc.get('units_per_day'))} {e(unit)}s/day, facility energy",
        ),
        card(
            "year_co2e_kg",
            y.get("co2e_location_kg"),
            "Carbon per year",
            f"{num(y.get('co2e_location_kg'))} kg CO2e",
            f"market-based {num(y.get('co2e_market_kg'))} kg",
        ),
        card(
            "year_cost",
            y.get("cost"),
            "Cost per year",
            money(y.get("cost"), sc.get("currency") or cur),
            "facility energy × " + e(_price_of(doc).removesuffix(" · ") or "price"),
        ),
    ]
    return f"<div class='cards' id='headline'>{''.join(cards)}</div>"


def timeline_section(doc: Mapping[str, Any], run: Any) -> str:
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
    rows = [
        [
            e(p["name"]),
            num(p["duration_s"]),
            e(format_energy(p["energy_j"])),
            badge(p["provenance"]),
            e(", ".join(f"{num(v)} {k}" for k, v in p.get("counts", {}).items()) or "—"),
            e(
                ", ".join(
                    f"{format_energy(v)}/{k.rstrip('s')}"
                    for k, v in p.get("energy_per", {}).items()
                )
                or "—"
            ),
        ]
        for p in doc.get("phases", [])
    ]
    return (
        "<section id='timeline'><h2>Power timeline</h2>"
        f"<figure id='plot-timeline'>{scroll_chart(chart)}<figcaption>Power of each device "
        "sampled every ~0.5 s; shaded bands are the workload's phases (tracker windows). "
        "Energy of a phase is the difference of energy readings at its boundaries."
        "</figcaption></figure>"
        + table(["phase", "seconds", "energy", "provenance", "counted", "per unit"], rows, [1, 2])
        + "</section>"
    )


def breakdown_section(doc: Mapping[str, Any], run: Any) -> str:
    parts = [(str(k), float(v)) for k, v in doc.get("breakdown_j", [])]
    chart = svg.stacked_bar(parts, title="Energy breakdown", unit="J", fmt=format_energy)
    comps = [
        [e(c.name), e(c.kind), e(format_energy(c.energy_j)), badge(c.provenance.value), e(c.source)]
        for c in run.components
    ]
    return (
        "<section id='breakdown'><h2>Energy breakdown</h2>"
        f"<figure id='plot-breakdown'>{scroll_chart(chart)}<figcaption>IT energy by part plus the "
        "facility overhead (IT energy × (PUE − 1)).</figcaption></figure>"
        + table(["device", "kind", "energy", "provenance", "source"], comps, [2])
        + "</section>"
    )


def scale_section(doc: Mapping[str, Any]) -> str:
    sc = doc.get("scale", {})
    cur = sc.get("currency", "")
    rows = []
    for label, p in (("per day", sc.get("day", {})), ("per year", sc.get("year", {}))):
        rows.append(
            [
                label,
                num(p.get("it_energy_kwh")),
                num(p.get("facility_energy_kwh")),
                num(p.get("co2e_location_kg")),
                num(p.get("co2e_market_kg")),
                money(p.get("cost"), cur),
            ]
        )
    hw = doc.get("hardware", [])
    hw_rows = [
        [
            e(h["name"]),
            num(h["wh_per_request"]),
            num(h.get("year_busy_facility_kwh")),
            num(h["year_facility_kwh"]),
            f"{num(h['year_facility_kwh_low'])}–{num(h['year_facility_kwh_high'])}",
            num(h["year_co2e_kg"]),
            money(h.get("year_cost"), cur),
            badge("estimated"),
        ]
        for h in hw
    ]
    tok = sc.get("it_j_per_token")
    per_tok = (
        f", {e(format_energy(tok))} per generated token" if isinstance(tok, float | int) else ""
    )
    hw_html = (
        "<h3>The same requests on other hardware</h3>"
        "<p class='note'>From the wattwise estimator (memory-bound decode model, batch 1, one "
        "chip, fp32 weights): <b>estimated</b>, not measured. <i>busy</i>: energy while serving "
        "only; <i>always on</i>: one chip provisioned around the clock, idle power included "
        "(the figure recommendations use).</p>"
        + table(
            [
                "hardware",
                "Wh/request",
                "kWh/year busy",
                "kWh/year always on",
                "range",
                "kgCO2e/year",
                "cost/year",
                "",
            ],
            hw_rows,
            [1, 2, 3, 5, 6],
        )
        if hw
        else f"<p class='note'>{e(doc.get('hardware_note') or 'no hardware comparison')}</p>"
    )
    return (
        "<section id='scale'><h2>At your scale</h2>"
        f"<p>{num(sc.get('units_per_day'))} {e(sc.get('unit', 'request'))}s per day × "
        f"{e(format_energy(sc.get('it_j_per_unit') or 0))} IT energy per {e(sc.get('unit'))}"
        f"{per_tok} {badge(sc.get('provenance'))}; accounted in the same context.</p>"
        + table(
            ["period", "IT kWh", "facility kWh", "kgCO2e (location)", "kgCO2e (market)", "cost"],
            rows,
            [1, 2, 3, 4, 5],
        )
        + hw_html
        + "</section>"
    )


def regions_section(doc: Mapping[str, Any]) -> str:
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
    costed = [r for r in rows if r.get("cost")]
    cost_html = ""
    if costed:
        # One axis, one currency: the run's own, else the most common (tariffs not converted).
        own = (reg.get("current") or {}).get("cost") or {}
        names = [r["cost"]["currency"] for r in costed]
        currency = own.get("currency") or max(set(names), key=names.count)
        costed = [r for r in costed if r["cost"]["currency"] == currency]
        currencies = {currency}
        cost_chart = svg.bar_chart(
            [
                svg.Bar(
                    str(r.get("name") or r["key"]),
                    r["cost"]["value"],
                    r["cost"]["currency"] + _basis(r),
                    bool(r.get("current")),
                )
                for r in costed
            ],
            title="Electricity cost of this run across regions",
            unit="cost (" + ", ".join(sorted(currencies)) + "; each price labelled by what it is)",
        )
        bases = {r.get("price_basis") for r in costed}
        same = (
            f"<figcaption>Every price here is the {e(bases.pop())}: the bars differ only by "
            "PUE.</figcaption>"
            if len(bases) == 1 and None not in bases and "" not in bases
            else ""
        )
        cost_html = f"<figure id='plot-region-cost'>{scroll_chart(cost_chart)}{same}</figure>"
    table_rows = [
        [
            e(r.get("name") or r["key"]),
            num(r["intensity_g_per_kwh"]),
            num(r["pue"]),
            num(r["co2e_location_g"]),
            num(r["co2e_market_g"]),
            money((r.get("cost") or {}).get("value"), (r.get("cost") or {}).get("currency", ""))
            + e(_basis(r)),
        ]
        for r in rows
    ]
    return (
        "<section id='regions'><h2>The same run across regions</h2>"
        f"<figure id='plot-regions'>{scroll_chart(carbon)}<figcaption>The run's own place "
        f"(bold), the five cleanest places within reach ({e(reg.get('scope', ''))}) and "
        "reference countries. Cloud rows use their provider's PUE unless you gave one."
        "</figcaption></figure>"
        + cost_html
        + table(
            ["place", "gCO2e/kWh", "PUE", "gCO2e", "gCO2e market", "cost"],
            table_rows,
            [1, 2, 3, 4, 5],
        )
        + "</section>"
    )


def _price_of(doc: Mapping[str, Any]) -> str:
    """'EU average price · ' when the run's own price is that; empty when it is not known."""
    basis = _basis(doc.get("regions", {}).get("current") or {}).strip(" ()")
    return f"{basis} price · " if basis else ""


def _basis(row: Mapping[str, Any]) -> str:
    """' (EU average)' etc.: what a row's price is; empty when no price is known."""
    basis = row.get("price_basis")
    return f" ({basis})" if basis and row.get("cost") else ""
