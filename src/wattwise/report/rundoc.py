"""The report document of a plain stored run (``wattwise run``, or the Python API with
``store=True``): the audit report's sections that exist for any run — timeline, breakdown,
footprint, energy per unit, SCI, assumptions — without the scale, regions, lab and
recommendations an audit adds (:func:`wattwise.report.html.render_report` leaves those out).

The footprint is accounted here from the run's own energy in the context given (the stored one,
as ``wattwise runs show`` does), so the report's figures are ``runs show --json``'s.
"""

from __future__ import annotations

import shlex
from typing import Any

from wattwise.accounting.context import Context
from wattwise.accounting.runs import footprint_of
from wattwise.core.documents import PhaseDocument, RunReportDocument
from wattwise.core.run import RunResult, in_total

#: Energy per part of the breakdown, by component kind.
PART_OF_KIND = {"gpu": "accelerators", "cpu": "CPU", "dram": "memory", "memory": "memory"}


def breakdown_j(result: RunResult, pue: float) -> list[tuple[str, float]]:
    """IT energy per part (accelerators, CPU, memory, other) plus the facility overhead, J."""
    parts = {"accelerators": 0.0, "CPU": 0.0, "memory": 0.0, "other": 0.0}
    for c in in_total(result.components):
        parts[PART_OF_KIND.get(c.kind, "other")] += c.energy_j
    out = [(k, v) for k, v in parts.items() if v > 0]
    out.append(("facility overhead (PUE)", sum(parts.values()) * (pue - 1.0)))
    return out


def phases(result: RunResult) -> list[PhaseDocument]:
    """Top-level windows with their energy (J), provenance, counts and energy per unit."""
    return [
        {
            "name": w.name,
            "start_s": w.start_s,
            "end_s": w.end_s,
            "duration_s": w.duration_s,
            "energy_j": w.energy.total_j,
            "provenance": w.energy.label,
            "counts": dict(w.counts),
            "energy_per": w.energy_per(),
        }
        for w in result.windows
        if w.parent is None
    ]


def run_document(result: RunResult, ctx: Context) -> RunReportDocument:
    """The report document of ``result`` accounted in ``ctx`` (``kind`` ``"run"``)."""
    fp = footprint_of(result, ctx)
    command = shlex.join(result.command) if result.command else ""
    described = f"{result.name} — {command}" if command else result.name
    return {
        "kind": "run",
        "run_id": result.run_id,
        "workload": {"description": described, "exit_code": result.exit_code},
        "context": ctx.to_dict(),
        "context_origins": dict(ctx.origins),
        "footprint": fp.to_dict(),
        "phases": phases(result),
        "breakdown_j": breakdown_j(result, fp.pue),
        "notes": [],
    }


def render_run_report(result: RunResult, ctx: Context, extra: dict[str, Any] | None = None) -> str:
    """The HTML report of a plain run (see :func:`run_document`); a serving benchmark's run
    (``extra["bench"]``) also gets its serving section."""
    from wattwise.report.html import render_report

    bench = (extra or {}).get("bench")
    serving = bench if isinstance(bench, dict) else None
    return render_report(run_document(result, ctx), result, serving)
