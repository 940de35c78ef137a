"""The energy section of the EU AI Act technical documentation of a general-purpose AI model.

Regulation (EU) 2024/1689, Article 53(1)(a) and Annex XI Section 1 point 2: (d) "the
computational resources used to train the model (e.g. number of floating point operations),
training time, and other relevant details related to the training"; (e) "known or estimated
energy consumption of the model" — which "may be based on information about computational
resources used" when unknown. The Commission's Model Documentation Form (GPAI Code of Practice,
Transparency chapter, July 2025) asks for training energy in MWh with its methodology, training
compute in FLOP and training time. Neither text fixes the boundary (devices, facility) nor asks
for emissions: this document gives both energies and both Scope 2 methods, says which is which,
and lists what is not covered, so the provider chooses what to file without rework.

:func:`ai_act_document` builds the JSON form; :func:`render_markdown` the same as Markdown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wattwise.report.disclosures.subject import BOUNDARY_NOTE, Work, total_of

FORMAT_ID = "wattwise-ai-act-energy/1"
LEGAL_BASIS = (
    "Regulation (EU) 2024/1689 (AI Act), Article 53(1)(a), Annex XI Section 1 points 2(d) "
    "(computational resources, training time) and 2(e) (known or estimated energy consumption)"
)
#: Where the meaning of a field is not fixed by the texts: said in the output, not guessed.
UNCERTAIN = (
    "Boundary: neither Annex XI nor the Model Documentation Form says whether training energy "
    "is device (IT) or facility energy; both are given, facility = IT x PUE.",
    "Emissions are not asked for by Annex XI; they are given for the provider's sustainability "
    "reporting (GHG Protocol Scope 2, location- and market-based).",
    "Which runs count as 'training the model' (experiments, ablations, failed runs) is the "
    "provider's call; only the runs listed here are counted.",
    "Field names follow our reading of the Commission's Model Documentation Form (July 2025); "
    "check the wording of the form in force before filing.",
)
#: What no wattwise measurement covers (stated, never silently left out).
NOT_COVERED = (
    "experiments, hyper-parameter searches and failed runs not listed here",
    "data collection, processing and storage",
    "networking and storage devices, and host parts without an energy reading",
    "inference after release, except the measured runs listed under inference",
    "embodied carbon outside the stated boundary (see assumptions)",
)
TRAINING_STAGES = ("pre-training", "fine-tuning", None)


def _mwh(kwh: float) -> float:
    return kwh / 1000.0


def _t(g: float) -> float:
    return g / 1e6


def _work_dict(w: Work) -> dict[str, Any]:
    return {
        "source": w.source,
        "id": w.work_id,
        "name": w.name,
        "stage": w.stage or "not stated",
        "started_at": w.started_at,
        "duration_h": w.duration_s / 3600.0,
        "hardware": w.hardware_text,
        "location": w.location,
        "energy_provenance": w.energy_provenance,
        "method": w.energy_method,
        "it_energy_mwh": _mwh(w.it_energy_kwh),
        "pue": w.pue,
        "facility_energy_mwh": _mwh(w.facility_energy_kwh),
        "compute_flop": w.flops,
        "co2e_location_t": _t(w.co2e_location_g),
        "co2e_market_t": _t(w.co2e_market_g),
        "embodied_co2e_t": _t(w.embodied_co2e_g),
        "offsets_t": None if w.offsets_kg is None else w.offsets_kg / 1000.0,
    }


def _inference(works: Sequence[Work]) -> list[dict[str, Any]]:
    """Energy per request (and per token) of every work that counted requests, with its PUE."""
    out = []
    for w in works:
        per = {u: j for u, j in w.energy_per_unit_j.items() if u in ("requests", "tokens")}
        if not per:
            continue
        out.append(
            {
                "id": w.work_id,
                "name": w.name,
                "energy_provenance": w.energy_provenance,
                "it_energy_per_request_wh": per["requests"] / 3600.0 if "requests" in per else None,
                "it_energy_per_token_wh": per["tokens"] / 3600.0 if "tokens" in per else None,
                "facility_factor_pue": w.pue,
            }
        )
    return out


def ai_act_document(works: Sequence[Work]) -> dict[str, Any]:
    """The energy section as a JSON-ready dict: training total, each work, inference, offsets
    (on their own, never netted), what is not covered and what is uncertain."""
    training = [w for w in works if w.stage in TRAINING_STAGES]
    total = total_of(training) if training else None
    doc: dict[str, Any] = {
        "format": FORMAT_ID,
        "legal_basis": LEGAL_BASIS,
        "training": None,
        "works": [_work_dict(w) for w in works],
        "inference": _inference(works),
        "boundary": BOUNDARY_NOTE,
        "offsets": _offsets(works),
        "not_covered": list(NOT_COVERED),
        "uncertain": [*UNCERTAIN, *_unstated(works)],
        "assumptions": _assumptions(works),
    }
    if total is not None:
        doc["training"] = {
            "energy_facility_mwh": _mwh(total.facility_energy_kwh),
            "energy_it_mwh": _mwh(total.it_energy_kwh),
            "energy_provenance": total.energy_provenance,
            "energy_known_or_estimated": "known (measured)"
            if total.energy_provenance in ("measured", "integrated")
            else "estimated",
            "compute_flop": total.flops,
            "compute_note": None
            if total.flops is not None
            else "not counted: a measured run does not count floating point operations; give "
            "'wattwise estimate train --flops' for an estimate from compute",
            "training_time_h": total.duration_s / 3600.0,
            "hardware": "; ".join(sorted({w.hardware_text for w in training})),
            "works_counted": len(training),
            "co2e_location_t": _t(total.co2e_location_g),
            "co2e_market_t": _t(total.co2e_market_g),
            "embodied_co2e_t": _t(total.embodied_co2e_g),
        }
    return doc


def _unstated(works: Sequence[Work]) -> list[str]:
    n = sum(1 for w in works if w.stage is None)
    if not n:
        return []
    return [f"{n} of {len(works)} runs have no stage (--stage): counted as training"]


def _offsets(works: Sequence[Work]) -> dict[str, Any]:
    declared = [w.offsets_kg for w in works if w.offsets_kg is not None]
    return {
        "t_co2e": sum(declared) / 1000.0 if declared else None,
        "note": "carbon offsets declared by the provider, reported separately: never "
        "subtracted from location- or market-based emissions (GHG Protocol Scope 2 guidance)",
    }


def _assumptions(works: Sequence[Work]) -> list[dict[str, Any]]:
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for w in works:
        for a in w.assumptions:
            key = (a.name, str(a.value))
            if key not in seen and a.name != "it_energy":
                seen[key] = dict(a.to_dict())
    return list(seen.values())


# ----------------------------------------------------------------------------- Markdown


def _num(x: float | None, unit: str = "", digits: int = 4) -> str:
    if x is None:
        return "not available"
    text = f"{x:.{digits}g}"
    if "e" in text:
        mant, exp = text.split("e")
        text = f"{mant} × 10^{int(exp)}"
    return f"{text} {unit}".rstrip()


def render_markdown(works: Sequence[Work]) -> str:
    """The document of :func:`ai_act_document` as Markdown a compliance officer can paste."""
    doc = ai_act_document(works)
    lines = [
        "# Energy consumption of the model (EU AI Act, Annex XI)",
        "",
        f"Legal basis: {doc['legal_basis']}.",
        "",
    ]
    tr = doc["training"]
    if tr is not None:
        lines += [
            "## Training: computational resources and energy (Annex XI 1.2(d), 1.2(e))",
            "",
            "| Field | Value |",
            "|---|---|",
            f"| Training energy, facility (IT × PUE) | {_num(tr['energy_facility_mwh'], 'MWh')} |",
            f"| Training energy, devices (IT) | {_num(tr['energy_it_mwh'], 'MWh')} |",
            f"| Known or estimated | {tr['energy_known_or_estimated']} "
            f"(provenance: {tr['energy_provenance']}) |",
            f"| Training compute | {_num(tr['compute_flop'], 'FLOP')} |",
            f"| Training time | {_num(tr['training_time_h'], 'h')} |",
            f"| Hardware | {tr['hardware']} |",
            f"| Location-based emissions | {_num(tr['co2e_location_t'], 't CO2e')} |",
            f"| Market-based emissions | {_num(tr['co2e_market_t'], 't CO2e')} |",
            f"| Embodied hardware carbon (share) | {_num(tr['embodied_co2e_t'], 't CO2e')} |",
            "",
        ]
        if tr["compute_note"]:
            lines += [f"Training compute: {tr['compute_note']}.", ""]
    lines += _offsets_md(doc["offsets"])
    lines += [
        "## Runs counted",
        "",
        "| Run | Stage | Energy (facility) | Method | Hardware | Duration | Location |",
        "|---|---|---|---|---|---|---|",
    ]
    for w in doc["works"]:
        lines.append(
            f"| {w['name']} (`{w['id'][:12]}`) | {w['stage']} | "
            f"{_num(w['facility_energy_mwh'], 'MWh')} | {w['method']} | {w['hardware']} | "
            f"{_num(w['duration_h'], 'h')} | {w['location']} |"
        )
    lines += ["", f"Boundary: {doc['boundary']}", ""]
    if doc["inference"]:
        lines += ["## Inference (measured)", ""]
        for inf in doc["inference"]:
            lines.append(
                f"- {inf['name']}: {_num(inf['it_energy_per_request_wh'], 'Wh')} per request "
                f"(IT; × PUE {inf['facility_factor_pue']:.3g} for facility), "
                f"{_num(inf['it_energy_per_token_wh'], 'Wh')} per token "
                f"({inf['energy_provenance']})"
            )
        lines.append("")
    lines += ["## Not covered", "", *(f"- {n}" for n in doc["not_covered"]), ""]
    lines += ["## Uncertain", "", *(f"- {n}" for n in doc["uncertain"]), ""]
    lines += ["## Assumptions", "", "| Input | Value | Provenance | Source |", "|---|---|---|---|"]
    for a in doc["assumptions"]:
        lines.append(
            f"| {a['name']} | {a['value']} {a['unit']} | {a['provenance']} | "
            f"{a['source'].replace('|', '/')} |"
        )
    return "\n".join(lines) + "\n"


def _offsets_md(off: dict[str, Any]) -> list[str]:
    amount = "none declared" if off["t_co2e"] is None else _num(off["t_co2e"], "t CO2e")
    return [f"Offsets: {amount} — {off['note']}.", ""]
