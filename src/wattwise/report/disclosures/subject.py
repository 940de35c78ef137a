"""What a disclosure discloses: one or more pieces of work (stored runs or an estimate), each
accounted, and their total.

A :class:`Work` is one run or one estimate, with the figures every format needs, in the units
their names say: IT and facility energy (kWh), location- and market-based emissions (gCO2e),
embodied carbon (gCO2e), SCI per functional unit, the hardware, the duration, how the energy was
obtained and the offsets the user declared. **Offsets are never subtracted** from any emission
figure (GHG Protocol Scope 2 guidance; ISO/IEC 21031 excludes them from SCI): they travel as
their own number, and every format prints them on their own line.

:func:`work_of_run` builds one from a stored run and its footprint (the one accounting path,
:func:`wattwise.accounting.runs.footprint_of`); :func:`work_of_estimate` from the JSON document of
``wattwise estimate train|finetune --json``. Nothing here is guessed: a figure the source does not
have is ``None`` and the formats say "not available".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wattwise.accounting.context import Context
from wattwise.accounting.footprint import Footprint
from wattwise.core.assumption import Assumption
from wattwise.core.provenance import Provenance, as_provenance, weakest
from wattwise.core.run import RunResult
from wattwise.errors import ConfigError

#: Stages a piece of work may be declared as (``--stage``); the Hugging Face ``training_type``
#: vocabulary (``pre-training``, ``fine-tuning``) plus inference and other.
STAGES = ("pre-training", "fine-tuning", "inference", "other")

#: The boundary every wattwise figure is drawn at: devices measured (IT), then × PUE (facility).
BOUNDARY_NOTE = (
    "IT energy is the energy of the devices wattwise read (accelerators, CPU packages, DRAM "
    "where a counter exists); facility energy is IT energy x PUE (cooling, power conversion)."
)


@dataclass(frozen=True)
class Hardware:
    """A device kind in the work: ``count`` devices called ``name`` of ``kind`` (gpu, cpu)."""

    kind: str
    name: str
    count: int
    #: How the first such device was read (``NVML total energy``, ``RAPL intel-rapl:0``).
    source: str = ""


@dataclass(frozen=True)
class Work:
    """One piece of disclosed work (a run or an estimate). Units are in the names.

    ``energy_provenance`` is the weakest kind in the energy (``measured``, ``estimated``, ...);
    ``energy_method`` says how it was obtained in words. ``flops`` is None when not known
    (a measured run does not count FLOPs). ``offsets_kg`` is what the user declared for this work
    (None: none declared) — never netted against an emission figure.
    """

    source: str  # "run" or "estimate"
    work_id: str
    name: str
    stage: str | None
    started_at: str | None
    duration_s: float
    energy_provenance: str
    energy_method: str
    it_energy_kwh: float
    facility_energy_kwh: float
    pue: float
    location: str
    intensity_location_g_per_kwh: float | None
    co2e_location_g: float
    co2e_market_g: float
    embodied_co2e_g: float
    hardware: tuple[Hardware, ...]
    sci_g_per_unit: Mapping[str, float] = field(default_factory=dict)
    functional_units: Mapping[str, float] = field(default_factory=dict)
    energy_per_unit_j: Mapping[str, float] = field(default_factory=dict)
    counts: Mapping[str, float] = field(default_factory=dict)
    flops: float | None = None
    offsets_kg: float | None = None
    assumptions: tuple[Assumption, ...] = ()
    #: ISO 3166-1 alpha-2 of the grid (None when not known, e.g. a user-given intensity).
    country_iso2: str | None = None
    #: Cloud provider (aws, azure, gcp) when the context names one.
    cloud: str | None = None
    host: Mapping[str, str] = field(default_factory=dict)

    @property
    def hardware_text(self) -> str:
        """``8 x NVIDIA H100 (gpu), 2 x CPU package (cpu)``; ``not recorded`` when empty."""
        if not self.hardware:
            return "not recorded"
        return ", ".join(f"{h.count} x {h.name} ({h.kind})" for h in self.hardware)

    def assumption(self, name: str) -> Assumption | None:
        """The input called ``name``, or None."""
        return next((a for a in self.assumptions if a.name == name), None)


def _hardware(result: RunResult) -> tuple[Hardware, ...]:
    """Devices of a run grouped by (kind, name), in the order first seen; gap rows left out."""
    counts: dict[tuple[str, str], int] = {}
    sources: dict[tuple[str, str], str] = {}
    for c in result.components:
        if c.device_id.endswith("#gap"):
            continue
        key = (c.kind, c.name)
        counts[key] = counts.get(key, 0) + 1
        sources.setdefault(key, c.source)
    return tuple(Hardware(k, n, count, sources[k, n]) for (k, n), count in counts.items())


def _method(result: RunResult, fp: Footprint) -> str:
    """How the run's energy was obtained, in words, from its components' provenance."""
    by = result.energy.by_provenance_j
    total = sum(by.values()) or 1.0
    parts = [f"{kind} {100 * j / total:.0f} %" for kind, j in by.items()]
    sources = sorted({c.source for c in result.components if c.source})[:6]
    text = "wattwise run: " + (", ".join(parts) if parts else "no reading")
    if sources:
        text += " (" + "; ".join(sources) + ")"
    return text


def work_of_run(
    result: RunResult,
    fp: Footprint,
    *,
    ctx: Context | None = None,
    stage: str | None = None,
    offsets_kg: float | None = None,
) -> Work:
    """A stored run and its footprint (in the run's context ``ctx``) as a :class:`Work`."""
    from wattwise.accounting.runs import functional_units
    from wattwise.accounting.site import resolve_site

    grid = resolve_site(ctx).grid if ctx is not None else None

    return Work(
        source="run",
        work_id=result.run_id,
        name=result.name,
        stage=check_stage(stage),
        started_at=result.started_at,
        duration_s=result.duration_s,
        energy_provenance=fp.energy_provenance,
        energy_method=_method(result, fp),
        it_energy_kwh=fp.it_energy_kwh,
        facility_energy_kwh=fp.facility_energy_kwh,
        pue=fp.pue,
        location=fp.location,
        intensity_location_g_per_kwh=fp.intensity_g_per_kwh,
        co2e_location_g=fp.co2e_location_g,
        co2e_market_g=fp.co2e_market_g,
        embodied_co2e_g=fp.embodied_co2e_g,
        hardware=_hardware(result),
        sci_g_per_unit=dict(fp.sci_g_per_unit),
        functional_units=functional_units(result) or {"run": 1.0},
        energy_per_unit_j=result.energy_per(),
        counts=dict(result.counts),
        flops=None,
        offsets_kg=fp.offsets_kg if offsets_kg is None else offsets_kg,
        assumptions=fp.assumptions,
        country_iso2=grid.country_iso2 if grid is not None and grid.kind != "world" else None,
        cloud=ctx.cloud if ctx is not None else None,
        host=dict(result.host),
    )


def check_stage(stage: str | None) -> str | None:
    """``stage`` if it is one of :data:`STAGES` (or None); ConfigError otherwise."""
    if stage is None or stage in STAGES:
        return stage
    raise ConfigError(f"--stage {stage!r}: one of {', '.join(STAGES)}")


def _value(doc: Mapping[str, Any], key: str, path: str) -> float:
    """``doc[key]["value"]`` (an estimate's band) or ``doc[key]`` as a finite number."""
    raw = doc.get(key)
    if isinstance(raw, Mapping):
        raw = raw.get("value")
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise ConfigError(
            f"{path}: '{key}' is missing or not a number: is it the output of "
            "'wattwise estimate train --json' (or finetune)?"
        )
    return float(raw)


def _assumptions(doc: Mapping[str, Any]) -> tuple[Assumption, ...]:
    out = []
    for a in doc.get("assumptions") or []:
        if not isinstance(a, Mapping) or "name" not in a:
            continue
        try:
            prov = as_provenance(str(a.get("provenance", "assumed")))
        except ValueError:
            prov = Provenance.ASSUMED
        out.append(
            Assumption(
                str(a["name"]),
                a.get("value", ""),
                str(a.get("unit", "")),
                prov,
                str(a.get("source", "")),
            )
        )
    return tuple(out)


def work_of_estimate(
    doc: Mapping[str, Any], path: str, *, stage: str | None = None, offsets_kg: float | None = None
) -> Work:
    """The JSON document of ``wattwise estimate train|finetune --json`` as a :class:`Work`.

    Figures are the estimate's central values (its bands stay in ``assumptions``); emissions
    come in kg and are stored here in grams.
    """
    kind = str(doc.get("kind", ""))
    if kind not in ("train", "finetune"):
        raise ConfigError(
            f"{path}: an estimate of kind {kind or '(none)'!r}: give the JSON of "
            "'wattwise estimate train --json' or 'estimate finetune --json'"
        )
    it_kwh = _value(doc, "it_energy_kwh", path)
    facility_kwh = _value(doc, "facility_energy_kwh", path)
    assumptions = _assumptions(doc)
    chips = doc.get("chips")
    hw = str(doc.get("hardware", "")) or "not stated"
    hardware = (Hardware("gpu", hw, int(chips) if isinstance(chips, int | float) else 1),)
    flops = doc.get("flops")
    intensity = next((a.value for a in assumptions if a.name == "grid_intensity_location"), None)
    work = Work(
        source="estimate",
        work_id=path,
        name=f"estimate {kind}",
        stage=check_stage(stage or ("pre-training" if kind == "train" else "fine-tuning")),
        started_at=None,
        duration_s=_value(doc, "wall_clock_days", path) * 86400.0,
        energy_provenance=Provenance.ESTIMATED.value,
        energy_method="wattwise estimate " + kind + ": compute (FLOP) / (peak FLOP/s x MFU) x "
        "power per chip (see assumptions)",
        it_energy_kwh=it_kwh,
        facility_energy_kwh=facility_kwh,
        pue=facility_kwh / it_kwh if it_kwh > 0 else 1.0,
        location=_location(assumptions),
        intensity_location_g_per_kwh=_number(intensity),
        co2e_location_g=_value(doc, "co2e_location_kg", path) * 1000.0,
        co2e_market_g=_value(doc, "co2e_market_kg", path) * 1000.0,
        embodied_co2e_g=_value(doc, "embodied_co2e_kg", path) * 1000.0
        if "embodied_co2e_kg" in doc
        else 0.0,
        hardware=hardware,
        flops=_value(doc, "flops", path) if flops is not None else None,
        offsets_kg=offsets_kg,
        assumptions=assumptions,
    )
    return work


def _number(v: object) -> float | None:
    try:
        x = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _location(assumptions: Sequence[Assumption]) -> str:
    a = next((a for a in assumptions if a.name == "grid_intensity_location"), None)
    return a.source.split(":", 1)[0] if a is not None else "not stated"


@dataclass(frozen=True)
class Total:
    """The sum of several pieces of work (pre-training plus fine-tunes): every additive figure
    added, the energy's provenance the weakest of theirs, offsets added on their own."""

    it_energy_kwh: float
    facility_energy_kwh: float
    co2e_location_g: float
    co2e_market_g: float
    embodied_co2e_g: float
    duration_s: float
    energy_provenance: str
    flops: float | None
    offsets_kg: float | None


def total_of(works: Sequence[Work]) -> Total:
    """Add ``works`` up. FLOP only when every piece has it; offsets when any piece has them."""
    kinds = []
    for w in works:
        for part in w.energy_provenance.removeprefix("mixed:").split("+"):
            try:
                kinds.append(as_provenance(part.strip()))
            except ValueError:
                continue
    worst = weakest(kinds)
    flops = [w.flops for w in works]
    offsets = [w.offsets_kg for w in works if w.offsets_kg is not None]
    return Total(
        it_energy_kwh=math.fsum(w.it_energy_kwh for w in works),
        facility_energy_kwh=math.fsum(w.facility_energy_kwh for w in works),
        co2e_location_g=math.fsum(w.co2e_location_g for w in works),
        co2e_market_g=math.fsum(w.co2e_market_g for w in works),
        embodied_co2e_g=math.fsum(w.embodied_co2e_g for w in works),
        duration_s=math.fsum(w.duration_s for w in works),
        energy_provenance=worst.value if worst else "none",
        flops=math.fsum(f for f in flops if f is not None)
        if all(f is not None for f in flops)
        else None,
        offsets_kg=math.fsum(offsets) if offsets else None,
    )
