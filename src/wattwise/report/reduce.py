"""Report sections about reducing the footprint: the optimisation lab, what-ifs, the ranked
recommendations (each saving after the ones above it) and SCI. Each takes the audit document
and returns HTML."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import quoteattr

from wattwise.report import svg
from wattwise.report.markup import badge, e, money, num, scroll_chart, table
from wattwise.units import format_energy


def lab_section(doc: Mapping[str, Any]) -> str:
    lab = doc.get("lab")
    if not lab:
        note = doc.get("lab_note") or "optimisation lab not run"
        chart = svg.scatter_chart(
            [], title="Energy per token vs perplexity", x_label="mJ/token", y_label="perplexity"
        )
        return (
            "<section id='optimisation'><h2>Optimisation lab</h2>"
            f"<div class='banner warn' id='lab-skipped'>{e(note)}</div>"
            f"<figure id='plot-pareto'>{scroll_chart(chart)}</figure></section>"
        )
    vs = lab.get("variants", [])
    chart = svg.pareto_chart(lab)
    caption = svg.scatter_caption(svg.pareto_points(lab))
    rows = [
        [
            e(v["name"]) + (" <b>★</b>" if v.get("recommended") else ""),
            num((v.get("j_per_token") or math.nan) * 1e3),
            num((v.get("j_per_token_batch") or math.nan) * 1e3),
            num(v.get("perplexity")),
            num(v.get("tokens_per_s")),
            num((v.get("size_bytes") or 0) / 1e6),
            e(format_energy(v.get("optimisation_energy_j") or 0)),
            "yes" if v.get("pareto") else "",
            _same_text(v),
            badge(v.get("provenance")),
        ]
        for v in vs
    ]
    skipped = "".join(
        f"<li>{e(s['technique'])}: {e(s['reason'])}</li>" for s in lab.get("skipped", [])
    )
    notes = "".join(f"<li>{e(n)}</li>" for n in lab.get("notes", []))
    rec = lab.get("recommended")
    return (
        "<section id='optimisation'><h2>Optimisation lab</h2>"
        f"<p>Model <code>{e(lab.get('model'))}</code>, budget "
        f"{num(lab['settings'].get('budget_s'))} s "
        f"of training, tolerance {lab.get('tolerance', 0):.0%} perplexity. Recommended: "
        f"<b>{e(rec or 'none (no variant within tolerance)')}</b>.</p>"
        f"<figure id='plot-pareto'>{scroll_chart(chart)}<figcaption>Every variant measured the "
        f"same way (median of interleaved rounds); {e(caption[0].lower() + caption[1:])}"
        "</figcaption></figure>"
        + table(
            [
                "variant",
                "mJ/token b1",
                f"mJ/token b{lab['settings'].get('batch_size', '')}",
                "perplexity",
                "tokens/s",
                "MB",
                "optimisation energy",
                "Pareto",
                "baseline's text",
                "",
            ],
            rows,
            [1, 2, 3, 4, 5, 6],
        )
        + (f"<h3>Skipped</h3><ul class='note'>{skipped}</ul>" if skipped else "")
        + (f"<ul class='note'>{notes}</ul>" if notes else "")
        + "</section>"
    )


def _same_text(v: Mapping[str, Any]) -> str:
    """'k/n': of n lab prompts, k continued with exactly the baseline's greedy tokens."""
    k, n = v.get("greedy_equal"), v.get("greedy_prompts")
    return f"{k}/{n}" if isinstance(k, int) and n else "–"


def whatifs_section(doc: Mapping[str, Any]) -> str:
    w = doc.get("whatifs", {})
    cur = doc.get("scale", {}).get("currency", "")
    pue_rows = [
        [
            e(r["setting"]),
            num(r["pue"]),
            num(r["facility_energy_kwh"]),
            num(r["co2e_location_kg"]),
            money(r.get("cost"), cur),
        ]
        for r in w.get("pue", [])
    ]
    power_rows = [
        [
            e(r["setting"]),
            num(r["j_per_token"] * 1e3),
            num(r.get("tokens_per_s")),
            f"{r['relative']:.0%}",
            num(r["year_facility_kwh"]),
            badge(r.get("provenance")),
        ]
        for r in w.get("power", [])
    ]
    power = (
        table(
            ["setting", "mJ/token", "tokens/s", "energy vs as served", "kWh/year", ""],
            power_rows,
            [1, 2, 3, 4],
        )
        if power_rows
        else "<p class='note'>No serving settings measured (the optimisation lab did not run).</p>"
    )
    return (
        "<section id='whatifs'><h2>What-ifs</h2><h3>Facility: PUE by cooling type, one year at "
        "scale</h3>"
        + table(
            ["facility", "PUE", "facility kWh/year", "kgCO2e/year", "cost/year"],
            pue_rows,
            [1, 2, 3, 4],
        )
        + "<h3>Power and serving settings (measured by the lab)</h3>"
        + power
        + "</section>"
    )


def _saving_text(r: Mapping[str, Any], prefix: str) -> str:
    """'1.2 kWh facility energy, 3 kgCO2e and 4 EUR' from ``{prefix}_*_per_year`` keys."""
    m = r.get(f"{prefix}_money_per_year")
    cur = r.get("currency") or ""
    return (
        f"{num(r.get(f'{prefix}_kwh_per_year'))} kWh facility energy, "
        f"{num(r.get(f'{prefix}_kg_per_year'))} kgCO2e"
        + (f" and {money(m, cur)}" if isinstance(m, int | float) else "")
    )


def recommendations_section(doc: Mapping[str, Any]) -> str:
    items = []
    recs = doc.get("recommendations", [])
    for i, r in enumerate(recs):
        if r.get("saving_kg_per_year") is None and r.get("saving_kwh_per_year") is None:
            saving = "saving not quantified"
        else:
            after = int(r.get("after") or 0)
            once = f" once {'#1 is' if after == 1 else f'#1–#{after} are'} done" if after else ""
            if after and _nothing_more(r):
                saving = f"saves nothing more{once}"
            else:
                saving = (
                    "saves " + _saving_text(r, "saving") + " per year" + once + _no_money(r, doc)
                )
            if after and r.get("alone_kg_per_year") is not None:
                saving += f" (alone: {_saving_text(r, 'alone')})"
        kg = r.get("saving_kg_per_year")
        items.append(
            f"<li class='rec' data-rank='{i + 1}' data-rule={quoteattr(r['rule'])} "
            f"data-saving-kg='{kg if isinstance(kg, int | float) else ''}' "
            f"data-saving-kwh='{_attr_num(r.get('saving_kwh_per_year'))}'>"
            f"<b>{e(r['title'])}</b> {badge(r.get('provenance'))}<br>{e(r['action'])}<br>"
            f"<span class='saving'>{saving}</span><br><span class='note'>Evidence: "
            f"{e(r['evidence'])}<br>Cost: {e(r['cost'])}</span></li>"
        )
    body = "".join(items) or "<li>No action is called for by the measured figures.</li>"
    quantified = [r for r in recs if isinstance(r.get("saving_kg_per_year"), int | float)]
    total = ""
    if len(quantified) > 1:
        kg = sum(r["saving_kg_per_year"] for r in quantified)
        kwh = sum(r.get("saving_kwh_per_year") or 0.0 for r in quantified)
        year = (doc.get("scale") or {}).get("year") or {}
        base = year.get("co2e_location_kg") or None
        pct = f"{kg / base:.1%}" if isinstance(base, float) and kg / base > 0.99 else ""
        pct = pct or (f"{kg / base:.0%}" if isinstance(base, float) else "")
        share = f" ({pct} of the yearly carbon)" if pct else ""
        total = (
            f"<p id='recs-total' data-saving-kg='{kg:.9g}' data-saving-kwh='{kwh:.9g}'>All "
            f"{len(quantified)} quantified actions together: {num(kwh)} kWh facility energy "
            f"and {num(kg)} kgCO2e per year{share}.</p>"
        )
    return (
        "<section id='recommendations'><h2>Recommendations</h2><p class='note'>Ranked by the "
        "yearly carbon saving at your scale, then facility energy, each counted after the "
        "actions above it (one baseline, actions applied in sequence: the savings add up); "
        "actions whose saving cannot be quantified come last.</p>"
        f"<ol class='recs'>{body}</ol>{total}</section>"
    )


def _nothing_more(r: Mapping[str, Any]) -> bool:
    """True when an action adds (almost) nothing after the ones above it (< 0.5 % of alone)."""
    kg, alone = r.get("saving_kg_per_year") or 0.0, r.get("alone_kg_per_year") or 0.0
    kwh, alone_kwh = r.get("saving_kwh_per_year") or 0.0, r.get("alone_kwh_per_year") or 0.0
    return bool(abs(kg) <= 0.005 * abs(alone) and abs(kwh) <= 0.005 * abs(alone_kwh))


def _no_money(r: Mapping[str, Any], doc: Mapping[str, Any]) -> str:
    """Why a quantified saving has no money figure ("" when it has one)."""
    if isinstance(r.get("saving_money_per_year"), int | float):
        return ""
    if isinstance(r.get("alone_money_per_year"), int | float):
        return " (money: not known once the actions above are done: no price for that place)"
    if isinstance((doc.get("scale") or {}).get("price_per_kwh"), int | float):
        return " (money: no published price for that place)"
    return " (money: no price known, give --price)"


def _attr_num(x: Any) -> str:
    return f"{float(x):.9g}" if isinstance(x, int | float) else ""


def sci_section(doc: Mapping[str, Any]) -> str:
    fp = doc["footprint"]
    rows = [[e(k), num(v, 4)] for k, v in fp.get("sci_g_per_unit", {}).items()]
    return (
        "<section id='sci'><h2>Software Carbon Intensity (SCI)</h2>"
        "<p>ISO/IEC 21031:2024: SCI = (E × I + M) / R — facility energy E, location-based grid "
        f"intensity I ({num(fp['intensity_g_per_kwh'])} gCO2e/kWh), embodied share M "
        f"({num(fp['embodied_co2e_g'])} g) per functional unit R.</p>"
        + table(["functional unit R", "gCO2e per unit"], rows, [1])
        + "</section>"
    )
