"""Disclosures: the energy and carbon of stored runs in the formats others read.

One module per format, each a pure function from :class:`~wattwise.report.disclosures.subject.Work`
(a run or an estimate, accounted) to a document:

* :mod:`~wattwise.report.disclosures.aiact` — the energy section of the EU AI Act technical
  documentation of a general-purpose AI model (Annex XI), Markdown or JSON;
* :mod:`~wattwise.report.disclosures.modelcard` — the Hugging Face `co2_eq_emissions` block and
  its byte-preserving merge into a model card's front matter;
* :mod:`~wattwise.report.disclosures.boamps` — a BoAmps report, validated against the vendored
  schema (boamps_schema/, CC BY 4.0, with its source);
* :mod:`~wattwise.report.disclosures.impact` — an Impact Framework manifest whose builtin
  pipeline computes the run's SCI (YAML by :mod:`~wattwise.report.disclosures.yamltext`);
* :mod:`~wattwise.report.disclosures.datacentre` — PUE, REF, ERF and WUE of a data centre with
  their ISO/IEC 30134 definitions (for operators: EU Energy Efficiency Directive reporting).

Offsets are carried as their own figure and never subtracted from an emission figure.
"""

from __future__ import annotations

#: The formats ``wattwise disclose`` writes: name -> one-line description (the registry).
FORMATS: dict[str, str] = {
    "ai-act": "EU AI Act Annex XI energy section (Markdown or JSON)",
    "model-card": "Hugging Face model card co2_eq_emissions block, merged into a card",
    "boamps": "BoAmps JSON report (Boavizta), validated against its published schema",
    "impact-framework": "Impact Framework manifest whose pipeline computes SCI (if-run)",
    "datacentre": "data-centre KPIs PUE, REF, ERF, WUE (ISO/IEC 30134)",
}
