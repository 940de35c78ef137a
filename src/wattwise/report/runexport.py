"""``wattwise runs export``'s documents: each stored run with its windows, counts, energy per
unit and its footprint (CO2e, cost, ...) accounted in the run's context.

JSON: a list of :func:`export_doc` documents (``run_to_dict`` plus ``footprint``).
CSV, one row per run and device (:data:`DEVICE_FIELDS`): the device's energy and the run-level
footprint columns (``facility_energy_kwh``, ``co2e_location_g``, ``co2e_market_g``, ``cost``,
``currency``; empty cost and currency when no price is known), repeated on each device row of
a run as its duration is. CSV with ``--windows``, one row per window (:data:`WINDOW_FIELDS`):
its energy (J), provenance, counts and energy per unit as ``unit=value`` pairs joined by ``;``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from wattwise import jsonsafe
from wattwise.accounting.footprint import Footprint
from wattwise.core.documents import RunDocument
from wattwise.core.run import RunResult

RUN_FIELDS = ("run_id", "name", "started_at", "duration_s", "status")
FOOTPRINT_FIELDS = (
    "facility_energy_kwh",
    "co2e_location_g",
    "co2e_market_g",
    "cost",
    "currency",
)
DEVICE_FIELDS = (
    *RUN_FIELDS,
    "device",
    "kind",
    "energy_j",
    "provenance",
    "source",
    *FOOTPRINT_FIELDS,
)
WINDOW_FIELDS = (
    "run_id",
    "window",
    "parent",
    "start_s",
    "end_s",
    "duration_s",
    "energy_j",
    "provenance",
    "counts",
    "energy_per_unit_j",
)


def export_doc(result: RunResult, fp: Footprint) -> RunDocument:
    """The run's JSON document with its windows and counts, and its ``footprint``."""
    from wattwise.ledger.serialize import run_to_dict

    doc = run_to_dict(result)
    doc["footprint"] = fp.to_dict()
    return doc


def _pairs(values: Mapping[str, float]) -> str:
    return ";".join(f"{k}={v:.9g}" for k, v in values.items())


def device_rows(result: RunResult, fp: Footprint) -> list[dict[str, Any]]:
    """One row per device (one with empty device columns when the run has none)."""
    base = {f: getattr(result, f) for f in RUN_FIELDS}
    base.update(
        facility_energy_kwh=fp.facility_energy_kwh,
        co2e_location_g=fp.co2e_location_g,
        co2e_market_g=fp.co2e_market_g,
        cost=fp.cost.value if fp.cost else "",
        currency=fp.cost.currency if fp.cost else "",
    )
    rows = [
        {
            **base,
            "device": c.device_id,
            "kind": c.kind,
            "energy_j": c.energy_j,
            "provenance": c.provenance.value,
            "source": c.source,
        }
        for c in result.components
    ]
    return rows or [base]


def window_rows(result: RunResult) -> list[dict[str, Any]]:
    """One row per window of the run (nested windows name their ``parent``)."""
    return [
        {
            "run_id": result.run_id,
            "window": w.name,
            "parent": w.parent or "",
            "start_s": w.start_s,
            "end_s": w.end_s,
            "duration_s": w.duration_s,
            "energy_j": w.energy.total_j,
            "provenance": w.energy.label,
            "counts": _pairs(w.counts),
            "energy_per_unit_j": _pairs(w.energy_per()),
        }
        for w in result.windows
    ]


def write_export(
    fmt: str, out: TextIO, runs: Iterable[tuple[RunResult, Footprint]], *, windows: bool = False
) -> int:
    """Write ``runs`` to ``out`` as ``json`` or ``csv`` (``windows``: the windows table);
    returns the number of runs written. JSON is streamed, one run at a time."""
    n = 0
    if fmt == "json":
        out.write("[")
        for n, (result, fp) in enumerate(runs, 1):
            out.write(",\n" if n > 1 else "\n")
            out.write(jsonsafe.dumps(export_doc(result, fp)))
        out.write("\n]\n" if n else "]\n")
        return n
    writer = csv.DictWriter(
        out, fieldnames=WINDOW_FIELDS if windows else DEVICE_FIELDS, lineterminator="\n"
    )
    writer.writeheader()
    for result, fp in runs:
        writer.writerows(window_rows(result) if windows else device_rows(result, fp))
        n += 1
    return n
