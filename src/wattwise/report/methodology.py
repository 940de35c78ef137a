"""The report's methodology appendix: how each figure is computed, every assumption with its
provenance and source, the energy readers used and every shipped data table (source, year,
licence) from :func:`wattwise.data.data_catalog`."""

from __future__ import annotations

from typing import Any

from wattwise.core.documents import AuditDocument, ReportDocument, audit_of
from wattwise.core.run import RunResult
from wattwise.report.markup import Badge, Cell, num
from wattwise.report.templating import render

FORMULAS = (
    "IT energy: the sum of the devices' energy over the run — differences of hardware counters "
    "(measured), integrated power samples (integrated) or a power model (estimated).",
    "Facility energy = IT energy × PUE.",
    "Location-based CO2e = facility energy × grid intensity of the place; market-based CO2e "
    "(GHG Protocol Scope 2) = facility energy × supplier factor, or location-based × (1 − "
    "carbon-free fraction).",
    "Cost = facility energy × electricity price; water = IT energy × site WUE.",
    "Embodied CO2e = devices × embodied kg × run time / lifetime (boundary stated).",
    "SCI = (E × I + M) / R per functional unit (ISO/IEC 21031:2024).",
    "Scale: IT energy per request (the 'generate' phase / requests) × requests per day; a year "
    "is 365.25 days; accounted with the same context as the run.",
    "Other hardware: wattwise estimator, memory-bound decode (weights read per token at the "
    "chip's bandwidth × efficiency, power = idle + (TDP − idle) × load, host share) — estimated.",
    "Pareto frontier of the optimisation lab: a variant is on it unless another is no worse "
    "beyond the noise bands (5 % energy per token, 0.5 % perplexity) on both axes and better "
    "beyond them on one; differences within noise decide nothing.",
    "Savings of a recommendation: each action is an effect on the yearly site at scale (IT "
    "energy × a measured or estimated factor; a new PUE, grid intensity or price). Actions are "
    "ranked and applied in sequence against one baseline, so each saving is what the action "
    "adds after those above it (its saving alone is shown beside it) and the savings add up; "
    "IT-energy factors of different actions are assumed to multiply.",
)

#: A plain run's report (no scale, lab or recommendations): the accounting formulas and energy
#: per unit.
RUN_FORMULAS = (
    *FORMULAS[:6],
    "Energy per unit (token, request, ...): the IT energy of the windows in which that unit was "
    "counted, over its count (the whole run's energy when it was counted outside any window).",
)

BADGES = (
    ("measured", "a hardware energy counter;"),
    ("integrated", "power samples integrated by wattwise;"),
    ("estimated", "a model or a reference table's figure for what you named;"),
    ("assumed", "a default you did not set;"),
    ("given", "a value you gave (shown as given by you)."),
)


def _model_facts(audit: AuditDocument | None) -> dict[str, Any]:
    """The built-in model's facts of an audit; empty for a command or a plain run."""
    return (audit.get("workload", {}).get("model") or {}) if audit else {}


def methodology_html(doc: ReportDocument, run: RunResult) -> str:
    """The appendix section (HTML rendered from ``templates/methodology.html``)."""
    from wattwise.data import data_catalog

    fp = doc.get("footprint", {})
    assumptions: list[list[Cell]] = [
        [
            str(a.get("name")),
            num(a["value"]) if isinstance(a.get("value"), float) else str(a.get("value")),
            str(a.get("unit")),
            Badge(a.get("provenance")),
            str(a.get("source")),
        ]
        for a in fp.get("assumptions", [])
    ]
    readers: list[list[Cell]] = [
        [
            c.name,
            c.kind,
            Badge(c.provenance.value),
            c.source,
            ", ".join(f"{k}={v}" for k, v in dict(c.params).items()),
        ]
        for c in run.components
    ]
    tables: list[list[Cell]] = [
        [str(x) for x in (t.name, t.title, t.source, t.year, t.licence, t.units)]
        for t in data_catalog()
    ]
    origins = doc.get("context_origins", {})
    ctx_rows: list[list[Cell]] = [
        [str(k), str(v), str(origins.get(k, "user"))] for k, v in doc.get("context", {}).items()
    ]
    audit = audit_of(doc)
    model = _model_facts(audit)
    model_rows: list[list[Cell]] = [
        [str(k), str(v)] for k, v in model.items() if not isinstance(v, dict)
    ]
    training = model.get("training") or {}
    if isinstance(training.get("train_energy_j"), int | float):
        model_rows.append(
            [
                "one-off training of the built-in model (cached, not in the run)",
                f"{num(training['train_energy_j'], 4)} J "
                f"({training.get('train_energy_provenance')}), {training.get('train_s')} s, "
                f"held-out perplexity {num(training.get('heldout_perplexity', 0), 4)}",
            ]
        )
    lab = audit.get("lab") if audit else None
    notes = list(run.notes) + list((lab or {}).get("notes", []))
    return render(
        "methodology.html",
        formulas=FORMULAS if doc.get("kind", "audit") == "audit" else RUN_FORMULAS,
        badges=BADGES,
        ctx_rows=ctx_rows,
        assumptions=assumptions,
        readers=readers,
        model_rows=model_rows,
        tables=tables,
        notes=notes,
    )
