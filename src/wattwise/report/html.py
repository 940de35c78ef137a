"""The report: one self-contained HTML file (inline CSS and SVG, no script, no request).

:func:`render_report` turns a report document (an audit's, see :mod:`wattwise.audit.pipeline`,
or a plain run's, :func:`wattwise.report.rundoc.run_document`) and the run read back from the
ledger into HTML, rendered from the Jinja2 templates in ``templates/`` with autoescape
(:mod:`wattwise.report.templating`). Headline figures carry ``data-metric`` / ``data-value``
attributes (raw numbers in base units) so tests and tools can check them against the ledger; a
Content-Security-Policy meta tag forbids every external load, so a report that tried one would
show an error in the browser's console. The sections live in :mod:`wattwise.report.measured`
and :mod:`wattwise.report.reduce`. A section whose part of the document is absent (a plain run
has no scale, regions, lab or recommendations) is left out, not shown empty.
"""

from __future__ import annotations

from typing import Any

from wattwise.core.documents import ReportDocument
from wattwise.core.run import RunResult
from wattwise.report import measured as m
from wattwise.report import reduce as r
from wattwise.report.methodology import methodology_html
from wattwise.report.style import CSS
from wattwise.report.templating import render, trusted
from wattwise.report.tuning import tuning_section

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _sections(
    doc: ReportDocument, run: RunResult, serving: dict[str, Any] | None = None
) -> list[str]:
    """The sections of the page, in order, that the document has the data for."""
    out = [m.banners_section(doc, run), m.headline_section(doc, run)]
    if "recommendations" in doc:
        out.append(r.recommendations_section(doc))
    out += [m.timeline_section(doc, run), m.breakdown_section(doc, run)]
    if serving:  # a `wattwise bench serve` run
        from wattwise.report.serving import serving_section

        out.append(serving_section(serving))
    if "scale" in doc:
        out.append(m.scale_section(doc))
    if "regions" in doc:
        out.append(m.regions_section(doc))
    if "lab" in doc or "lab_note" in doc:
        out.append(r.lab_section(doc))
    if "whatifs" in doc:
        out.append(r.whatifs_section(doc))
    if "power_profile" in doc:  # the section is empty when the profile is None
        out.append(tuning_section(doc))
    if doc["footprint"].get("sci_g_per_unit"):
        out.append(r.sci_section(doc))
    out.append(methodology_html(doc, run))
    return out


def render_report(
    doc: ReportDocument, run: RunResult, serving: dict[str, Any] | None = None
) -> str:
    """The full report (a string of HTML). ``run`` is the RunResult read from the ledger;
    ``serving``: a serving benchmark's result document (its section is added)."""
    audit = doc.get("kind", "audit") == "audit"
    what = doc.get("workload", {}).get("description", run.name)
    return (
        render(
            "page.html",
            csp=CSP,
            title=f"wattwise {'audit' if audit else 'run'} — {what}",
            css=trusted(CSS),
            header=trusted(m.header_section(doc, run)),
            sections=[trusted(s) for s in _sections(doc, run, serving) if s.strip()],
            run_id=run.run_id,
        )
        + "\n"
    )
