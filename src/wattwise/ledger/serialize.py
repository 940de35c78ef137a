"""A run as a JSON document (the shape of ``wattwise run --json`` and ``runs export``) and back.

No database here and no SQLAlchemy import: the CLI uses this module for ``--json`` output.

Document shape (energies in joules, times in seconds, power in watts)::

    {
      "run_id", "name", "started_at", "duration_s", "exit_code", "status",
      "command": [argv...] | null, "host": {...}, "notes": [...],
      "energy": {"total_j", "provenance" (a label such as "mixed: measured + estimated"),
                 "mixed", "by_provenance_j": {...}, "mean_power_w",
                 "components": [{"device", "kind", "name", "energy_j", "provenance",
                                 "source", "params", "missing_s", "note"}]},
      "windows": [{"name", "parent", "start_s", "end_s", "duration_s", "energy": {...},
                   "counts": {...}, "energy_per": {...}}],
      "counts": {"tokens": 128, ...}, "energy_per": {"tokens": 0.5, ...},   # J per unit
      "gaps": [{"device", "start_s", "end_s", "error"}],
      "samples": [{"device", "t_s", "power_w", "energy_j"}]   # only with include_samples=True
    }

Typed as :class:`~wattwise.core.documents.RunDocument` (and the documents it nests).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from typing import Any

from wattwise.core.documents import (
    ComponentDocument,
    EnergyDocument,
    GapDocument,
    RunDocument,
    SampleDocument,
    WindowDocument,
)
from wattwise.core.run import (
    ComponentEnergy,
    Gap,
    RunResult,
    Sample,
    WindowResult,
    summarize,
)
from wattwise.errors import LedgerError
from wattwise.readers.base import Provenance


def component_to_dict(c: ComponentEnergy) -> ComponentDocument:
    """One device's energy (J) with its provenance and source."""
    return {
        "device": c.device_id,
        "kind": c.kind,
        "name": c.name,
        "energy_j": c.energy_j,
        "provenance": c.provenance.value,
        "source": c.source,
        "params": dict(c.params),
        "missing_s": c.missing_s,
        "note": c.note,
    }


def energy_to_dict(components: Sequence[ComponentEnergy], duration_s: float) -> EnergyDocument:
    """Total energy (J) of ``components``, its provenance label and the components themselves."""
    summary = summarize(list(components))
    return {
        "total_j": summary.total_j,
        "provenance": summary.label,
        "mixed": summary.mixed,
        "by_provenance_j": dict(summary.by_provenance_j),
        "mean_power_w": summary.total_j / duration_s if duration_s > 0 else None,
        "components": [component_to_dict(c) for c in components],
    }


def window_to_dict(w: WindowResult) -> WindowDocument:
    """A named window with its energy, counts and energy per counted unit."""
    return {
        "name": w.name,
        "parent": w.parent,
        "start_s": w.start_s,
        "end_s": w.end_s,
        "duration_s": w.duration_s,
        "energy": energy_to_dict(w.components, w.duration_s),
        "counts": dict(w.counts),
        "energy_per": w.energy_per(),
    }


def gap_to_dict(g: Gap) -> GapDocument:
    """An interval (s) during which a device could not be read, and why."""
    return {"device": g.device_id, "start_s": g.start_s, "end_s": g.end_s, "error": g.error}


def sample_to_dict(s: Sample) -> SampleDocument:
    """One timeline point: power (W) and/or cumulative energy (J) of a device at ``t_s``."""
    return {"device": s.device_id, "t_s": s.t_s, "power_w": s.power_w, "energy_j": s.energy_j}


def run_to_dict(result: RunResult, *, include_samples: bool = False) -> RunDocument:
    """The JSON document of a run (see the module docstring); JSON-serialisable as is."""
    doc: RunDocument = {
        "run_id": result.run_id,
        "name": result.name,
        "started_at": result.started_at,
        "duration_s": result.duration_s,
        "exit_code": result.exit_code,
        "status": result.status,
        "command": list(result.command) if result.command is not None else None,
        "host": dict(result.host),
        "notes": list(result.notes),
        "energy": energy_to_dict(result.components, result.duration_s),
        "windows": [window_to_dict(w) for w in result.windows],
        "counts": dict(result.counts),
        "energy_per": result.energy_per(),
        "gaps": [gap_to_dict(g) for g in result.gaps],
    }
    if include_samples:
        doc["samples"] = [sample_to_dict(s) for s in result.samples]
    return doc


def component_from_dict(d: Mapping[str, Any]) -> ComponentEnergy:
    """Inverse of :func:`component_to_dict`."""
    return ComponentEnergy(
        device_id=str(d["device"]),
        kind=str(d["kind"]),
        name=str(d.get("name", d["device"])),
        energy_j=float(d["energy_j"]),
        provenance=Provenance(d["provenance"]),
        source=str(d.get("source", "")),
        params={str(k): str(v) for k, v in dict(d.get("params") or {}).items()},
        missing_s=float(d.get("missing_s") or 0.0),
        note=str(d.get("note") or ""),
    )


def _counts(d: Any) -> dict[str, float]:
    return {str(k): float(v) for k, v in dict(d or {}).items()}


def run_from_dict(doc: Mapping[str, Any]) -> RunResult:
    """Inverse of :func:`run_to_dict` (derived fields such as totals are recomputed, not read).

    Raises :class:`LedgerError` when a required field is missing or has the wrong type.
    """
    try:
        energy = doc.get("energy") or {}
        command = doc.get("command")
        exit_code = doc.get("exit_code")
        return RunResult(
            run_id=str(doc["run_id"]),
            name=str(doc["name"]),
            started_at=str(doc["started_at"]),
            duration_s=float(doc["duration_s"]),
            components=tuple(component_from_dict(c) for c in energy.get("components", [])),
            windows=tuple(
                WindowResult(
                    name=str(w["name"]),
                    start_s=float(w["start_s"]),
                    end_s=float(w["end_s"]),
                    components=tuple(
                        component_from_dict(c)
                        for c in (w.get("energy") or {}).get("components", [])
                    ),
                    counts=_counts(w.get("counts")),
                    parent=w.get("parent"),
                )
                for w in doc.get("windows") or []
            ),
            counts=_counts(doc.get("counts")),
            samples=tuple(
                Sample(
                    device_id=str(s["device"]),
                    t_s=float(s["t_s"]),
                    power_w=None if s.get("power_w") is None else float(s["power_w"]),
                    energy_j=None if s.get("energy_j") is None else float(s["energy_j"]),
                )
                for s in doc.get("samples") or []
            ),
            gaps=tuple(
                Gap(
                    device_id=str(g["device"]),
                    start_s=float(g["start_s"]),
                    end_s=None if g.get("end_s") is None else float(g["end_s"]),
                    error=str(g.get("error", "")),
                )
                for g in doc.get("gaps") or []
            ),
            notes=tuple(str(n) for n in doc.get("notes") or []),
            status=str(doc.get("status", "finished")),
            command=None if command is None else tuple(str(a) for a in command),
            exit_code=None if exit_code is None else int(exit_code),
            host={str(k): str(v) for k, v in dict(doc.get("host") or {}).items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise LedgerError(f"not a wattwise run document: {type(exc).__name__}: {exc}") from exc


#: Columns of ``runs export --format csv``: one row per run and device (run-level energy).
CSV_FIELDS = (
    *("run_id", "name", "started_at", "duration_s", "status"),
    *("device", "kind", "energy_j", "provenance", "source"),
)


def write_csv_rows(writer: csv.DictWriter[str], result: RunResult) -> None:
    """The CSV rows of ``result`` (:data:`CSV_FIELDS`); one with empty device columns when it
    has no per-device energy."""
    base = {
        "run_id": result.run_id,
        "name": result.name,
        "started_at": result.started_at,
        "duration_s": result.duration_s,
        "status": result.status,
    }
    for c in result.components or [None]:
        writer.writerow(
            base
            if c is None
            else {
                **base,
                "device": c.device_id,
                "kind": c.kind,
                "energy_j": c.energy_j,
                "provenance": c.provenance.value,
                "source": c.source,
            }
        )
