"""The report's methodology appendix: how each figure is computed, every assumption with its
provenance and source, the energy readers used and every shipped data table (source, year,
licence) from :func:`wattwise.data.data_catalog`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

from wattwise.report.markup import badge, num, table

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


def _e(x: object) -> str:
    return escape(str(x))


def methodology_html(doc: Mapping[str, Any], run: Any) -> str:
    """The appendix section (HTML)."""
    from wattwise.data import data_catalog

    fp = doc.get("footprint", {})
    assumptions = [
        [
            _e(a.get("name")),
            num(a["value"]) if isinstance(a.get("value"), float) else _e(a.get("value")),
            _e(a.get("unit")),
            badge(a.get("provenance")),
            _e(a.get("source")),
        ]
        for a in fp.get("assumptions", [])
    ]
    readers = [
        [
            _e(c.name),
            _e(c.kind),
            badge(c.provenance.value),
            _e(c.source),
            _e(", ".join(f"{k}={v}" for k, v in dict(c.params).items())),
        ]
        for c in run.components
    ]
    tables = [
        [_e(t.name), _e(t.title), _e(t.source), _e(t.year), _e(t.licence), _e(t.units)]
        for t in data_catalog()
    ]
    ctx = doc.get("context", {})
    origins = doc.get("context_origins", {})
    ctx_rows = [[_e(k), _e(v), _e(origins.get(k, "user"))] for k, v in ctx.items()]
    ctx_html = (
        table(["setting", "value", "from"], ctx_rows)
        if ctx_rows
        else "<p class='note'>No context setting was given: every location, PUE and price "
        "figure below is a default and marked <b>assumed</b>.</p>"
    )
    model = (doc.get("workload") or {}).get("model") or {}
    model_rows = [[_e(k), _e(v)] for k, v in model.items() if not isinstance(v, dict)]
    training = model.get("training") or {}
    if isinstance(training.get("train_energy_j"), int | float):
        model_rows.append(
            [
                "one-off training of the built-in model (cached, not in the run)",
                _e(
                    f"{num(training['train_energy_j'], 4)} J "
                    f"({training.get('train_energy_provenance')}), {training.get('train_s')} s, "
                    "held-out perplexity "
                    f"{num(training.get('heldout_perplexity', 0), 4)}"
                ),
            ]
        )
    notes = list(run.notes) + list((doc.get("lab") or {}).get("notes", []))
    return (
        "<section id='methodology'><h2>Methodology and data sources</h2>"
        "<h3>How the figures are computed</h3><ul>"
        + "".join(f"<li>{_e(f)}</li>" for f in FORMULAS)
        + "</ul><h3>Provenance badges</h3><p>"
        + " ".join(
            f"{badge(k)} {_e(v)}"
            for k, v in (
                ("measured", "a hardware energy counter;"),
                ("integrated", "power samples integrated by wattwise;"),
                ("estimated", "a model or a reference table's figure for what you named;"),
                ("assumed", "a default you did not set;"),
                ("given", "a value you gave (shown as given by you)."),
            )
        )
        + "</p><h3>Accounting context</h3>"
        + ctx_html
        + "<h3>Every assumption</h3>"
        + table(["input", "value", "unit", "provenance", "source"], assumptions)
        + "<h3>Energy readers</h3>"
        + table(["device", "kind", "provenance", "source", "parameters"], readers)
        + (
            "<h3>Workload model</h3>" + table(["property", "value"], model_rows)
            if model_rows
            else ""
        )
        + "<h3>Reference data shipped with wattwise</h3>"
        + table(["table", "content", "source", "year", "licence", "units"], tables)
        + (
            "<h3>Notes</h3><ul class='note'>"
            + "".join(f"<li>{_e(n)}</li>" for n in notes)
            + "</ul>"
            if notes
            else ""
        )
        + "</section>"
    )
