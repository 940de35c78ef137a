"""Typed JSON documents: a run, a footprint and an audit, as they are stored and exported.

These are :class:`~typing.TypedDict` shapes of plain JSON (numbers, strings, lists, objects),
so a document can be written with :func:`json.dumps` as is and read back without a schema
library. Producers: :func:`wattwise.ledger.serialize.run_to_dict` (a run),
:meth:`wattwise.accounting.footprint.Footprint.to_dict` (a footprint),
:func:`wattwise.audit.pipeline.audit` (an audit). Units are in the key names (``_j`` joules,
``_s`` seconds, ``_w`` watts, ``_kwh`` kilowatt-hours, ``_g`` grams CO2e, ``_l`` litres).
Provenance fields hold a :class:`~wattwise.core.provenance.Provenance` value, or for a total a
label such as ``mixed: measured + estimated``.
"""

from __future__ import annotations

from typing import Any, TypedDict

from wattwise.core.assumption import AssumptionDocument


class ComponentDocument(TypedDict, total=False):
    """One device's energy over a run or a window."""

    device: str
    kind: str
    name: str
    energy_j: float
    provenance: str
    source: str
    params: dict[str, str]
    missing_s: float
    note: str


class EnergyDocument(TypedDict):
    """A total over components with its provenance mix."""

    total_j: float
    provenance: str
    mixed: bool
    by_provenance_j: dict[str, float]
    mean_power_w: float | None
    components: list[ComponentDocument]


class WindowDocument(TypedDict):
    """A named window of a run; ``energy_per`` is joules per counted unit in this window."""

    name: str
    parent: str | None
    start_s: float
    end_s: float
    duration_s: float
    energy: EnergyDocument
    counts: dict[str, float]
    energy_per: dict[str, float]


class GapDocument(TypedDict):
    """An interval during which a device could not be read."""

    device: str
    start_s: float
    end_s: float | None
    error: str


class SampleDocument(TypedDict):
    """One timeline point of a device."""

    device: str
    t_s: float
    power_w: float | None
    energy_j: float | None


class _RunRequired(TypedDict):
    run_id: str
    name: str
    started_at: str
    duration_s: float
    exit_code: int | None
    status: str
    command: list[str] | None
    host: dict[str, str]
    notes: list[str]
    energy: EnergyDocument
    windows: list[WindowDocument]
    counts: dict[str, float]
    energy_per: dict[str, float]
    gaps: list[GapDocument]


class RunDocument(_RunRequired, total=False):
    """A run (``wattwise run --json``, ``runs export``); ``samples`` only when asked for."""

    samples: list[SampleDocument]
    footprint: FootprintDocument


class CostDocument(TypedDict):
    """Money: ``value`` in ``currency`` (ISO 4217)."""

    value: float
    currency: str


class FootprintDocument(TypedDict):
    """An accounted footprint (``footprint`` of ``wattwise run --json``, an audit, a report).

    ``cost`` is None when no price is known; ``assumptions`` lists every input with its
    provenance and source.
    """

    location: str
    it_energy_kwh: float
    energy_provenance: str
    duration_s: float
    pue: float
    facility_energy_kwh: float
    intensity_g_per_kwh: float
    co2e_location_g: float
    co2e_market_g: float
    water_l: float
    cost: CostDocument | None
    embodied_co2e_g: float
    sci_g_per_unit: dict[str, float]
    assumptions: list[AssumptionDocument]


class AuditRunDocument(TypedDict):
    """The run part of an audit document (a summary; the full run is in the ledger)."""

    energy_j: float
    provenance: str
    duration_s: float
    status: str
    exit_code: int | None
    started_at: str
    host: dict[str, str]
    counts: dict[str, float]
    components: list[ComponentDocument]


class WorkloadDocument(TypedDict):
    """What was audited: the workload's kind, command and outcome."""

    kind: str
    description: str
    command: list[str] | None
    exit_code: int | None
    status: str
    batch_size: int | None
    model: dict[str, Any] | None
    notes: list[str]


class AuditDocument(TypedDict, total=False):
    """An audit (stored with its run in the ledger under ``audit``; rendered by the report).

    Sections whose inner shape belongs to their producer (``scale``, ``regions``, ``whatifs``,
    ``lab``, ``recommendations``, ...) are typed as JSON objects here.
    """

    version: int
    run_id: str
    created_at: str
    workload: WorkloadDocument
    context: dict[str, Any]
    context_origins: dict[str, str]
    footprint: FootprintDocument
    run: AuditRunDocument
    phases: list[dict[str, Any]]
    breakdown_j: list[tuple[str, float]]  # (part, joules); lists once stored as JSON
    scale: dict[str, Any]
    hardware: list[dict[str, Any]]
    hardware_note: str
    regions: dict[str, Any]
    whatifs: dict[str, Any]
    lab: dict[str, Any] | None
    lab_note: str
    utilisation: dict[str, Any]
    notes: list[str]
    recommendations: list[dict[str, Any]]
