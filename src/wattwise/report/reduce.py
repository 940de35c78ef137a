"""Report sections about reducing the footprint: the optimisation lab, what-ifs, the ranked
recommendations (each saving after the ones above it) and SCI. Each takes the audit document,
prepares the values and renders its template (``templates/<section>.html``, escaped there)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from wattwise.core.documents import AuditDocument, RecommendationDocument, ReportDocument
from wattwise.report import svg
from wattwise.report.markup import Badge, Cell, attr_num, money, num
from wattwise.report.templating import render, trusted
from wattwise.units import format_energy


def lab_section(doc: AuditDocument) -> str:
    lab = doc.get("lab")
    if not lab:
        chart = svg.scatter_chart(
            [], title="Energy per token vs perplexity", x_label="mJ/token", y_label="perplexity"
        )
        note = doc.get("lab_note") or "optimisation lab not run"
        return render("lab.html", skipped_note=note, svg=trusted(chart))
    caption = svg.scatter_caption(svg.pareto_points(lab))
    rows: list[list[Cell]] = [
        [
            str(v["name"]) + (" ★" if v.get("recommended") else ""),
            num((v.get("j_per_token") or math.nan) * 1e3),
            num((v.get("j_per_token_batch") or math.nan) * 1e3),
            num(v.get("perplexity")),
            num(v.get("tokens_per_s")),
            num((v.get("size_bytes") or 0) / 1e6),
            format_energy(v.get("optimisation_energy_j") or 0),
            "yes" if v.get("pareto") else "",
            _same_text(v),
            Badge(v.get("provenance")),
        ]
        for v in lab.get("variants", [])
    ]
    return render(
        "lab.html",
        skipped_note=None,
        svg=trusted(svg.pareto_chart(lab)),
        model=lab.get("model"),
        budget_s=lab["settings"].get("budget_s"),
        tolerance=lab.get("tolerance", 0),
        recommended=lab.get("recommended") or "none (no variant within tolerance)",
        caption=caption[0].lower() + caption[1:],
        batch_size=lab["settings"].get("batch_size", ""),
        rows=rows,
        skipped=list(lab.get("skipped", [])),
        notes=list(lab.get("notes", [])),
    )


def _same_text(v: Mapping[str, Any]) -> str:
    """'k/n': of n lab prompts, k continued with exactly the baseline's greedy tokens."""
    k, n = v.get("greedy_equal"), v.get("greedy_prompts")
    return f"{k}/{n}" if isinstance(k, int) and n else "–"


def whatifs_section(doc: AuditDocument) -> str:
    w = doc.get("whatifs", {})
    cur = doc.get("scale", {}).get("currency", "")
    pue_rows: list[list[Cell]] = [
        [
            str(r["setting"]),
            num(r["pue"]),
            num(r["facility_energy_kwh"]),
            num(r["co2e_location_kg"]),
            money(r.get("cost"), cur),
        ]
        for r in w.get("pue", [])
    ]
    power_rows: list[list[Cell]] = [
        [
            str(r["setting"]),
            num(r["j_per_token"] * 1e3),
            num(r.get("tokens_per_s")),
            f"{r['relative']:.0%}",
            num(r["year_facility_kwh"]),
            Badge(r.get("provenance")),
        ]
        for r in w.get("power", [])
    ]
    return render("whatifs.html", pue_rows=pue_rows, power_rows=power_rows)


def _saving_text(r: RecommendationDocument, prefix: str) -> str:
    """'1.2 kWh facility energy, 3 kgCO2e and 4 EUR' from ``{prefix}_*_per_year`` keys."""
    m = r.get(f"{prefix}_money_per_year")
    cur = r.get("currency") or ""
    return (
        f"{num(r.get(f'{prefix}_kwh_per_year'))} kWh facility energy, "
        f"{num(r.get(f'{prefix}_kg_per_year'))} kgCO2e"
        + (f" and {money(m, cur)}" if isinstance(m, int | float) else "")
    )


def _saving(r: RecommendationDocument, doc: AuditDocument) -> str:
    """What an action saves, after the actions above it (and alone, when there are some)."""
    if r.get("saving_kg_per_year") is None and r.get("saving_kwh_per_year") is None:
        return "saving not quantified"
    after = int(r.get("after") or 0)
    once = f" once {'#1 is' if after == 1 else f'#1–#{after} are'} done" if after else ""
    if after and _nothing_more(r):
        saving = f"saves nothing more{once}"
    else:
        saving = "saves " + _saving_text(r, "saving") + " per year" + once + _no_money(r, doc)
    if after and r.get("alone_kg_per_year") is not None:
        saving += f" (alone: {_saving_text(r, 'alone')})"
    return saving


def recommendations_section(doc: AuditDocument) -> str:
    recs = doc.get("recommendations", [])
    items = [
        {
            "rule": r["rule"],
            "kg": attr_num(r.get("saving_kg_per_year")),
            "kwh": attr_num(r.get("saving_kwh_per_year")),
            "title": r["title"],
            "provenance": r.get("provenance"),
            "action": r["action"],
            "saving": _saving(r, doc),
            "evidence": r["evidence"],
            "cost": r["cost"],
        }
        for r in recs
    ]
    quantified = [r for r in recs if isinstance(r.get("saving_kg_per_year"), int | float)]
    total = None
    if len(quantified) > 1:
        kg = sum(r["saving_kg_per_year"] or 0.0 for r in quantified)
        kwh = sum(r.get("saving_kwh_per_year") or 0.0 for r in quantified)
        year = (doc.get("scale") or {}).get("year") or {}
        base = year.get("co2e_location_kg") or None
        pct = f"{kg / base:.1%}" if isinstance(base, float) and kg / base > 0.99 else ""
        pct = pct or (f"{kg / base:.0%}" if isinstance(base, float) else "")
        total = {
            "n": len(quantified),
            "kg": kg,
            "kwh": kwh,
            "kg_attr": f"{kg:.9g}",
            "kwh_attr": f"{kwh:.9g}",
            "share": f" ({pct} of the yearly carbon)" if pct else "",
        }
    return render("recommendations.html", items=items, total=total)


def _nothing_more(r: RecommendationDocument) -> bool:
    """True when an action adds (almost) nothing after the ones above it (< 0.5 % of alone)."""
    kg, alone = r.get("saving_kg_per_year") or 0.0, r.get("alone_kg_per_year") or 0.0
    kwh, alone_kwh = r.get("saving_kwh_per_year") or 0.0, r.get("alone_kwh_per_year") or 0.0
    return bool(abs(kg) <= 0.005 * abs(alone) and abs(kwh) <= 0.005 * abs(alone_kwh))


def _no_money(r: RecommendationDocument, doc: AuditDocument) -> str:
    """Why a quantified saving has no money figure ("" when it has one)."""
    if isinstance(r.get("saving_money_per_year"), int | float):
        return ""
    if isinstance(r.get("alone_money_per_year"), int | float):
        return " (money: not known once the actions above are done: no price for that place)"
    if isinstance((doc.get("scale") or {}).get("price_per_kwh"), int | float):
        return " (money: no published price for that place)"
    return " (money: no price known, give --price)"


def sci_section(doc: ReportDocument) -> str:
    fp = doc["footprint"]
    rows: list[list[Cell]] = [[str(k), num(v, 4)] for k, v in fp.get("sci_g_per_unit", {}).items()]
    return render(
        "sci.html",
        intensity=fp["intensity_g_per_kwh"],
        embodied_g=fp["embodied_co2e_g"],
        rows=rows,
    )
