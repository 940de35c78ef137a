"""Typed JSON documents: a run, a footprint and an audit, as they are stored and exported.

These are :class:`~typing.TypedDict` shapes of plain JSON (numbers, strings, lists, objects),
so a document can be written with :func:`json.dumps` as is and read back without a schema
library. Producers: :func:`wattwise.ledger.serialize.run_to_dict` (a run),
:meth:`wattwise.accounting.footprint.Footprint.to_dict` (a footprint),
:func:`wattwise.audit.pipeline.run_audit` (an audit), :func:`wattwise.report.rundoc.
run_document` (the report of a plain run). Units are in the key names (``_j`` joules, ``_s``
seconds, ``_w`` watts, ``_kwh`` kilowatt-hours, ``_g`` grams CO2e, ``_kg`` kilograms CO2e,
``_l`` litres). Provenance fields hold a :class:`~wattwise.core.provenance.Provenance` value,
or for a total a label such as ``mixed: measured + estimated``.

Each shape lists exactly the keys its producer writes (tests/core/test_document_contract.py
checks them on real runs and audits). A key written only in some cases is in a ``total=False``
class (``NotRequired`` is not used: this module's postponed annotations would hide it from
``__optional_keys__``). Documents read back from the ledger are these shapes as written by
the version that stored them; readers keep tolerating absent keys of older versions.

Not typed further here: ``context`` (:meth:`wattwise.accounting.Context.to_dict`: the settings
that are set), an audit's ``lab`` (:meth:`wattwise.optimize.types.LabResult.to_dict`) and the
built-in workload's ``model`` facts; they are JSON objects.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict, final

from wattwise.core.assumption import AssumptionDocument

# --------------------------------------------------------------------------- a run


class ComponentSummaryDocument(TypedDict):
    """One device's energy (J) with its provenance and source (an audit's ``run`` lists these)."""

    device: str
    kind: str
    name: str
    energy_j: float
    provenance: str
    source: str


class ComponentDocument(ComponentSummaryDocument):
    """One device's energy over a run or a window, with its reader's parameters, the seconds
    it could not be read (``missing_s``) and a note."""

    params: dict[str, str]
    missing_s: float
    note: str


class EnergyDocument(TypedDict):
    """A total (J) over components with its provenance mix; ``mean_power_w`` None for a run of
    zero duration."""

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
    """An interval during which a device could not be read (``end_s`` None: until the end)."""

    device: str
    start_s: float
    end_s: float | None
    error: str


class SampleDocument(TypedDict):
    """One timeline point of a device: power (W) and/or cumulative energy (J) at ``t_s``."""

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
    """A run (``wattwise run --json``, ``runs show --json``, ``runs export``). ``samples`` only
    when asked for; ``footprint`` added by the CLI (None when it could not be computed)."""

    samples: list[SampleDocument]
    footprint: FootprintDocument | None


# --------------------------------------------------------------------------- a footprint


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
    #: Data year of the grid-intensity row used; None: given, or no year stated (absent: older)
    grid_year: int | None
    co2e_location_g: float
    co2e_market_g: float
    water_l: float
    cost: CostDocument | None
    embodied_co2e_g: float
    sci_g_per_unit: dict[str, float]
    assumptions: list[AssumptionDocument]
    #: kgCO2e of carbon offsets declared (``--offsets-kg``), None when none: reported on their
    #: own, never subtracted from ``co2e_location_g`` / ``co2e_market_g`` (GHG Protocol).
    offsets_kg: float | None


# --------------------------------------------------------------------------- the report


class PhaseDocument(TypedDict):
    """A top-level window of a run as the report shows it: energy (J) and its provenance."""

    name: str
    start_s: float
    end_s: float
    duration_s: float
    energy_j: float
    provenance: str
    counts: dict[str, float]
    energy_per: dict[str, float]


class RunReportWorkloadDocument(TypedDict):
    """What a plain run's report says ran: its name (and command), its exit code."""

    description: str
    exit_code: int | None


@final
class RunReportDocument(TypedDict):
    """The report document of a plain stored run (:func:`wattwise.report.rundoc.run_document`):
    the sections of an audit that exist for any run. ``breakdown_j``: (part, joules) pairs."""

    kind: Literal["run"]
    run_id: str
    workload: RunReportWorkloadDocument
    context: dict[str, Any]
    context_origins: dict[str, str]
    footprint: FootprintDocument
    phases: list[PhaseDocument]
    breakdown_j: list[tuple[str, float]]
    notes: list[str]


# --------------------------------------------------------------------------- an audit


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
    components: list[ComponentSummaryDocument]


class WorkloadDocument(TypedDict):
    """What was audited: ``kind`` builtin, demo or command; ``model`` the built-in model's facts
    (parameters, prompt and generated tokens, its cached training), None for a command."""

    kind: str
    description: str
    command: list[str] | None
    exit_code: int | None
    status: str
    batch_size: int | None
    model: dict[str, Any] | None
    notes: list[str]


class PeriodDocument(TypedDict):
    """IT energy of a period (a day, a year, a training run) accounted in the audit's context:
    kWh, kgCO2e and money in the scale's currency (None: no price known)."""

    it_energy_kwh: float
    facility_energy_kwh: float
    co2e_location_kg: float
    co2e_market_kg: float
    cost: float | None


class SiteFactorDocument(TypedDict):
    """One site factor as the resolver gives it: central value, band, unit and provenance."""

    value: float
    low: float
    high: float
    unit: str
    provenance: str
    source: str


class SiteDocument(TypedDict):
    """The audit's site factors (:func:`wattwise.audit.analysis.site_doc`); the price and its
    currency None when no price is known (``price_unknown`` then says so)."""

    location: str
    pue: SiteFactorDocument
    intensity_location_g_per_kwh: SiteFactorDocument
    intensity_market_g_per_kwh: SiteFactorDocument
    wue_l_per_kwh: SiteFactorDocument
    price_per_kwh: SiteFactorDocument | None
    currency: str | None
    price_unknown: str | None
    price_source: str


class PerUnitDocument(TypedDict):
    """A training run per counted unit: the count, IT J per unit and how it was computed."""

    count: float
    it_j: float
    basis: str


class ScaleBasisDocument(TypedDict):
    """How a run was scaled (``workload`` ``serve`` or ``train``, and why) and the site factors
    it was accounted with (:func:`wattwise.audit.analysis.site_doc`)."""

    workload: str
    workload_basis: str
    provenance: str
    pue: float
    intensity_g_per_kwh: float
    price_per_kwh: float | None
    currency: str
    site: SiteDocument


class TrainingScaleDocument(TypedDict):
    """A training run scaled (:func:`wattwise.audit.scaling.training_scale`): the run itself
    (``units_per_day`` None), per counted unit (``per``), and ``runs_per_year`` runs a year."""

    unit: str
    units_per_day: None
    units_measured: float
    runs_per_year: float
    runs_per_year_basis: str
    basis: str
    it_j_per_unit: float
    it_j_per_token: float | None
    per: dict[str, PerUnitDocument]
    run: PeriodDocument
    year: PeriodDocument


class _ScaleRequired(ScaleBasisDocument):
    unit: str
    units_per_day: float | None
    units_measured: float
    basis: str
    it_j_per_unit: float
    it_j_per_token: float | None
    year: PeriodDocument


class ScaleDocument(_ScaleRequired, total=False):
    """The run scaled to its use (:func:`wattwise.audit.analysis.scale`).

    ``workload`` ``serve``: per ``unit`` (request, or run) × ``units_per_day``, with ``day``
    and ``year``. ``workload`` ``train``: a :class:`TrainingScaleDocument` (``runs_per_year``
    and its basis, ``per``, ``run``) with the :class:`ScaleBasisDocument` keys."""

    day: PeriodDocument
    runs_per_year: float
    runs_per_year_basis: str
    per: dict[str, PerUnitDocument]
    run: PeriodDocument


class HardwareRowDocument(TypedDict):
    """The same serving load on catalog hardware (estimated); yearly figures with one chip on
    around the clock; ``year_cost`` None (``currency`` "") when no price is known."""

    name: str
    wh_per_request: float
    year_busy_facility_kwh: float
    year_facility_kwh: float
    year_facility_kwh_low: float
    year_facility_kwh_high: float
    year_co2e_kg: float
    year_cost: float | None
    currency: str
    provenance: str


class _RegionRowRequired(TypedDict):
    key: str
    name: str
    intensity_g_per_kwh: float
    year: int | None  # data year of the grid factor (None: given or not stated; absent: older)
    pue: float
    facility_energy_kwh: float
    co2e_location_g: float
    co2e_market_g: float
    cost: CostDocument | None
    price_basis: str
    source: str
    current: bool


class RegionRowDocument(_RegionRowRequired, total=False):
    """The run in one place (grams, kWh). ``kind`` (``country``, ``cloud``, ...) on compared
    places only: the run's own place (``key`` ``here``) has none."""

    kind: str


class RegionsDocument(TypedDict):
    """The run's own place, the places within the user's reach and the chart's selection."""

    scope: str
    current: RegionRowDocument
    candidates: list[RegionRowDocument]
    chart: list[RegionRowDocument]


class PueWhatifDocument(PeriodDocument):
    """A year of IT energy in a facility of one cooling type (pue.csv preset)."""

    setting: str
    pue: float
    source: str


class PowerWhatifDocument(TypedDict):
    """A serving setting measured by the lab: J per token relative to batch 1 of the baseline,
    the yearly facility kWh scaled by that ratio; ``tokens_per_s`` and ``provenance`` as the
    lab's variant has them."""

    setting: str
    j_per_token: float
    tokens_per_s: float | None
    relative: float
    year_facility_kwh: float
    provenance: str


class WhatifsDocument(TypedDict):
    """What-ifs: cooling types (``pue``) and the lab's serving settings (``power``)."""

    pue: list[PueWhatifDocument]
    power: list[PowerWhatifDocument]


class AcceleratorDocument(TypedDict):
    """An accelerator's mean power (W) against its catalog TDP and idle power (None: not in
    the catalog)."""

    name: str
    mean_power_w: float
    tdp_w: float | None
    idle_w: float | None
    catalog: str | None


class UtilisationDocument(TypedDict):
    accelerators: list[AcceleratorDocument]


class EffectDocument(TypedDict):
    """What a recommended action changes (:class:`wattwise.report.savings.Effect`)."""

    it_factor: float
    pue: float | None
    pue_at_most: float | None
    intensity_g_per_kwh: float | None
    price_per_kwh: float | None
    price_currency: str | None
    price_unknown: bool


class RecommendationDocument(TypedDict):
    """One ranked action (:class:`wattwise.report.recommend.Recommendation`): yearly savings
    after the ``after`` actions above it (``saving_*``) and alone (``alone_*``); None where not
    quantified; money in ``currency``."""

    rule: str
    title: str
    action: str
    saving_kwh_per_year: float | None
    saving_kg_per_year: float | None
    saving_money_per_year: float | None
    currency: str
    evidence: str
    cost: str
    provenance: str
    effect: EffectDocument | None
    alone_kwh_per_year: float | None
    alone_kg_per_year: float | None
    alone_money_per_year: float | None
    after: int


class AuditFindingsDocument(TypedDict):
    """An audit before its recommendations: what :func:`wattwise.report.recommend.recommend`
    reads. ``breakdown_j``: (part, joules) pairs, lists once stored as JSON; ``lab`` None when
    the lab did not run (``lab_note`` says why)."""

    version: int
    run_id: str
    created_at: str
    workload: WorkloadDocument
    context: dict[str, Any]
    context_origins: dict[str, str]
    footprint: FootprintDocument
    run: AuditRunDocument
    phases: list[PhaseDocument]
    breakdown_j: list[tuple[str, float]]
    scale: ScaleDocument
    hardware: list[HardwareRowDocument]
    hardware_note: str
    regions: RegionsDocument
    whatifs: WhatifsDocument
    lab: dict[str, Any] | None
    lab_note: str
    utilisation: UtilisationDocument
    #: ``wattwise tune``'s profile of the command (wattwise.audit.power) or None; the CPU
    #: frequency settings and advice. JSON objects, not typed further.
    power_profile: dict[str, Any] | None
    cpufreq: dict[str, Any]
    notes: list[str]


class AuditDocument(AuditFindingsDocument):
    """An audit (stored with its run in the ledger under ``audit``; rendered by the report).

    As stored, a non-finite number anywhere in it is None (JSON has neither NaN nor inf)."""

    recommendations: list[RecommendationDocument]


#: What the HTML report renders: an audit, or a plain run's report.
ReportDocument = AuditDocument | RunReportDocument


def audit_of(doc: ReportDocument) -> AuditDocument | None:
    """``doc`` when it is an audit; None for a plain run's report (the one with a ``kind``)."""
    return None if "kind" in doc else doc
