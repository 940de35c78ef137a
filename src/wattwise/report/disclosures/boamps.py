"""A BoAmps report of one run, validated against the schema its authors publish.

BoAmps (Boavizta, the reporting format of AFNOR Spec 2314 "frugal AI") is a JSON report of a
computing task's energy: header, task, measures, system, software, infrastructure, environment,
quality. The schema (format 1.1.0, draft-04, CC BY 4.0) is vendored in ``boamps_schema/`` with
its source and licence; :func:`validate` checks a report against it offline with ``jsonschema``.

Mapping, and where the schema leaves a field's meaning open (each said in the report's notes):

* ``measures[].powerConsumption`` is described as "the power consumption measure ... (in kWh)":
  an energy; wattwise writes the run's IT (device) energy in kWh, not facility energy.
* ``task.taskStage`` from ``--stage`` (pre-training → ``training``, fine-tuning →
  ``finetuning``); ``taskFamily`` and the algorithm from ``--task-family`` / ``--algorithm``;
  ``not stated`` when not given (the schema requires them; wattwise does not guess).
* ``task.dataset``: counted tokens; whether they are model input or output is not recorded by a
  run: inference runs write ``output`` (tokens generated), others ``input``.
* ``quality`` (high ±10 %, medium ±25 %, low ±50 %): measured → high, integrated → medium,
  estimated → low — our mapping of provenance, not a computed error bar.
* BoAmps has no emission fields: location- and market-based emissions, facility energy and any
  offsets (never subtracted) go in a top-level ``x-wattwise`` object, which the schema allows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from wattwise.errors import ConfigError
from wattwise.report.disclosures.subject import BOUNDARY_NOTE, Work

SCHEMA_DIR = Path(__file__).parent / "boamps_schema"
SCHEMA_URL = "https://raw.githubusercontent.com/Boavizta/BoAmps/main/model/"
SCHEMA_NAMES = ("report", "algorithm", "dataset", "hardware", "measure")
FORMAT_VERSION = "1.1.0"
SPEC_URI = "https://github.com/Boavizta/BoAmps/tree/3bfefec8446ee196d1723c0e35859eb7762da3c9/model"

_STAGE = {
    "pre-training": "training",
    "fine-tuning": "finetuning",
    "inference": "inference",
    "other": "other",
}
_COMPONENT = {"gpu": "gpu", "cpu": "cpu", "dram": "ram", "psys": "other"}
_QUALITY = {"measured": "high", "integrated": "medium", "estimated": "low"}
NOT_STATED = "not stated"


def _tracking(w: Work, kind: str) -> str | None:
    """``nvml`` / ``rapl`` / ``amdsmi`` from the devices' sources, else the provenance."""
    text = " ".join(f"{h.source} {h.name}".lower() for h in w.hardware if h.kind == kind)
    for key in ("nvml", "rapl", "amdsmi"):
        if key in text:
            return key
    return None


def _datetime(iso: str | None) -> str | None:
    """``2026-11-30T08:00:00+00:00`` as BoAmps writes dates: ``2026-11-30 08:00:00``."""
    if not iso:
        return None
    return iso[:19].replace("T", " ")


def boamps_report(
    w: Work,
    *,
    report_id: str,
    report_datetime: str,
    publisher: str | None = None,
    confidentiality: str = "internal",
    status: str = "draft",
    task_family: str | None = None,
    algorithm: str | None = None,
    infra_type: str | None = None,
    gpu_tracking: str | None = None,
    cpu_tracking: str | None = None,
) -> dict[str, Any]:
    """The BoAmps report of ``w`` (``report_datetime`` as ``YYYY-MM-DD HH:MM:SS``, UTC)."""
    from wattwise import __version__

    notes: list[str] = []
    header: dict[str, Any] = {
        "formatVersion": FORMAT_VERSION,
        "formatVersionSpecificationUri": SPEC_URI,
        "reportId": report_id,
        "reportDatetime": report_datetime,
        "reportStatus": status,
        "publisher": {"confidentialityLevel": confidentiality},
    }
    if publisher:
        header["publisher"]["name"] = publisher
    stage = _STAGE.get(w.stage or "", NOT_STATED)
    if stage == NOT_STATED:
        notes.append("task.taskStage not stated: give --stage")
    if not task_family:
        notes.append("task.taskFamily not stated: give --task-family (e.g. chatbot)")
    if not algorithm:
        notes.append("task.algorithms[0].algorithmName not stated: give --algorithm")
    task: dict[str, Any] = {
        "taskStage": stage,
        "taskFamily": task_family or NOT_STATED,
        "algorithms": [{"algorithmName": algorithm or NOT_STATED}],
        "dataset": _datasets(w, notes),
    }
    if "requests" in w.counts:
        task["nbRequest"] = w.counts["requests"]
    measure: dict[str, Any] = {
        "measurementMethod": f"wattwise ({w.energy_provenance})",
        "version": __version__,
        "powerConsumption": w.it_energy_kwh,
        "measurementDuration": w.duration_s,
    }
    for key, value in (
        ("cpuTrackingMode", cpu_tracking or _tracking(w, "cpu")),
        ("gpuTrackingMode", gpu_tracking or _tracking(w, "gpu")),
        ("measurementDateTime", _datetime(w.started_at)),
    ):
        if value:
            measure[key] = value
    report: dict[str, Any] = {
        "header": header,
        "task": task,
        "measures": [measure],
        "infrastructure": _infrastructure(w, infra_type, notes),
        "environment": _environment(w, notes),
    }
    system = _system(w.host)
    if system:
        report["system"] = system
    if w.energy_provenance in _QUALITY:
        report["quality"] = _QUALITY[w.energy_provenance]
    report["x-wattwise"] = _extension(w, notes)
    return report


def _datasets(w: Work, notes: list[str]) -> list[dict[str, Any]]:
    if "tokens" in w.counts:
        usage = "output" if w.stage == "inference" else "input"
        notes.append(
            f"task.dataset: {w.counts['tokens']:g} tokens counted; a run does not "
            f"record whether they were model input or output: '{usage}' written"
        )
        return [{"dataUsage": usage, "dataType": "token", "dataQuantity": w.counts["tokens"]}]
    notes.append("task.dataset: nothing counted: dataType 'other', no quantity")
    return [{"dataUsage": "input", "dataType": "other"}]


def _infrastructure(w: Work, infra_type: str | None, notes: list[str]) -> dict[str, Any]:
    kind = infra_type or ("publicCloud" if w.cloud else None)
    if kind is None:
        kind = "other"
        notes.append("infrastructure.infraType not known: 'other' written; give --infra-type")
    infra: dict[str, Any] = {"infraType": kind, "components": []}
    if w.cloud:
        infra["cloudProvider"] = w.cloud
    for h in w.hardware:
        infra["components"].append(
            {
                "componentName": h.name,
                "componentType": _COMPONENT.get(h.kind, h.kind),
                "nbComponent": h.count,
                "share": 1,
            }
        )
    if not infra["components"]:
        infra["components"].append({"componentType": "other", "nbComponent": 1})
        notes.append("infrastructure.components: no device recorded")
    return infra


def _environment(w: Work, notes: list[str]) -> dict[str, Any]:
    env: dict[str, Any] = {"country": w.country_iso2 or NOT_STATED, "location": w.location}
    if w.country_iso2 is None:
        notes.append("environment.country not known (no country or region in the context)")
    if w.intensity_location_g_per_kwh is not None:
        env["powerSourceCarbonIntensity"] = w.intensity_location_g_per_kwh
    env["powerSupplierType"] = "public"
    notes.append("environment.powerSupplierType 'public': the grid average is used")
    return env


def _system(host: Mapping[str, str]) -> dict[str, Any]:
    plat = host.get("platform", "")
    if not plat:
        return {}
    return {"os": plat.split("-", 1)[0].lower(), "distribution": plat}


def _extension(w: Work, notes: list[str]) -> dict[str, Any]:
    return {
        "run_id": w.work_id,
        "it_energy_kwh": w.it_energy_kwh,
        "pue": w.pue,
        "facility_energy_kwh": w.facility_energy_kwh,
        "co2e_location_g": w.co2e_location_g,
        "co2e_market_g": w.co2e_market_g,
        "embodied_co2e_g": w.embodied_co2e_g,
        "offsets_kg": w.offsets_kg,
        "offsets_note": "declared offsets, reported separately: never subtracted from location- "
        "or market-based emissions (GHG Protocol)",
        "boundary": BOUNDARY_NOTE,
        "notes": [
            "measures[].powerConsumption is energy in kWh (the schema's wording says power): "
            "IT energy of the devices measured, before PUE",
            "quality maps provenance (measured high, integrated medium, estimated low); it is "
            "not a computed error bar",
            *notes,
        ],
    }


# ---------------------------------------------------------------------------- validation


@cache
def _schemas() -> dict[str, dict[str, Any]]:
    out = {}
    for name in SCHEMA_NAMES:
        with open(SCHEMA_DIR / f"{name}_schema.json", encoding="utf-8") as f:
            out[name] = json.load(f)
    return out


def validation_errors(report: Mapping[str, Any]) -> list[str]:
    """Every way ``report`` breaks the vendored BoAmps schema (empty when valid).

    Needs ``jsonschema`` (``pip install 'wattwise[disclose]'``): ConfigError without it."""
    try:
        from jsonschema import Draft4Validator
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT4
    except ImportError:
        raise ConfigError(
            "validating a BoAmps report needs jsonschema: pip install 'wattwise[disclose]'"
        ) from None
    schemas = _schemas()
    registry: Registry[Any] = Registry().with_resources(
        (SCHEMA_URL + f"{name}_schema.json", Resource.from_contents(doc, DRAFT4))
        for name, doc in schemas.items()
    )
    validator = Draft4Validator(schemas["report"], registry=registry)
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message}"
        for e in sorted(validator.iter_errors(report), key=lambda e: list(e.absolute_path))
    ]
